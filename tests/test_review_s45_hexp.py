"""Review (s45, hexp): what `mlx_ifp export` writes, read back by mlx-lm and by our GGUF importer.

Each test failed on the code it was written against, for the reason in its docstring, except
`test_export_of_a_folder_without_one_writes_none`, which guards the fix (no stray file written).

- `export --model FOLDER -o slim` (or `mlx_ifp.export`) of a folder holding a
  `generation_config.json` (every Hugging Face model: its sampling defaults, its stop ids):
  the file was not written, where `mlx_lm convert` / `mlx_lm fuse` copy it.
- `export -o slim.gguf` of a model with more than one stop id (a GGUF with
  `tokenizer.ggml.eot_token_id` / `eom_token_id`, Llama 3 Instruct's <|eot_id|> beside its EOS;
  a folder whose `generation_config.json` lists several `eos_token_id`s): only the EOS was
  written, so the file read back (`generate --model slim.gguf`) ran past the end of each turn.
"""

import json

import mlx_ifp
from mlx_ifp.cli import app

import mlx.core as mx
import pytest
from tiny import save_folder, tiny_model
from typer.testing import CliRunner

GEN = {"eos_token_id": [1, 5], "temperature": 0.6, "top_p": 0.9, "do_sample": True}


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("how", ["cli", "api"])
def test_export_keeps_the_generation_config(tmp_path, how):
    """mlx_lm convert copies `generation_config.json`; our export dropped it (the sampling
    defaults transformers and other tools read; the stop ids, which mlx-lm reads from it)."""
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    (folder / "generation_config.json").write_text(json.dumps(GEN))
    out = tmp_path / "slim"
    if how == "cli":
        run = cli("export", "--model", folder, "--keep", "0.5", "-o", out)
        assert run.exit_code == 0, run.output
    else:
        model, tok = mlx_ifp.load(str(folder))
        slim, info = mlx_ifp.select(model, tok, "t1 t2", keep=0.5)
        mlx_ifp.export(slim, tok, out, mask=info.mask)
    assert json.loads((out / "generation_config.json").read_text()) == GEN  # was: missing
    import mlx_lm

    _, tok = mlx_lm.load(str(out))
    assert {1, 5} <= set(tok.eos_token_ids)


def test_export_of_a_folder_without_one_writes_none(tmp_path, monkeypatch):
    """No generation config in the source: none in the export (not one from the current folder)."""
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "generation_config.json").write_text(json.dumps(GEN))
    model, tok = mlx_ifp.load(str(folder))
    mlx_ifp.export(model, tok, tmp_path / "out")
    assert not (tmp_path / "out" / "generation_config.json").exists()


def gguf_with_stops(tmp_path, monkeypatch):
    import test_gguf

    meta = test_gguf.tokenizer_meta
    extra = {f"tokenizer.ggml.{k}_token_id": mx.array(v, dtype=mx.uint32) for k, v in
             (("eot", 3), ("eom", 4))}  # fmt: skip
    monkeypatch.setattr(test_gguf, "tokenizer_meta", lambda n=300: {**meta(n), **extra})
    return test_gguf.write_gguf(test_gguf.tiny_model("llama"), tmp_path / "m.gguf")


def test_gguf_export_keeps_the_end_of_turn_stops(tmp_path, monkeypatch):
    """A GGUF whose end of turn is not its EOS, exported again (slim) as GGUF: the export wrote
    the EOS alone, and the file read back stopped only there (the s43 bug, back on a round trip)."""
    pytest.importorskip("gguf")
    from mlx_ifp.models.gguf import gguf_to_mlx_lm

    import gguf
    import mlx_lm

    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    model, tok = mlx_ifp.load(str(gguf_with_stops(tmp_path, monkeypatch)))
    assert set(tok.eos_token_ids) == {2, 3, 4}
    slim, info = mlx_ifp.select(model, tok, "a b", keep=0.5, mask_source="static")
    out = mlx_ifp.export_gguf(slim, tok, tmp_path / "slim.gguf", mask=info.mask)
    fields = gguf.GGUFReader(str(out)).fields
    ids = {k: fields[f"tokenizer.ggml.{k}_token_id"].contents() for k in ("eos", "eot", "eom")
           if f"tokenizer.ggml.{k}_token_id" in fields}  # fmt: skip
    assert ids == {"eos": 2, "eot": 3, "eom": 4}  # was {"eos": 2}
    _, back = mlx_lm.load(str(gguf_to_mlx_lm(out, tmp_path / "back")))
    assert set(back.eos_token_ids) == {2, 3, 4}


def test_gguf_export_of_a_folder_with_several_eos_ids(tmp_path):
    """A folder whose generation config lists two stop ids (Qwen2.5 Instruct's <|im_end|> and
    <|endoftext|>): the second is written as the end of turn, so both stop the file read back."""
    pytest.importorskip("gguf")
    import gguf
    from test_gguf_export import tiny

    model, tok = tiny("llama")
    model.args.eos_token_id = [2, 7]  # as mlx_lm.load merges generation_config.json's list
    out = mlx_ifp.export_gguf(model, tok, tmp_path / "m.gguf")
    fields = gguf.GGUFReader(str(out)).fields
    assert fields["tokenizer.ggml.eos_token_id"].contents() == 2
    assert fields["tokenizer.ggml.eot_token_id"].contents() == 7  # was: not written
    assert "tokenizer.ggml.eom_token_id" not in fields
