"""Scoring generated answers: GSM8K's final number, and HumanEval programs run in a sandbox.

Generated code never runs in our process: each program runs in a fresh ``python -I`` child in
a temporary folder, with CPU, memory, file-size and process limits and a wall-clock timeout;
a program that hangs is killed with its whole process group and counts as a failure.
On Linux (x86_64, arm64) a seccomp filter refuses new processes (threads are allowed), as
HumanEval's own harness does: the process limit alone does not bind root, so a fork bomb run as
root would not stop otherwise. It also refuses signals to any other process (generated code
could kill the evaluation itself), ptrace, reading or writing another process's memory and
opening sockets (generated code reaches no network). Where the kernel has Landlock the child
writes only in its folder. Of its stderr only the tail is kept: a program that floods it cannot
fill the evaluation's memory.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

#: a number, its sign (ASCII or U+2212) also before a dollar sign: -5, -$5, -\$1,250.50, .5
_NUMBER = re.compile(r"[-\u2212]?(?:\\?\$\s*)?(?:\d[\d,]*(?:\.\d+)?|\.\d+)")
#: a clause's end: a line break, a full stop before a space, a comma before a word, a clause word
_CLAUSE_END = re.compile(r"\n|\.(?=\s|$)|,\s*(?=[^\W\d])|\s(?:since|because|as|which|while|but)\s")
_LIST_ITEM = re.compile(r"(?m)^\s*\d+[.)]\s")  # "1. " heading a line: not an answer


def final_number(text: str) -> str | None:
    """The answer a GSM8K reply gives: after ``####``, ``\\boxed{`` or "answer is" if present
    (the number after the last "=" of that clause: "answer is 5 + 3 = 8", not "answer is 8, since
    5 - 2 = 3"; above a numbered list, its last), else the last number, normalised."""
    for marker in ("####", "\\boxed{", "answer is", "Answer:"):
        if marker in text:
            tail = text.rsplit(marker, 1)[1]
            clause = _CLAUSE_END.split(tail, maxsplit=1)[0]
            found = _NUMBER.findall(clause.rsplit("=", 1)[1] if "=" in clause else clause)[:1]
            if not found and _LIST_ITEM.match(tail):  # "Answer:" above a numbered list: its last
                found = _NUMBER.findall(_LIST_ITEM.sub("", tail))[-1:]
            found = found or _NUMBER.findall(tail)[:1]
            if found:
                return _norm(found[0])
    found = _NUMBER.findall(text)
    return _norm(found[-1]) if found else None


def _norm(number: str) -> str:
    s = re.sub(r"[,$\\\s]", "", number).replace("\u2212", "-").rstrip(".")
    return re.sub(r"^(-?)\.", r"\g<1>0.", s).rstrip("0").rstrip(".") if "." in s else s  # .5: 0.5


def exact_match(reply: str, answer: str | float) -> bool:
    """Whether the reply's final number equals the reference answer (a text or a number)."""
    got = final_number(reply)
    return got is not None and got == _norm(str(answer))


#: a fenced block: its language tag (any spelling: ```Python, ```python3) and its text
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def extract_code(reply: str) -> str:
    """The first fenced Python (or untagged) code block of a reply, else its first fenced
    block, else the whole reply."""
    blocks = _FENCE.findall(reply)
    for tag, code in blocks:
        if tag.lower() in ("", "python", "py", "python3", "py3"):
            return code
    return blocks[0][1] if blocks else reply


def program(code_prompt: str, reply: str, test: str, entry_point: str) -> str:
    """The HumanEval program: the completed function, its tests and ``check(entry_point)``.

    A reply that writes the whole function follows the whole prompt (its imports, and the
    helpers some prompts define before the entry point, which the tests may call): its own
    definition replaces the prompt's; a bare function body continues the prompt."""
    code = extract_code(reply)
    if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        try:
            compile(code_prompt, "prompt", "exec")
            head = code_prompt
        except (SyntaxError, ValueError):  # a stub without a body: its imports alone
            head = "\n".join(
                ln for ln in code_prompt.splitlines() if ln.startswith(("import ", "from "))
            )
        lines = code.splitlines()  # its __future__ imports go first, where they must be
        future = [ln for ln in lines if ln.startswith("from __future__ ")]
        rest = "\n".join(ln for ln in lines if not ln.startswith("from __future__ "))
        body = "\n".join([*future, head, rest])
    else:
        body = code_prompt + code
    return f"{body}\n\n{test}\n\ncheck({entry_point})\n"


@dataclass
class RunResult:
    """The outcome of one sandboxed program."""

    passed: bool
    status: str  # "passed", "failed", "timeout" or "error"
    detail: str = ""


#: processes (and threads) the child's user may have (macOS; on Linux no process is started)
MAX_PROCS = 64
# Landlock (Linux >= 5.13): its syscalls (one number on every architecture) and the rights that
# write: write, remove, make (char, dir, file, socket, fifo, block, symlink), refer, truncate
_LANDLOCK_CREATE, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT = 444, 445, 446
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP = 38, 22
#: seccomp: audit arch, then the syscall numbers of clone, clone3 and fork/vfork (if any)
_ARCHES = {"x86_64": (0xC000003E, 56, 435, (57, 58)), "aarch64": (0xC00000B7, 220, 435, ())}
_ARCHES["arm64"] = _ARCHES["aarch64"]
#: calls whose first argument is the target process: kill, tgkill, rt_sigqueueinfo and
#: rt_tgsigqueueinfo (allowed on itself only); then tkill, ptrace, process_vm_readv/writev,
#: pidfd_send_signal and socket (refused: no network, no local sockets)
_SIGNALS = {"x86_64": ((62, 234, 129, 297), (200, 101, 310, 311, 424, 41))}
_SIGNALS["aarch64"] = _SIGNALS["arm64"] = ((129, 131, 138, 240), (130, 117, 270, 271, 424, 198))
_CLONE_THREAD, _EAGAIN, _ENOSYS, _EPERM = 0x10000, 11, 38, 1
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000


@functools.lru_cache(maxsize=1)
def _libc():
    return ctypes.CDLL(None, use_errno=True)


@functools.lru_cache(maxsize=1)
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none, or not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = _libc().syscall(_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (AttributeError, OSError):
        return 0
    return max(int(version), 0)


def no_process_filter() -> bytes | None:
    """The seccomp program (BPF) that refuses fork, vfork, clone3 and clone without
    CLONE_THREAD, signals, ptrace or memory access aimed at any process but this one, and
    sockets, for this machine's architecture; None where there is none."""
    linux64 = sys.platform.startswith("linux") and ctypes.sizeof(ctypes.c_void_p) == 8
    machine = os.uname().machine
    arch = _ARCHES.get(machine) if linux64 else None
    if arch is None:
        return None
    audit, clone, clone3, forks = arch
    own, refused = _SIGNALS[machine]
    pid = os.getpid()  # the child builds its own filter
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    # (code, jump if true, jump if false, k), jumps to labels; a jump skips that many
    # instructions, so labels are resolved once the program is laid out
    prog = [
        (ld, 0, 0, 4),  # the architecture
        (jeq, 0, "kill", audit),  # another one (x32, i386): kill
        (ld, 0, 0, 0),  # the syscall number
        (jge, "enosys", 0, 0x40000000),  # x32 numbers: ENOSYS
        (jeq, "enosys", 0, clone3),  # clone3: ENOSYS (glibc falls back to clone)
        *[(jeq, "eagain", 0, nr) for nr in forks],  # fork, vfork: EAGAIN
        *[(jeq, "eperm", 0, nr) for nr in refused],
        *[(jeq, "own", 0, nr) for nr in own],
        (jeq, 0, "allow", clone),
        (ld, 0, 0, 16),  # clone's flags (the low half of args[0])
        (jset, "allow", "eagain", _CLONE_THREAD),  # a thread: allowed, a process: EAGAIN
        ("own",),
        (ld, 0, 0, 16),  # the target process (the low half of args[0])
        (jeq, "allow", "eperm", pid),
        ("allow",),
        (ret, 0, 0, _ALLOW),
        ("eagain",),
        (ret, 0, 0, _ERRNO | _EAGAIN),
        ("enosys",),
        (ret, 0, 0, _ERRNO | _ENOSYS),
        ("eperm",),
        (ret, 0, 0, _ERRNO | _EPERM),
        ("kill",),
        (ret, 0, 0, _KILL),
    ]
    labels, code = {}, []
    for ins in prog:
        if len(ins) == 1:
            labels[ins[0]] = len(code)
        else:
            code.append(ins)
    at = lambda j, i: labels[j] - i - 1 if isinstance(j, str) else j  # noqa: E731
    return b"".join(
        c.to_bytes(2, "little")
        + bytes([at(t, i), at(f, i)])
        + (k & 0xFFFFFFFF).to_bytes(4, "little")
        for i, (c, t, f, k) in enumerate(code)
    )


def _refuse_new_processes(program: bytes) -> None:
    """Install the seccomp filter (no new privileges first: it needs that, as Landlock does)."""
    libc = _libc()
    buf = ctypes.create_string_buffer(program, len(program))

    class Prog(ctypes.Structure):  # struct sock_fprog
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(_PR_SET_SECCOMP, 2, ctypes.byref(prog), 0, 0) < 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def _write_rights(abi: int) -> int:
    rights = (1 << 1) | sum(1 << b for b in range(4, 13))
    return rights | (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0)


def _only_writes_below(folder_fd: int, abi: int) -> None:
    """Landlock: from now on this process (and what it runs) writes only below ``folder_fd``."""
    libc, rights = _libc(), _write_rights(abi)
    attr = ctypes.c_uint64(rights)  # struct landlock_ruleset_attr, handled_access_fs only
    ruleset = libc.syscall(_LANDLOCK_CREATE, ctypes.byref(attr), ctypes.c_size_t(8), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    rule = (ctypes.c_uint8 * 12)()  # struct landlock_path_beneath_attr (packed): u64, s32
    ctypes.memmove(rule, ctypes.byref(ctypes.c_uint64(rights)), 8)
    ctypes.memmove(ctypes.byref(rule, 8), ctypes.byref(ctypes.c_int32(folder_fd)), 4)
    if libc.syscall(_LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) < 0:
        raise OSError(ctypes.get_errno(), "landlock_add_rule")
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.syscall(_LANDLOCK_RESTRICT, ruleset, 0) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    os.close(ruleset)


#: exit status of a child whose sandbox could not be set up
SETUP_FAILED = 97


def _apply_limits(cpu_s: int, memory_mb: int, folder: str) -> None:
    """In the child, before the program runs: resource limits, Landlock, then seccomp."""
    import resource

    wanted = [
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_AS, memory_mb << 20),
        (resource.RLIMIT_FSIZE, 1 << 20),
        (getattr(resource, "RLIMIT_NPROC", None), MAX_PROCS),
        (resource.RLIMIT_CORE, 0),
    ]
    for which, value in wanted:
        if which is None:
            continue
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):  # not every limit exists or may be lowered everywhere
            pass
    abi, program = landlock_abi(), no_process_filter()
    if abi:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        _only_writes_below(fd, abi)
        os.close(fd)
    if program is not None:  # last: the calls above need no new process
        _refuse_new_processes(program)


def _child(cpu_s: str, memory_mb: str, folder: str, path: str, proof: str) -> None:
    """The sandboxed child (``python -I -S sandbox.py ...``): limits, then the program itself,
    in this process. The limits are set here, not in a ``preexec_fn``: that runs Python between
    fork and exec, which can deadlock a parent with other threads (MLX's, OpenBLAS's); it hung
    an evaluation once."""
    try:
        _apply_limits(int(cpu_s), int(memory_mb), folder)
    except OSError as e:
        print(f"sandbox: {e}", file=sys.stderr)
        sys.exit(SETUP_FAILED)
    sys.argv, sys.path[0] = [path], folder
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec")
    exec(code, {"__name__": "__main__", "__file__": path})
    os.write(2, f"\n{proof}\n".encode())  # only a program that ran to its end gets here


def run_program(source: str, timeout: float = 5.0, memory_mb: int = 1024) -> RunResult:
    """Run ``source`` in a sandboxed child Python; passed when it runs to its end (the child then
    writes our random token: an early exit 0, even ``os._exit(0)``, fails) within ``timeout``."""
    with tempfile.TemporaryDirectory(prefix="mlx_ifp_exec_") as tmp:
        path = os.path.join(tmp, "candidate.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0", "HOME": tmp}
        env["TMPDIR"] = tmp  # its temporary files go where it may write
        proof = os.urandom(16).hex()  # what the child writes once the program has run to its end
        args = [str(int(timeout) + 1), str(memory_mb), tmp, path, proof]
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), *args],
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: killed as a whole
            )
        except (OSError, subprocess.SubprocessError) as e:
            return RunResult(False, "error", f"not run: the sandbox failed ({e})")
        try:
            err = _stderr_tail(proc, timeout)
        except BaseException:  # Ctrl-C: never leave the program running behind us
            _kill(proc)
            raise
        if err is None:
            _kill(proc)
            return RunResult(False, "timeout", f"killed after {timeout:g} s")
        _kill_group(proc.pid)  # anything it left running in the background
        if proc.returncode == 0 and proof.encode() in err:
            return RunResult(True, "passed")
        tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
        if proc.returncode == 0:
            return RunResult(False, "failed", "exit status 0 before the end of the program")
        if proc.returncode < 0:
            return RunResult(False, "error", f"killed by signal {-proc.returncode}")
        if proc.returncode == SETUP_FAILED and tail and tail[0].startswith("sandbox:"):
            return RunResult(False, "error", f"not run: the sandbox failed ({tail[0][9:]})")
        return RunResult(False, "failed", tail[0] if tail else f"exit {proc.returncode}")


def _stderr_tail(proc: subprocess.Popen, timeout: float, keep: int = 1 << 16) -> bytes | None:
    """The last ``keep`` bytes the child wrote to stderr once it has exited (None: it ran past
    ``timeout`` seconds); never more than that held in memory, however much it writes."""
    end, tail = time.monotonic() + timeout, b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while True:
            left = end - time.monotonic()
            if left <= 0 or not sel.select(left):
                return None
            chunk = os.read(proc.stderr.fileno(), 1 << 16)
            if not chunk:  # closed: the child has exited (it cannot start others to hold it)
                break
            tail = (tail + chunk)[-keep:]
    try:
        proc.wait(timeout=max(end - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        return None
    proc.stderr.close()
    return tail


def _kill_group(pgid: int, wait_s: float = 5.0) -> None:
    """SIGKILL every process of the group until none is left (or ``wait_s`` has passed)."""
    end = time.monotonic() + wait_s
    while True:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        if time.monotonic() > end:
            return
        time.sleep(0.01)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it spawned
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.communicate()
    _kill_group(proc.pid)  # once the child is reaped: until the group is gone


def check_humaneval(record: dict, reply: str, timeout: float = 5.0) -> RunResult:
    """Run a reply against a HumanEval record's tests (see ``corpora.read_humaneval``)."""
    p = record["provenance"]
    return run_program(program(p["code_prompt"], reply, p["test"], p["entry_point"]), timeout)


def score_replies(domain: str, items, replies, timeout: float) -> dict:
    """GSM8K exact match or HumanEval pass@1 (with how many programs timed out); gen_items: 1/0."""
    both = list(zip(items, replies, strict=True))
    if domain == "math":
        ok = [int(exact_match(r, it["provenance"]["answer"])) for it, r in both]
        return {"exact_match": sum(ok) / len(ok) if ok else None, "gen_n": len(ok), "gen_items": ok}
    runs = [check_humaneval(it, r, timeout) for it, r in both]
    return {  # None, not 0, when nothing was scored
        "pass@1": sum(r.passed for r in runs) / len(runs) if runs else None,
        "gen_n": len(runs),
        "timeouts": sum(r.status == "timeout" for r in runs),
        "gen_items": [int(r.passed) for r in runs],
    }


if __name__ == "__main__":  # the sandboxed child: python -I -S sandbox.py CPU_S MB DIR FILE PROOF
    _child(*sys.argv[1:6])
