"""Review (s45): an export of a pruned model, loaded again, was pruned a second time by default.

`mlx_ifp export --keep 0.5 -o slim` (or `.gguf`), then `mlx_ifp generate --model slim` (or
`mlx_ifp.generate` on `mlx_ifp.load("slim")`): GRIFFIN, the default source of a model with no
shipped predictor, cut the slim model's FFNs in half again (on SmolLM2 768 -> 384 channels, and
the reply was garbage, "1 x 1 x 1 ..."), where `mlx_lm generate` runs the file as written. An
export records its mask (`config.json`'s `mlx_ifp` entry, the GGUF's `mlx_ifp.*` keys): a model
so marked now runs whole unless a source or a budget is named; either still prunes it.

Every test here fails on the code it was written against, for the reason in its docstring,
except `test_a_budget_named_for_an_export_prunes_it_again`, which guards the fix (a budget asked
of an export is not dropped).
"""

import json
from pathlib import Path

import mlx_ifp
from mlx_ifp.cli import app

import pytest
from typer.testing import CliRunner

PROMPT = "t1 t2 t3 t4"


def exported(tmp_path, suffix=""):
    """A tiny llama (FFN width 128) pruned to 64 channels and exported, and the mask."""
    import test_gguf  # a tiny GGUF: its byte-level BPE tokenizer exports to GGUF again

    path = test_gguf.write_gguf(test_gguf.tiny_model("llama"), tmp_path / "m.gguf")
    model, tok = mlx_ifp.load(str(path))
    slim, info = mlx_ifp.select(model, tok, PROMPT, keep=0.5, mask_source="griffin")
    out = tmp_path / f"slim{suffix}"
    if suffix:
        pytest.importorskip("gguf")
        mlx_ifp.export_gguf(slim, tok, out, mask=info.mask)
    else:
        mlx_ifp.export(slim, tok, out, mask=info.mask)
    return out, info.mask


@pytest.mark.parametrize("suffix", ["", ".gguf"], ids=["folder", "gguf"])
def test_an_export_runs_as_written_by_default(tmp_path, suffix):
    """`mlx_ifp.generate` on a loaded export kept 32 of its 64 channels (GRIFFIN again)."""
    out, mask = exported(tmp_path, suffix)
    model, tok = mlx_ifp.load(str(out))
    last = list(mlx_ifp.stream_generate(model, tok, PROMPT, max_tokens=3))[-1]
    assert mask.k == 64 and last.prune.mask.k == 64  # was: 32
    assert last.prune.mask.source == "full"
    named = list(mlx_ifp.stream_generate(model, tok, PROMPT, max_tokens=3, keep=0.5,
                                         mask_source="griffin"))[-1]  # fmt: skip
    assert named.prune.mask.k == 32  # a named source still prunes it


def test_the_export_record_survives_a_gguf_round_trip(tmp_path):
    """The GGUF importer dropped the `mlx_ifp.*` keys the exporter wrote, so nothing on the
    converted folder said the model was already pruned."""
    out, mask = exported(tmp_path, ".gguf")
    from mlx_ifp.models import resolve

    config = json.loads((Path(resolve(str(out))) / "config.json").read_text())
    assert config["mlx_ifp"]["mask"] == mask.digest() and config["mlx_ifp"]["k"] == 64


def test_generate_command_runs_an_export_whole(tmp_path):
    """`mlx_ifp generate --model slim` footer: GRIFFIN at 32 of 64 channels (pruned twice)."""
    out, _ = exported(tmp_path)
    run = CliRunner().invoke(app, ["generate", "--model", str(out), "-p", PROMPT, "-m", "3"])
    assert run.exit_code == 0, run.output
    assert "griffin" not in run.output.lower() and "32 of" not in run.output, run.output
    again = CliRunner().invoke(
        app, ["generate", "--model", str(out), "-p", PROMPT, "-m", "3", "--mask-source", "griffin"]
    )
    assert again.exit_code == 0 and "griffin" in again.output.lower(), again.output


def test_a_budget_named_for_an_export_prunes_it_again(tmp_path):
    """A `keep` asked of an export (no source named) prunes it with GRIFFIN, as before the fix:
    not the whole model with the budget silently dropped."""
    out, _ = exported(tmp_path)
    model, tok = mlx_ifp.load(str(out))
    last = list(mlx_ifp.stream_generate(model, tok, PROMPT, max_tokens=3, keep=0.5))[-1]
    assert last.prune.mask.k == 32 and last.prune.mask.source == "griffin"
    run = CliRunner().invoke(
        app, ["generate", "--model", str(out), "-p", PROMPT, "-m", "3", "--keep", "0.5"]
    )
    assert run.exit_code == 0 and "32/64" in run.output, run.output


def test_serve_runs_an_export_whole_by_default(tmp_path):
    """`mlx_ifp serve --model slim` served it through GRIFFIN at keep 0.5: pruned twice."""
    from mlx_ifp.cli.serve import served_model

    out, _ = exported(tmp_path)
    assert served_model(str(out), None, None)[2] == "full"  # was: griffin
    assert served_model(str(out), "0.5", None)[2] == "griffin"  # a budget asked: pruned again
