"""Fifty-sixth session, review of the export paths as a user relies on them (helper ``cvt``).

Bug (each case failed before the fix): an export written into the cache's model folders
replaced what the cache holds there. ``mlx_ifp export -o ~/.cache/mlx_ifp/embedded/
SmolLM2-135M-Instruct.Q4_1.gguf`` (the embedded model's own GGUF: the README names its place)
passed the "an existing GGUF is replaced" check and overwrote it, so the next command found its
sha256 wrong, deleted the user's export and fetched the model again (offline: no model);
``-o .../embedded/smollm2-135m-instruct-f32`` (or a GGUF's conversion in ``gguf/``) replaced a
converted folder, ``mlx_ifp.export`` / ``export_gguf`` likewise. The source's own file was
refused only when named by path (``--model m.gguf -o m.gguf``), not by the embedded name.
Now an existing file or folder inside the cache's ``embedded/`` or ``gguf/`` is refused as an
input: one line, exit 2, nothing written.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core

import pytest
from test_review_s32_cli import cli, one_error
from tiny import bpe_folder, save_folder, tiny_model

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A source folder with a byte-level BPE tokenizer (GGUF export takes it)."""
    return bpe_folder(tmp_path_factory.mktemp("cvt") / "src-model")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache holding the embedded model's GGUF and one conversion, as a first run leaves it."""
    root = tmp_path / "cache"
    (root / "embedded").mkdir(parents=True)
    (root / "embedded" / GGUF).write_bytes(b"GGUF" + bytes(60))
    save_folder(tiny_model("llama"), root / "embedded" / "smollm2-135m-instruct-f32")
    monkeypatch.setenv("MLX_IFP_CACHE", str(root))
    return root


def snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("out", [GGUF, "smollm2-135m-instruct-f32"])
def test_cli_export_into_the_embedded_models_cache_is_refused(cache, folder, monkeypatch, out):
    before, target = snapshot(cache), cache / "embedded" / out
    real = mlx_ifp.load  # the embedded model by name, played by a tiny one (fast)
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: real(str(folder), **k))
    run = cli("export", "--mask-source", "static", "--keep", "0.5", "-o", target)
    assert run.returncode == 2 and "overwrite" in one_error(run)
    assert snapshot(cache) == before  # the model's GGUF and its conversion as they were


def test_api_export_into_the_cache_is_refused(cache, folder):
    model, tok = mlx_ifp.load(str(folder))
    before = snapshot(cache)
    with pytest.raises(mlx_ifp.UsageError, match="overwrite"):
        mlx_ifp.export(model, tok, cache / "embedded" / "smollm2-135m-instruct-f32")
    with pytest.raises(mlx_ifp.UsageError, match="overwrite"):
        mlx_ifp.export_gguf(model, tok, cache / "embedded" / GGUF)
    assert snapshot(cache) == before


def test_a_new_name_beside_the_cache_still_exports(cache, folder, tmp_path):
    model, tok = mlx_ifp.load(str(folder))
    assert mlx_ifp.export_gguf(model, tok, tmp_path / "slim.gguf").is_file()
    assert (mlx_ifp.export(model, tok, tmp_path / "slim") / "config.json").is_file()
