"""Forty-ninth session, review of what an export records of where it came from.

Bugs (each case failed before the fix):
- ``mlx_ifp export --model FOLDER --adapter RUN`` wrote the absolute local paths of FOLDER and
  RUN into the files users share (upload like an ``mlx_lm convert`` output, hand to llama.cpp):
  config.json's ``mlx_ifp`` entry (``source``, ``adapter``, ``mask_source``:
  ``predictor(/home/alice/...)``), the README.md model card (the source) and the GGUF's
  ``general.name`` and ``mlx_ifp.*`` keys. Now a local source is named by its folder (or file)
  name, an adapter by its folder name plus ``adapter_sha256`` (the first 16 hex digits of the
  sha256 of its ``adapters.safetensors``), a predictor mask source as ``predictor(NAME)``;
- ``load(EXPORT, adapter_path=RUN)`` is refused when EXPORT fused RUN's LoRA (an earlier fix of
  this session), but it compared the recorded path: a moved or copied RUN put the LoRA on a
  second time, in silence. Now the weights' sha256 is compared (an export written before it
  was recorded still by its path).
"""

import hashlib
import json
import shutil

import mlx_ifp  # first: the optimized BLAS before mlx.core

import pytest
from test_review_s32_cli import cli
from tiny import bpe_folder, finetune_folder

PROMPT = "t5 t6 t7 t8"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A source folder with a byte-level BPE tokenizer (GGUF export takes it) and a run."""
    root = tmp_path_factory.mktemp("hpath")
    folder = bpe_folder(root / "src-model")
    adapter = finetune_folder(mlx_ifp.load(str(folder))[0], root / "my-run", 48)
    return root, folder, adapter


def short_sha(adapter) -> str:
    return hashlib.sha256((adapter / "adapters.safetensors").read_bytes()).hexdigest()[:16]


def leaks(data: bytes, root) -> bool:
    return any(str(p).encode() in data for p in (root, root.resolve()))


def test_a_folder_export_records_no_local_path(world, tmp_path):
    root, folder, adapter = world
    out = tmp_path / "slim"
    run = cli("export", "--model", folder, "--adapter", adapter, "-p", PROMPT, "-o", out)
    assert run.returncode == 0, run.stderr
    assert {"config.json", "README.md"} <= {f.name for f in out.iterdir()}
    for file in out.iterdir():  # config.json, README.md: were the source's and the run's paths
        assert not leaks(file.read_bytes(), root), file.name
    meta = json.loads((out / "config.json").read_text())["mlx_ifp"]
    assert meta["source"] == "src-model" and meta["mask_source"] == "predictor(my-run)"
    assert meta["adapter"] == "my-run" and meta["adapter_sha256"] == short_sha(adapter)
    card = (out / "README.md").read_text()
    assert (
        "`src-model`" in card
        and f"LoRA (`my-run`, adapters.safetensors sha256 `{short_sha(adapter)}`" in card
    )


def test_a_gguf_export_records_no_local_path(world, tmp_path):
    gguf = pytest.importorskip("gguf")
    root, folder, adapter = world
    out = tmp_path / "slim.gguf"
    run = cli("export", "--model", folder, "--adapter", adapter, "-p", PROMPT, "-o", out)
    assert run.returncode == 0, run.stderr
    assert not leaks(out.read_bytes(), root)  # mlx_ifp.adapter, mask_source, general.name
    fields = gguf.GGUFReader(str(out)).fields
    got = {k: fields[f"mlx_ifp.{k}"].contents() for k in ("adapter", "adapter_sha256")}
    assert got == {"adapter": "my-run", "adapter_sha256": short_sha(adapter)}
    assert fields["general.name"].contents() == fields["mlx_ifp.source"].contents() == "src-model"


@pytest.mark.parametrize("how", ["moved", "copied"])
def test_a_moved_or_copied_adapter_is_refused_on_the_export_that_fused_it(world, tmp_path, how):
    root, folder, adapter = world
    run_dir = shutil.copytree(adapter, tmp_path / "run")  # (the module's run stays for the rest)
    out = tmp_path / "fused"
    run = cli("export", "--model", folder, "--adapter", run_dir, "--keep", "1.0", "-o", out)
    assert run.returncode == 0, run.stderr
    elsewhere = tmp_path / "elsewhere" / "renamed"
    (shutil.move if how == "moved" else shutil.copytree)(run_dir, elsewhere)
    with pytest.raises(mlx_ifp.UsageError, match="already"):  # the LoRA went on twice
        mlx_ifp.load(str(out), adapter_path=str(elsewhere))
    other = finetune_folder(mlx_ifp.load(str(folder))[0], tmp_path / "other", 48, seed=9)
    mlx_ifp.load(str(out), adapter_path=str(other))  # another run's LoRA still goes on


def test_an_older_export_recording_the_adapter_path_still_refuses_it(world, tmp_path):
    """(unchanged) An export written before ``adapter_sha256``: its path is compared."""
    root, folder, adapter = world
    out = tmp_path / "fused"
    run = cli("export", "--model", folder, "--adapter", adapter, "--keep", "1.0", "-o", out)
    assert run.returncode == 0, run.stderr
    config = json.loads((out / "config.json").read_text())
    config["mlx_ifp"].pop("adapter_sha256", None)
    config["mlx_ifp"]["adapter"] = str(adapter.resolve())  # as older versions wrote it
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(mlx_ifp.UsageError, match="already"):
        mlx_ifp.load(str(out), adapter_path=str(adapter))
