"""What every stage shares, with no MLX import (the BLAS loader uses it before ``mlx.core``):
the package's errors, cache locations and the lock held while something is made there, atomic
writes (temporary file or folder, then rename), output locations checked before the work starts,
checked reads of JSON and safetensors files (a bad file is a one-line ``UsageError`` naming it,
never a traceback), and the progress display of long commands."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path


class UsageError(ValueError):
    """Bad input from the user (a path, a flag value, a mismatched file); the CLI prints it as
    one line and exits 2."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run cleanly; the message (one line, exit 130) says what was saved and
    how to go on."""


def _publish(tmp: Path, mode: int, path: Path) -> None:
    """Ready a finished temporary for ``path``: the usual permissions, and its missing folders."""
    os.umask(umask := os.umask(0))  # read it (only setting it tells)
    os.chmod(tmp, mode & ~umask)  # (mkstemp and mkdtemp make private entries: 0600, 0700)
    path.parent.mkdir(parents=True, exist_ok=True)  # only now: a failed write makes none


def cache_dir(*parts: str, make: bool = True) -> Path:
    """``$MLX_IFP_CACHE`` or ``$XDG_CACHE_HOME/mlx_ifp`` (default ``~/.cache/mlx_ifp``), made
    unless ``make`` is false (``info`` only reads); absolute, as reports and models record it."""
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    path = Path(os.environ.get("MLX_IFP_CACHE") or os.path.join(xdg, "mlx_ifp"), *parts)
    try:  # a quoted "~/x" (a .env); no HOME nor user entry (a bare container): RuntimeError
        path = path.expanduser().absolute()
        if make:
            path.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError) as e:
        msg = f"cannot use the cache folder {path} ({getattr(e, 'strerror', None) or e})"
        raise UsageError(f"{msg}: set MLX_IFP_CACHE to a folder you can write") from None
    return path


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path for ``path`` (a link's: its target's); renamed to it on success."""
    path = Path(os.path.realpath(Path(path).expanduser()))  # check_writable's; a link is kept
    home = next(p for p in path.parents if p.exists())  # its folder, or the nearest that exists
    sweep_leftovers(home / path.name)
    prefix = f".{path.name}.tmp{os.getpid()}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=home)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _publish(tmp, 0o666, path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder for ``path`` (a link's target); it replaces it on success."""
    path = check_writable(Path(path).expanduser().resolve(), folder=True)  # never over a file
    home = next(p for p in path.parents if p.exists())  # its folder, or the nearest that exists
    sweep_leftovers(home / path.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp{os.getpid()}.", dir=home))
    try:
        yield tmp
        _publish(tmp, 0o777, path)
        old = path.with_name(f".{path.name}.old{os.getpid()}")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def cache_lock(path: Path, what: str) -> Iterator[None]:
    """Held while ``what`` is made at ``path`` in the cache: one process makes it, the others wait
    (an ``flock`` on ``.NAME.lock`` naming its pid, let go however it ends), then reuse it."""
    try:
        f = open(path.with_name(f".{path.name}.lock"), "a+")
    except OSError as e:
        msg = f"cannot use the cache folder {path.parent} ({e.strerror or e})"
        raise UsageError(f"{msg}: set MLX_IFP_CACHE to a folder you can write") from None
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # (no pid yet: the maker has only just taken it)
            pid = os.pread(f.fileno(), 20, 0).decode(errors="replace").strip()
            pid = f" (pid {pid})" if pid.isdigit() else ""
            print(f"Waiting for another {what}{pid}...", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        except OSError:  # a file system without locks (some NFS): made unlocked, as before
            pass
        f.truncate(0)
        print(os.getpid(), file=f, flush=True)
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return pid != 0


def sweep_leftovers(path: str | os.PathLike) -> list[Path]:
    """Clean up after a writer of ``path`` that was killed (``kill -9``, power loss): of the
    temporaries ``.NAME.tmp<pid>.*`` and replaced originals ``.NAME.old<pid>`` that
    ``atomic_file``/``atomic_dir`` name, those of dead processes are removed; an original whose
    replacement never landed (the kill came between the two renames) is put back. Returns what
    was removed or restored."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(tmp|old)(\d+)(\..*)?")
    done = []
    for entry in sorted(path.parent.iterdir()):
        m = pattern.fullmatch(entry.name)
        if m is None or _alive(int(m[2])):
            continue
        if m[1] == "old" and not path.exists():
            os.replace(entry, path)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        done.append(entry)
    return done


def check_writable(
    path: str | os.PathLike, folder: bool = False, ours: tuple = (), magic: bytes = b""
) -> Path:
    """Refuse, before any work, an output location that cannot be written: ``path`` is a file to
    write, or with ``folder`` a folder to write (whole, replacing an existing one). Its nearest
    existing ancestor must be a writable folder; a folder output not an existing file, a file
    output not a folder. With ``ours`` (names or patterns of the files marking a folder the
    command made), a non-empty folder holding none is refused; with ``magic`` (how the files it
    makes begin), a non-empty file that begins otherwise."""
    given, path = path, Path(path).expanduser()
    if given == "-":  # the text "stdout" (a Path("./-") is a path): was a file named "-" here
        raise UsageError("output - is not stdout here: give a path (./- names one called -)")
    if not folder and path.exists() and not path.is_file() and not path.is_dir():  # /dev/stdout
        raise UsageError(f"output {given} is a pipe or device, not a file: give a file path")
    path = Path(os.path.realpath(path)) if not folder and path.is_symlink() else path  # its file
    if folder and path.exists() and not path.is_dir():
        raise UsageError(f"output {path} is an existing file, not a folder: give a folder path")
    # a folder output replaces the folder whole: never the one we stand in, or above it
    here = folder and Path.cwd().resolve().is_relative_to(path.resolve())
    if folder and (path.name in ("", ".", "..") or here):
        raise UsageError(f"output {path} is the current folder or above it: name a new folder")
    mine = any(next(path.glob(name), None) for name in ours)  # manifest.json, domains/*/*
    if ours and path.is_dir() and any(path.iterdir()) and not mine:
        why = "is a folder of other files, which writing would replace: name a new folder"
        raise UsageError(f"output {path} {why}")
    if not folder and (path.is_dir() or str(given).endswith(("/", os.sep))):  # `-o q.png/` too
        raise UsageError(f"output {given} is a folder: give a file path")
    if magic and path.is_file() and path.stat().st_size:  # not empty: the user's, or ours
        with open(path, "rb") as f:
            if f.read(len(magic)) != magic:
                raise UsageError(f"output {path} is an existing file, not {magic.decode()}: "
                                 "writing would replace it (name a new file)")  # fmt: skip
    parent = next((p for p in path.parents if p.exists()), Path(path.anchor or "."))  # nearest
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: {parent} is a file, not a folder")
    try:  # a file made and dropped there: as root os.access says yes to /proc, a read-only bind
        if path.exists() and not os.access(path, os.W_OK):
            raise PermissionError(13, "Permission denied")
        tempfile.TemporaryFile(dir=parent).close()
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e} (choose another place)") from None
    return path


def not_an_input(output: str, *inputs, what: str = "input") -> None:
    """Refuse an output that is an input (or a model in the cache), or an existing file in one."""
    out = Path(os.path.realpath(Path(output).expanduser()))  # a looping link: no RuntimeError
    for given in filter(None, (*inputs, *(cache_dir(d, make=False) for d in ("embedded", "gguf")))):
        src = Path(os.path.realpath(Path(given).expanduser()))
        if src.exists() and (out == src or (out.exists() and out.is_relative_to(src))):
            raise UsageError(f"output {output} would overwrite the {what} {given}: choose another")


def read_json(path: str | os.PathLike, what: str = "JSON file", kind: type = dict):
    """A JSON file's value (a dict unless ``kind`` says otherwise), or a one-line UsageError."""
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{what} {path} is not valid JSON ({e})") from None
    if not isinstance(value, kind):
        raise UsageError(f"{what} {path} must hold a JSON {kind.__name__}")
    return value


#: bytes per element of the safetensors dtypes
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2}
DTYPE_BYTES.update(F16=2, BF16=2, U32=4, I32=4, F32=4, U64=8, I64=8, F64=8)


def check_safetensors(path: str | os.PathLike, what: str = "safetensors file") -> dict:
    """Check a safetensors file's header against its size without reading the data: what an
    interrupted download or a disk error leaves (a short file, a header that is not JSON, tensors
    whose bytes lie past the end or disagree with their shape and dtype) is a one-line
    UsageError naming the file. Returns the header."""
    path = Path(path)
    bad = lambda why: UsageError(f"{what} {path} is corrupted or truncated ({why})")  # noqa: E731
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise bad(f"{size} bytes, shorter than a header")
            n = int.from_bytes(head, "little")
            if n > size - 8 or n > 100_000_000:
                raise bad(f"the header claims {n} bytes, the file has {size}")
            header = json.loads(f.read(n).decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise bad("the header is not JSON") from None
    except OSError as e:
        raise bad(first_line(e)) from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    data = size - 8 - n
    for name, t in ((k, v) for k, v in header.items() if k != "__metadata__"):
        try:
            start, end = (int(x) for x in t["data_offsets"])
            count = math.prod(int(d) for d in t["shape"])
            width = DTYPE_BYTES[t["dtype"]]
        except (TypeError, KeyError, ValueError):
            raise bad(f"tensor {name!r} has no valid dtype, shape and data_offsets") from None
        if not 0 <= start <= end <= data:
            raise bad(f"tensor {name!r} lies past the end of the file")
        if min(int(d) for d in t["shape"] or [0]) < 0 or end - start != count * width:
            raise bad(f"tensor {name!r} has {end - start} bytes for its shape and dtype")
    return header


def read_safetensors(path: str | os.PathLike, what: str = "safetensors file") -> dict:
    """The arrays of a safetensors file; a missing, truncated or corrupted one is a UsageError."""
    import mlx.core as mx

    check_safetensors(path, what)
    try:
        return mx.load(str(path), format="safetensors")
    except (OSError, RuntimeError, ValueError) as e:
        raise UsageError(f"{what} {path} is corrupted or truncated ({first_line(e)})") from None


FLOAT_DTYPES = ("float32", "float16", "bfloat16")
MODEL_FILES = ("model*.safetensors",)  # mark a model folder (not config.json: any project's)


def check_dtype(dtype: str | None, name: str = "dtype") -> None:
    """Refuse a float dtype outside :data:`FLOAT_DTYPES` (None: the caller's default)."""
    if dtype is not None and dtype not in FLOAT_DTYPES:
        raise UsageError(f"{name} must be float32, float16 or bfloat16, got {dtype!r}")


def first_line(e: BaseException) -> str:
    """An exception's message on one line: its first, or all of them when the first ends in a
    colon (the list it introduces), up to 300 characters."""
    text = [x.strip() for x in str(e).strip().splitlines() if x.strip()]
    if not text:
        return type(e).__name__
    return " ".join(text)[:300] if text[0].endswith(":") else text[0]


def sha256_file(path: str | os.PathLike) -> str:
    """The hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def interactive() -> bool:
    """Whether stderr shows a live bar: a terminal (not ``TERM=dumb``) or a notebook."""
    from rich.console import Console

    return (console := Console(stderr=True)).is_interactive or console.is_jupyter


class Progress:
    """``total`` steps of work named ``label``; ``advance`` after each, ``note`` for messages.
    On stderr: a rich bar on a terminal; elsewhere (a log, a pipe, CI) plain lines, one each
    ``every_s`` seconds or ``1/parts`` of the work.

    ``unit`` names a step in the plain lines (``finetune: step 3/40, ...``); ``stats`` are short
    figures such as ``loss 0.41``. Silent when ``enabled`` is False (other ranks, ``quiet``).
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        start: int = 0,
        unit: str = "",
        enabled: bool = True,
        transient: bool = False,
        every_s: float = 10.0,
        parts: int = 10,
        bar: bool | None = None,
    ):
        self.label, self.total, self.done, self.unit = label, total, start, unit
        self.enabled, self.every_s, self.parts = enabled, every_s, parts
        self.description, self.stats = "", ()
        self.t0 = self.last_time = time.monotonic()
        self.last_step = self._bucket(start)
        shown = enabled and (interactive() if bar is None else bar)
        self.bar = self._rich(transient) if shown else None

    def _rich(self, transient: bool):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn())
        columns += (TextColumn("{task.fields[stats]}"), TimeRemainingColumn())
        bar = Bar(*columns, console=Console(stderr=True), transient=transient)
        self.task = bar.add_task(self.label, total=self.total, completed=self.done, stats="")
        return bar

    def __enter__(self):
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            return self.bar.__exit__(*exc)
        if self.enabled:
            self._print(final=True)
        return False

    def describe(self, text: str) -> None:
        """What is being worked on now (shown beside the label)."""
        self.description = text
        if self.bar is not None:
            self.bar.update(self.task, description=f"{self.label}: {text}")

    def advance(self, n: int = 1, stats: Sequence[str] = ()) -> None:
        self.done += n
        self.stats = tuple(stats)
        if self.bar is not None:
            self.bar.update(self.task, advance=n, stats="  ".join(self.stats))
            return
        now, bucket = time.monotonic(), self._bucket(self.done)
        finished = self.total is not None and self.done >= self.total  # the final line says it
        if self.enabled and not finished:
            if bucket > self.last_step or now - self.last_time >= self.every_s:
                self._print()

    def note(self, text: str) -> None:
        """A message line that does not disturb the bar."""
        if self.bar is not None:  # (only when enabled)
            self.bar.console.print(text, markup=False, highlight=False)
        elif self.enabled:
            print(text, file=sys.stderr, flush=True)

    def _bucket(self, done: int) -> int:
        return done * self.parts // self.total if self.total else 0

    def _print(self, final: bool = False) -> None:
        self.last_time, self.last_step = time.monotonic(), self._bucket(self.done)
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        count = f"{self.unit} {count}" if self.unit else count
        over = final and (self.total is None or self.done >= self.total)
        if final:
            count = f"finished, {count}" if over else f"stopped at {count}"
        elapsed = timedelta(seconds=int(self.last_time - self.t0))  # doing: the last piece, not all
        fields = [count, "" if over else self.description, *self.stats, f"{elapsed} elapsed"]
        print(f"{self.label}: " + ", ".join(f for f in fields if f), file=sys.stderr, flush=True)
