"""Review (s45, hexp2): the metadata `mlx_ifp export` writes, against mlx-lm's and llama.cpp's.

Each test failed on the code it was written against, for the reason in its docstring.

- `export --task T --keep 0.5 -o slim` (or `mlx_ifp.export`): no README.md, where `mlx_lm convert`
  / `mlx_lm fuse` write a model card (front matter: library_name mlx, pipeline_tag, tags,
  base_model, license) that the Hugging Face Hub reads: an upload showed no license, no library,
  nothing saying the model was pruned (from what, to how many channels, for which task), nor how
  to run it; a source folder's own license / base_model were dropped (a Hugging Face repo
  source is named `base_model`, as mlx-lm names it).
- `export -o slim.gguf` of a GGUF (the embedded SmolLM2 is one: apache-2.0) or of a folder whose
  README names a license: the file had no `general.license`, its `general.name` was our source
  path, not the source's name, and it had no `general.quantization_version` / `general.type`
  (llama.cpp's convert_hf_to_gguf.py writes both, and the license, base model, tags, languages
  it reads off the model card).
"""

import json

import mlx_ifp
from mlx_ifp.cli import app

import mlx.core as mx
import pytest
from tiny import save_folder, tiny_model
from typer.testing import CliRunner

CARD = """---
license: mit
base_model: SomeOrg/Base-1B
language: fr
tags:
- chat
---

# A source model

Its own text, not carried.
"""
TASK = "Translate English to French.\nKeep it short."


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def front_matter(folder):
    from huggingface_hub import metadata_load

    return metadata_load(folder / "README.md")


@pytest.mark.parametrize("how", ["cli", "api"])
def test_export_writes_a_model_card(tmp_path, how):
    """No README.md was written: mlx_lm convert writes one (library_name mlx, tags, pipeline_tag;
    the source's license and base model), and nothing said what the export was or how to run it."""
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    (folder / "README.md").write_text(CARD)
    out = tmp_path / "slim"
    for _ in range(2):  # an earlier export (its README.md too) is replaced
        if how == "cli":
            run = cli("export", "--model", folder, "--task", TASK, "--keep", "0.5", "-o", out)
            assert run.exit_code == 0, run.output
        else:
            model, tok = mlx_ifp.load(str(folder))
            slim, info = mlx_ifp.select(model, tok, task=TASK, keep=0.5)
            mlx_ifp.export(slim, tok, out, mask=info.mask, task=TASK)
    front = front_matter(out)  # was: no README.md
    assert front["library_name"] == "mlx" and front["pipeline_tag"] == "text-generation"
    assert front["tags"] == ["chat", "mlx"] and front["license"] == "mit"
    assert front["base_model"] == "SomeOrg/Base-1B" and front["language"] == ["fr"]
    record = json.loads((out / "config.json").read_text())["mlx_ifp"]
    assert record["task"] == TASK
    text = (out / "README.md").read_text()
    for said in (record["source"], f"keeps {record['k']} of its {record['d_ffn']}", record["mask"],
                 "> Translate English to French.", "> Keep it short.",
                 "mlx_lm generate --model slim", "mlx_ifp generate --model slim"):  # fmt: skip
        assert said in text, (said, text)
    assert "Its own text" not in text
    import mlx_lm

    mlx_lm.load(str(out))  # still a plain mlx-lm folder


def test_export_of_a_whole_model_says_so_and_a_failed_card_leaves_nothing(tmp_path, monkeypatch):
    """A model written whole (no mask) gets a card too, without pruning claims; and the card is
    written with the folder (atomically): a card that fails leaves no folder behind."""
    import mlx_lm.utils

    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    model, tok = mlx_ifp.load(str(folder))
    mlx_ifp.export(model, tok, tmp_path / "whole")
    front, text = front_matter(tmp_path / "whole"), (tmp_path / "whole" / "README.md").read_text()
    assert front["library_name"] == "mlx" and "license" not in front and "base_model" not in front
    assert "no FFN channel pruned" in text and "keeps" not in text

    def broken(path, hf_path):
        raise OSError("disk full")

    monkeypatch.setattr(mlx_lm.utils, "create_model_card", broken)
    with pytest.raises(OSError):
        mlx_ifp.export(model, tok, tmp_path / "half")
    assert not (tmp_path / "half").exists()


def test_a_hugging_face_repo_source_is_named_the_base_model(tmp_path, monkeypatch):
    """As `mlx_lm convert --hf-path ORG/NAME` writes `base_model: ORG/NAME` (the repo itself):
    no card was written (and no README of the repo is fetched: mlx-lm downloads none)."""
    from mlx_ifp.core import origin

    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    model, tok = mlx_ifp.load(str(folder))
    origin(model).update(model="SomeOrg/Chat-1B", path="SomeOrg/Chat-1B")  # as a repo id loads
    monkeypatch.chdir(tmp_path)
    mlx_ifp.export(model, tok, tmp_path / "out")
    assert front_matter(tmp_path / "out")["base_model"] == "SomeOrg/Chat-1B"
    assert "`SomeOrg/Chat-1B`, written whole" in (tmp_path / "out" / "README.md").read_text()


GENERAL = {
    "general.name": "Tiny Chat 1M",
    "general.organization": "SomeOrg",
    "general.license": "apache-2.0",
    "general.size_label": "135M",  # the source's: pruning changes it
    "general.tags": ["chat", "tiny"],
    "general.languages": ["en"],
    "general.base_model.count": 1,
    "general.base_model.0.name": "Tiny Base",
    "general.base_model.0.repo_url": "https://huggingface.co/SomeOrg/Tiny-Base",
}


def gguf_source(tmp_path, monkeypatch):
    """A tiny llama GGUF with the general.* keys llama.cpp writes, loaded as the CLI loads it."""
    import test_gguf

    meta = test_gguf.tokenizer_meta
    extra = {k: mx.array(v, dtype=mx.uint32) if type(v) is int else v for k, v in GENERAL.items()}
    monkeypatch.setattr(test_gguf, "tokenizer_meta", lambda n=300: {**meta(n), **extra})
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    return test_gguf.write_gguf(test_gguf.tiny_model("llama"), tmp_path / "m.gguf")


def test_gguf_export_of_a_gguf_keeps_its_general_keys(tmp_path, monkeypatch):
    """A GGUF exported again (slim) as GGUF lost its license, name, tags, languages and base
    model; its general.name became our source path; no quantization version nor type."""
    pytest.importorskip("gguf")
    import gguf

    source = gguf_source(tmp_path, monkeypatch)
    out = tmp_path / "slim.gguf"
    run = cli("export", "--model", source, "--keep", "0.5", "--gguf-type", "q8_0", "-o", out)
    assert run.exit_code == 0, run.output
    fields = gguf.GGUFReader(str(out)).fields
    got = {k: f.contents() for k, f in fields.items() if k.startswith("general.")}
    for key, value in GENERAL.items():
        if key != "general.size_label":
            assert got.get(key) == value, (key, got.get(key))  # was: only the name, our path
    assert got["general.quantization_version"] == 2 and got["general.type"] == "model"
    assert got["general.size_label"] != "135M"  # counted from the written tensors, as convert
    assert got["general.file_type"] == gguf.LlamaFileType.MOSTLY_Q8_0
    assert fields["general.base_model.count"].types == [gguf.GGUFValueType.UINT32]
    from mlx_ifp.models.gguf import gguf_to_mlx_lm

    back = gguf_to_mlx_lm(out, tmp_path / "back")  # our importer reads it back
    assert json.loads((back / "config.json").read_text())["mlx_ifp"]["k"] == 64


def test_mlx_export_of_a_gguf_carries_its_license_into_the_card(tmp_path, monkeypatch):
    """The embedded model is a GGUF (apache-2.0): its export's card named no license."""
    source = gguf_source(tmp_path, monkeypatch)
    run = cli("export", "--model", source, "--keep", "0.5", "-o", tmp_path / "slim")
    assert run.exit_code == 0, run.output
    front = front_matter(tmp_path / "slim")
    assert front["license"] == "apache-2.0" and front["language"] == ["en"]
    assert front["tags"] == ["chat", "tiny", "mlx"] and front["base_model"] == "SomeOrg/Tiny-Base"


def test_gguf_export_of_a_folder_carries_its_card_license_and_base_model(tmp_path):
    """A folder whose README.md names a license and a base model, exported as GGUF: neither
    was written (convert_hf_to_gguf.py writes general.license and general.base_model.*)."""
    pytest.importorskip("gguf")
    from mlx_ifp.models.gguf import build_tokenizer

    import gguf
    from test_gguf import tokenizer_meta

    folder = save_folder(tiny_model("llama", vocab_size=300), tmp_path / "model")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).unlink(missing_ok=True)
    build_tokenizer(tokenizer_meta(300), 512).save_pretrained(str(folder))  # a byte-level BPE
    (folder / "README.md").write_text(CARD)
    out = tmp_path / "m.gguf"
    run = cli("export", "--model", folder, "-o", out)
    assert run.exit_code == 0, run.output
    got = {k: f.contents() for k, f in gguf.GGUFReader(str(out)).fields.items()}
    assert got["general.license"] == "mit" and got["general.languages"] == ["fr"]
    assert got["general.tags"] == ["chat"] and got["general.base_model.count"] == 1
    assert got["general.base_model.0.organization"] == "SomeOrg"
    assert got["general.base_model.0.name"] == "Base-1B"
    assert got["general.base_model.0.repo_url"] == "https://huggingface.co/SomeOrg/Base-1B"
    assert got["general.quantization_version"] == 2 and got["general.type"] == "model"
