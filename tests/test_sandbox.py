"""Issue 14: the HumanEval sandbox against hostile programs. A write outside its folder does not
land, a fork bomb and 10 GB are stopped; each run ends within its timeout (seconds) and comes
back as a failed ``RunResult``, never as an exception in the caller."""

import ctypes
import os
import sys

from mlx_ifp.evaluation.sandbox import run_program

import pytest

LIMIT = 64  # the most processes the sandbox may let a program have (RLIMIT_NPROC)
#: forks up to 200 children that each sleep 2 s (so at worst 200 sleeping processes for 2 s),
#: and says how many it got
PROBE = """
import os, sys, time
n = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.close(2)
        time.sleep(2)
        os._exit(0)
    n += 1
sys.exit(f"forked {n}")
"""


def kernel_has_landlock() -> bool:
    """Asked of the kernel directly (landlock_create_ruleset's version query), not the sandbox."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)) > 0


@pytest.fixture
def outside(tmp_path):
    """A folder outside the sandbox that anyone may write to (so only the sandbox can stop a
    write), with one file in it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_text("precious")
    for path in (tmp_path, folder):
        os.chmod(path, 0o777)
    return folder


@pytest.mark.skipif(
    not kernel_has_landlock(),
    reason="writes outside the folder are stopped with Landlock (Linux >= 5.13): not here",
)
@pytest.mark.parametrize(
    "code",
    [
        "open({new!r}, 'w').write('x')",
        "open({keep!r}, 'w').write('overwritten')",
        "open({keep!r}, 'a').write('appended')",
        "import os\nos.remove({keep!r})",
        "import os\nos.mkdir({new!r})",
        "import os\nos.rename('candidate.py', {new!r})",
    ],
    ids=["new-file", "overwrite", "append", "delete", "mkdir", "move-out"],
)
def test_a_write_outside_its_folder_does_not_land(outside, code):
    new, keep = str(outside / "new"), str(outside / "keep.txt")
    result = run_program(code.format(new=new, keep=keep), timeout=5)
    assert not result.passed and result.status == "failed", result
    assert "PermissionError" in result.detail, result
    assert sorted(os.listdir(outside)) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "precious"


def test_writes_inside_its_folder_and_threads_still_work():
    code = (
        "import os, tempfile\nfrom concurrent.futures import ThreadPoolExecutor\n"
        "open('out.txt', 'w').write('x')\nos.mkdir('d')\nos.rename('out.txt', 'd/o.txt')\n"
        "with tempfile.TemporaryFile() as f:\n    f.write(b'x')\n"
        "with ThreadPoolExecutor(4) as ex:\n    assert list(ex.map(abs, [-1, -2])) == [1, 2]\n"
    )
    assert run_program(code, timeout=10).passed


def forks_allowed() -> int:
    result = run_program(PROBE, timeout=20)
    assert result.status == "failed" and result.detail.startswith("forked "), result
    return int(result.detail.split()[1])


def test_new_processes_are_capped():
    """Safe to run on any sandbox: at worst 200 children that sleep 2 s."""
    assert forks_allowed() <= LIMIT


def test_a_fork_bomb_is_stopped_and_reported():
    allowed = forks_allowed()  # never set a bomb off where the cap does not hold
    if allowed > LIMIT:
        pytest.fail(f"the sandbox let {allowed} processes start: the fork bomb was not run")
    result = run_program("import os\nwhile True:\n    os.fork()\n", timeout=3)
    assert not result.passed and result.status in ("failed", "timeout"), result


def test_10_gb_is_stopped_by_the_memory_limit():
    result = run_program("x = bytearray(10 * 1024**3)\nprint(len(x))\n", timeout=5)
    assert result.status == "failed" and "MemoryError" in result.detail, result


def test_no_python_runs_between_fork_and_exec(monkeypatch):
    """A ``preexec_fn`` runs Python in the forked child of a process with other threads (MLX's,
    OpenBLAS's) and can deadlock there: it hung an evaluation once. The limits are set by the
    child itself, so the program must still be limited (a write past RLIMIT_FSIZE fails)."""
    import subprocess

    from mlx_ifp.evaluation import sandbox

    seen = []
    real = subprocess.Popen

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    big = "open('big', 'wb').write(b'x' * (4 << 20))\n"  # 4 MB > the 1 MB file-size limit
    result = sandbox.run_program(big, timeout=10)
    assert seen and all(kw.get("preexec_fn") is None for kw in seen)
    assert not result.passed
    assert sandbox.run_program("print('ok')\n", timeout=10).passed
