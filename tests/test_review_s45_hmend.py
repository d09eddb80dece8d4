"""Review (s45, of the session's export-runs-whole change): what it left pruned twice or silent.

- An export of an export (`mlx_ifp export --model slim -o slim2`, or `-o slim.gguf`: a folder
  export turned into a GGUF file; `mlx_ifp.export(model, ...)` of a loaded export): the new
  config's `mlx_ifp` entry named no mask, so nothing said the model was pruned, and generate /
  serve / the API pruned it a second time by default (GRIFFIN, 64 -> 32 channels here).
- `mlx_ifp.Pruner(export, tokenizer, keep=0.25)`: the budget silently dropped (the model run
  whole), where `mlx_ifp.generate(..., keep=0.25)` prunes the export again as asked.
- `mlx_ifp generate --model slim --task T` (no `--keep`, no `--mask-source`; `mlx_ifp.generate`
  / `select` with `task=`): the task silently ignored (the export run whole), where `export
  --model slim --task T` prunes it again; `--repick N`: "mask source 'full' cannot re-pick", a
  source the user never named. A mask asked for now prunes it again, as a budget does.
- `mlx_ifp serve --model M --mask-source predictor` where M ships none, without `--keep`: the
  refusal said "at --keep None".

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json

import mlx_ifp
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.models import export_note

import pytest
from test_review_s45_reprune import PROMPT, exported
from typer.testing import CliRunner


def whole_k(model, tok) -> int:
    """The FFN channels a default generation keeps."""
    return list(mlx_ifp.stream_generate(model, tok, PROMPT, max_tokens=2))[-1].prune.mask.k


@pytest.mark.parametrize("suffix", ["", ".gguf"], ids=["folder", "gguf"])
def test_an_export_of_an_export_is_still_marked_pruned(tmp_path, suffix):
    """Re-exported whole, the export lost its record and was pruned again (k 32, not 64)."""
    if suffix:
        pytest.importorskip("gguf")
    out, mask = exported(tmp_path)
    model, tok = mlx_ifp.load(str(out))
    again = tmp_path / f"again{suffix}"
    (mlx_ifp.export_gguf if suffix else mlx_ifp.export)(model, tok, again)
    model2, tok2 = mlx_ifp.load(str(again))
    assert export_note(model2) and whole_k(model2, tok2) == 64  # was: "" and 32
    if not suffix:
        record = json.loads((again / "config.json").read_text())["mlx_ifp"]
        assert record["mask"] == mask.digest() and (record["k"], record["d_ffn"]) == (64, 128)


def test_export_command_of_an_export_keeps_its_record(tmp_path):
    """`mlx_ifp export --model slim -o slim2` wrote no mask in slim2's record: pruned again."""
    out, _ = exported(tmp_path)
    run = CliRunner().invoke(app, ["export", "--model", str(out), "-o", str(tmp_path / "s2")])
    assert run.exit_code == 0, run.output
    model, tok = mlx_ifp.load(str(tmp_path / "s2"))
    assert whole_k(model, tok) == 64  # was: 32
    cut = tmp_path / "s3"  # pruned further: the new mask's record (32 of 64)
    run = CliRunner().invoke(app, ["export", "--model", str(out), "--keep", "0.5", "-o", str(cut)])
    assert run.exit_code == 0, run.output
    record = json.loads((cut / "config.json").read_text())["mlx_ifp"]
    assert (record["k"], record["d_ffn"]) == (32, 64)


def test_a_pruner_given_a_keep_prunes_an_export(tmp_path):
    """`Pruner(export, tok, keep=0.25)` ran it whole (64 channels), the budget dropped."""
    out, _ = exported(tmp_path)
    model, tok = mlx_ifp.load(str(out))
    asked = mlx_ifp.Pruner(model, tok, keep=0.25)
    assert asked.source.key() == "griffin" and asked.slim_for(PROMPT)[1].mask.k == 16  # was 64
    assert mlx_ifp.Pruner(model, tok).source.key() == "full"  # none asked: run whole


@pytest.mark.parametrize("flag", [["--task", "t1 t2"], ["--repick", "2"]], ids=["task", "repick"])
def test_a_task_asked_of_an_export_prunes_it_again(tmp_path, flag):
    """`generate --model slim --task T`: the task silently ignored (the export run whole);
    `--repick 2`: "mask source 'full' cannot re-pick", a source nobody named. A mask asked for
    prunes it again, as a `--keep` does (and `export --model slim --task T` did already)."""
    out, _ = exported(tmp_path)
    args = ["generate", "--model", str(out), "-p", PROMPT, "-m", "2", *flag]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0 and "griffin, keep 32/64" in run.output.lower(), run.output


def test_a_task_asked_of_an_export_in_the_api(tmp_path):
    """`mlx_ifp.generate(export, tok, p, task=T)` / `select(..., task=T)`: the task ignored."""
    out, _ = exported(tmp_path)
    model, tok = mlx_ifp.load(str(out))
    last = list(mlx_ifp.stream_generate(model, tok, PROMPT, max_tokens=2, task="t1 t2"))[-1]
    assert (last.prune.mask.source, last.prune.mask.k) == ("griffin", 32)  # was: full, 64
    _, info = mlx_ifp.select(model, tok, task="t1 t2")
    assert info.mask.k == 32 and mlx_ifp.select(model, tok, PROMPT)[1].mask.k == 64


def test_serve_predictor_refusal_names_the_default_keep(tmp_path):
    """`serve --mask-source predictor` of a model shipping none, no `--keep`: "--keep None"."""
    from mlx_ifp.cli.serve import served_model

    out, _ = exported(tmp_path)
    with pytest.raises(UsageError, match="ships no predictor") as e:
        served_model(str(out), None, "predictor")
    assert "None" not in str(e.value) and "0.5" in str(e.value)
