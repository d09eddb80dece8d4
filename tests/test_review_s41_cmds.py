"""Review (s41): `mlx_ifp eval` and `export` (GGUF) as a user runs them.

Each test failed on the code it was written against, for the reason in its docstring.

- `export --adapter A ... -o slim.gguf` (a finetune run's LoRA, or the shipped one, fused into
  the weights): the GGUF's `mlx_ifp.*` keys did not say which LoRA the weights hold, where the
  mlx folder's `config.json` records it (`"adapter"`).
- `eval` whose prompts are cut to `--max-len`: the warning came in Python's format (the file
  path of the package and a line of its source), not as the one `Warning:` line the other
  commands print.
- `export --model FOLDER -o slim.gguf` of an architecture GGUF export does not take (qwen3,
  gemma3, ...): refused only after the model had loaded and the mask was picked.
"""

import json

import mlx_ifp
from mlx_ifp.cli import app

import pytest
from tiny import bpe_folder, finetune_folder, save_folder, tiny_model
from typer.testing import CliRunner


def cli(*args, **kwargs):
    return CliRunner().invoke(app, [str(a) for a in args], **kwargs)


def test_gguf_export_records_the_adapter_its_weights_hold(tmp_path):
    """The mlx folder's config says `"adapter": A`; the GGUF said nothing of A's LoRA, fused
    into its weights (`mlx_ifp.mask_source` read `static`)."""
    gguf = pytest.importorskip("gguf")
    folder = bpe_folder(tmp_path / "model")
    net, _ = mlx_ifp.load(str(folder))
    adapter = finetune_folder(net, tmp_path / "run", 48)
    flags = ["--model", folder, "--adapter", adapter, "--mask-source", "static", "--keep", 48]
    run = cli("export", *flags, "-o", tmp_path / "slim")
    assert run.exit_code == 0, run.output
    recorded = json.loads((tmp_path / "slim" / "config.json").read_text())["mlx_ifp"]["adapter"]
    run = cli("export", *flags, "-o", tmp_path / "slim.gguf")
    assert run.exit_code == 0, run.output
    fields = gguf.GGUFReader(str(tmp_path / "slim.gguf")).fields
    assert "mlx_ifp.adapter" in fields  # was missing
    assert fields["mlx_ifp.adapter"].contents() == recorded == adapter.name  # (s49: no path)
    assert fields["mlx_ifp.mask_source"].contents() == "static"


def test_gguf_export_without_adapter_records_none(tmp_path):
    """(unchanged) A model without LoRA gets no `mlx_ifp.adapter` key."""
    gguf = pytest.importorskip("gguf")
    from mlx_ifp.convert import export_gguf
    from mlx_ifp.models import gguf as importer

    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from test_gguf import tokenizer_meta

    folder = save_folder(tiny_model("llama", vocab_size=300), tmp_path / "model")
    net, _ = mlx_ifp.load(str(folder))
    tok = TokenizerWrapper(importer.build_tokenizer(tokenizer_meta(300), 512))
    path = export_gguf(net, tok, tmp_path / "dense.gguf")
    assert "mlx_ifp.adapter" not in gguf.GGUFReader(str(path)).fields


def test_eval_warning_is_one_line(cli_world, tmp_path):
    """A prompt cut to `--max-len` was warned of as `.../mlx_ifp/evaluation/run.py:262:
    UserWarning: ...` plus the source line `scored = pairs(...)`."""
    model, corpus = cli_world
    run = cli("eval", "--model", model, "--data", corpus, "--keep", "0.5", "--mask-sources",
              "random", "--domains", "math", "--limit", 1, "--gen-limit", 0, "--max-len", 8,
              "-o", tmp_path / "r.json")  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "Warning: 1 of 1 prompts had 8+ tokens" in run.stderr  # was not there
    assert "UserWarning" not in run.stderr and "run.py" not in run.stderr


def test_gguf_export_of_another_architecture_is_refused_before_loading(tmp_path, monkeypatch):
    """`export --model QWEN3_FOLDER -o slim.gguf`: "GGUF export supports llama, qwen2 models,
    not 'qwen3'" came after the load and the mask (minutes for a large model)."""

    def never_called(*args, **kwargs):
        raise AssertionError("the model was loaded")

    folder = save_folder(tiny_model("qwen3"), tmp_path / "model")
    monkeypatch.setattr(mlx_ifp, "load", never_called)
    run = cli("export", "--model", folder, "--keep", "0.5", "-o", tmp_path / "slim.gguf")
    assert run.exit_code == 2, run.output
    assert "GGUF export supports llama, qwen2 models, not 'qwen3'" in run.output
    assert not (tmp_path / "slim.gguf").exists()
    run = cli("export", "--model", folder, "--keep", "0.5", "--format", "gguf", "-o",
              tmp_path / "slim")  # fmt: skip
    assert run.exit_code == 2 and "not 'qwen3'" in run.output
