"""Review (s42): `mlx_ifp export` / `convert` and the exporters at their edges.

Each test failed on the code it was written against, for the reason in its docstring.

- `export --mask DIR/m.json -o DIR` (or `--adapter DIR/run`, `--task @DIR/t.txt`), DIR an earlier
  export: the folder was replaced whole, deleting the input the command had just read.
- `export(model, tok, out, mask=m)` / `export_gguf(...)` with a mask the model was not pruned
  with (the unpruned model): written, its metadata claiming a keep the weights do not have;
  `export_gguf(..., mask="m.json")`: an `AttributeError` traceback.
- `export -o LINK.gguf`, LINK a symbolic link to a GGUF file: the link replaced by a file, the
  target left holding the old export.
- `export --model FOLDER -o slim.gguf` of a folder whose RoPE scaling (Llama 3.1/3.2's `llama3`)
  or tokenizer GGUF export does not write: refused only after the model had loaded.
"""

import json

import mlx_ifp
from mlx_ifp import UsageError
from mlx_ifp.cli import app

import pytest
from tiny import finetune_folder, save_folder, tiny_model
from typer.testing import CliRunner


def cli(*args, **kwargs):
    return CliRunner().invoke(app, [str(a) for a in args], **kwargs)


def no_load(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(mlx_ifp, "load", refuse)


def test_export_keeps_the_inputs_inside_its_output_folder(cli_world, tmp_path, monkeypatch):
    """`export --mask slim/m.json -o slim` (slim an earlier export) deleted `m.json` with the
    folder it replaced; so did `--adapter slim/run` and `--task @slim/task.txt`."""
    model, _ = cli_world
    slim = tmp_path / "slim"
    run = cli("export", "--model", model, "--keep", "0.5", "-o", slim)
    assert run.exit_code == 0, run.output
    net, tok = mlx_ifp.load(str(model))
    _, info = mlx_ifp.select(net, tok, "t1 t2", keep=0.5)
    info.mask.save(slim / "m.json")
    adapter = finetune_folder(net, slim / "run", 48)
    (slim / "task.txt").write_text("t1 t2\nt3 t4\n")
    before = sorted(p.name for p in slim.iterdir())
    no_load(monkeypatch)  # refused first
    for flags in (
        ["--mask", slim / "m.json"],
        ["--adapter", adapter, "--keep", "48", "--mask-source", "static"],
        ["--task", f"@{slim / 'task.txt'}", "--mask-source", "griffin"],
    ):
        run = cli("export", "--model", model, *flags, "-o", slim)
        assert run.exit_code == 2, run.output  # was 0: the input deleted
        assert "holds the input" in run.output
    assert sorted(p.name for p in slim.iterdir()) == before


def test_export_api_keeps_the_adapter_inside_its_output_folder(tmp_path):
    """`export(model, tok, out)` of a model loaded with `adapter_path=out/run` deleted the
    adapter (only the source model's folder was looked for inside `out`)."""
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    net, _ = mlx_ifp.load(str(folder))
    out = tmp_path / "slim"
    save_folder(tiny_model("llama"), out)  # an earlier export
    adapter = finetune_folder(net, out / "run", 48)
    net, tok = mlx_ifp.load(str(folder), adapter_path=str(adapter))
    with pytest.raises(UsageError, match="holds the input"):
        mlx_ifp.export(net, tok, out)
    assert (adapter / "adapters.safetensors").is_file()


def gguf_world(tmp_path):
    from mlx_ifp.models import gguf as importer

    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from test_gguf import tokenizer_meta

    folder = save_folder(tiny_model("llama", vocab_size=300), tmp_path / "model")
    importer.build_tokenizer(tokenizer_meta(300), 512).save_pretrained(str(folder))
    net, _ = mlx_ifp.load(str(folder))
    return folder, net, TokenizerWrapper(importer.build_tokenizer(tokenizer_meta(300), 512))


def test_export_refuses_a_mask_the_model_was_not_pruned_with(tmp_path):
    """The unpruned model exported with the mask of its slim copy: written, `config.json`'s
    `mlx_ifp` entry (and the GGUF's `mlx_ifp.k`) saying keep 0.5 of a full-width model."""
    pytest.importorskip("gguf")
    from mlx_ifp.convert import export_gguf

    _, net, tok = gguf_world(tmp_path)
    slim, info = mlx_ifp.select(net, tok, "t1 t2", keep=0.5)
    with pytest.raises(UsageError, match="48 FFN channels per layer, the model has 96"):
        mlx_ifp.export(net, tok, tmp_path / "full", mask=info.mask)
    with pytest.raises(UsageError, match="48 FFN channels per layer, the model has 96"):
        export_gguf(net, tok, tmp_path / "full.gguf", mask=info.mask)
    with pytest.raises(UsageError, match="mask must be the mlx_ifp.Mask"):  # AttributeError
        export_gguf(slim, tok, tmp_path / "slim.gguf", mask="m.json")
    assert not list(tmp_path.glob("full*")) and not list(tmp_path.glob("*slim*"))
    mlx_ifp.export(slim, tok, tmp_path / "slim", mask=info.mask)  # its own: written
    assert json.loads((tmp_path / "slim" / "config.json").read_text())["mlx_ifp"]["k"] == 48
    export_gguf(slim, tok, tmp_path / "slim.gguf", mask=info.mask)


def test_gguf_export_into_a_link_writes_its_target(tmp_path):
    """`export -o cur.gguf`, cur.gguf a link to disk/slim.gguf (an earlier export): the link
    was replaced by a regular file and disk/slim.gguf kept the old model."""
    gguf = pytest.importorskip("gguf")
    folder, _, _ = gguf_world(tmp_path)
    target = tmp_path / "disk" / "slim.gguf"
    target.parent.mkdir()
    link = tmp_path / "cur.gguf"
    link.symlink_to(target)
    for keep in ("0.5", "0.25"):  # a new file, then the earlier export replaced
        run = cli("export", "--model", folder, "--keep", keep, "-o", link)
        assert run.exit_code == 0, run.output
        assert link.is_symlink()  # was a regular file
        width = gguf.GGUFReader(str(target)).fields["llama.feed_forward_length"].contents()
        assert width == round(96 * float(keep))  # was the first export's (or none)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cur.gguf", "disk", "model"]
    assert [p.name for p in target.parent.iterdir()] == ["slim.gguf"]


def test_gguf_export_refuses_what_it_cannot_write_before_the_load(tmp_path, monkeypatch):
    """`export --model FOLDER -o slim.gguf` of a Llama 3.1/3.2 folder (rope scaling 'llama3'),
    of an mlx-lm model with traditional RoPE, or with a tokenizer GGUF export does not write
    (Llama 2 / Mistral's sentencepiece-style BPE, a word-level one): refused only after the
    model had loaded and its mask was picked (minutes for a large model), as the architecture
    was before the forty-first session."""
    folder, _, _ = gguf_world(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    llama3 = {"rope_type": "llama3", "factor": 32.0, "original_max_position_embeddings": 8192}
    cases = {"rope scaling 'llama3'": {"rope_scaling": llama3}, "traditional": {
        "rope_traditional": True}}  # fmt: skip
    words = save_folder(tiny_model("llama"), tmp_path / "words")  # a word-level tokenizer
    no_load(monkeypatch)
    for i, (said, change) in enumerate(cases.items()):
        (folder / "config.json").write_text(json.dumps({**config, **change}))
        run = cli("export", "--model", folder, "--keep", "0.5", "-o", tmp_path / f"{i}.gguf")
        assert run.exit_code == 2, run.output  # was 1 here: loaded (then refused)
        assert said in run.output
    run = cli("export", "--model", words, "--keep", "0.5", "-o", tmp_path / "w.gguf")
    assert run.exit_code == 2, run.output
    assert "byte-level BPE (gpt2) tokenizers only" in run.output
    assert not list(tmp_path.glob("*.gguf"))


def test_gguf_metadata_is_scalars_and_never_replaces_an_array_key(tmp_path):
    """`export_gguf(..., metadata={"tokenizer.ggml.tokens": "x"})` replaced the token list with
    one string (a file no reader can tokenize with); a list or None value was written as its
    text; `metadata=[...]` was a TypeError traceback."""
    gguf = pytest.importorskip("gguf")
    from mlx_ifp.convert import export_gguf

    _, net, tok = gguf_world(tmp_path)
    bad = ({"tokenizer.ggml.tokens": "x"}, {"mlx_ifp.note": ["a", "b"]}, {"mlx_ifp.n": None})
    for metadata in bad:
        with pytest.raises(UsageError, match="a str, int, float or bool, not an array"):
            export_gguf(net, tok, tmp_path / "m.gguf", metadata=metadata)
    with pytest.raises(UsageError, match="metadata must map GGUF keys to values, got list"):
        export_gguf(net, tok, tmp_path / "m.gguf", metadata=[("mlx_ifp.a", 1)])
    assert not (tmp_path / "m.gguf").exists()
    export_gguf(net, tok, tmp_path / "m.gguf", metadata={"mlx_ifp.note": "kept", "x.y": True})
    fields = gguf.GGUFReader(str(tmp_path / "m.gguf")).fields
    assert fields["mlx_ifp.note"].contents() == "kept" and fields["x.y"].contents() is True
    assert len(fields["tokenizer.ggml.tokens"].contents()) == 300
