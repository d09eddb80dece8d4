"""Review (s46, hslim): a slim model made in-process was pruned again, or refused, when run.

1. `slim, info = mlx_ifp.select(model, tok, "Name a river.")` (or `mlx_ifp.prune(model, mask)`)
   on the embedded model, then `mlx_ifp.generate(slim, tok, "Name a river.")`: a misleading
   KeepMismatch warning ("trained to keep 768 of 768 FFN channels per layer, not 384") and then
   `UsageError: the predictor ... was trained for another model (differs in d_ffn, hash)`; on a
   model with no shipped predictor, GRIFFIN silently cut the slim model's FFNs in half again. An
   export of the same slim model, loaded, runs as written: a slim model made here now carries
   the record an export carries (its width and mask), so it runs whole unless a source or a
   budget is named (which prunes it again, as for an export), and `mlx_ifp.export(slim, tok,
   out)` without `mask=` writes the mask it was cut with (it wrote "no FFN channel pruned").
2. `PruneInfo.stats` was a public field never filled (always `{}`): removed.
"""

import dataclasses
import json
import warnings

import mlx_ifp
from mlx_ifp.core import exported_width, fingerprint, origin
from mlx_ifp.inference import PruneInfo

import pytest

PROMPT = "t1 t2 t3 t4"


def tiny_slim(tmp_path):
    """A tiny llama (FFN width 128), loaded with mlx_ifp.load, its GRIFFIN slim model (64)."""
    import test_gguf

    path = test_gguf.write_gguf(test_gguf.tiny_model("llama"), tmp_path / "m.gguf")
    model, tok = mlx_ifp.load(str(path))
    slim, info = mlx_ifp.select(model, tok, PROMPT, keep=0.5, mask_source="griffin")
    return model, tok, slim, info


def test_a_slim_model_runs_as_written(tmp_path):
    """generate on a slim model made by select cut it again to 32 channels (GRIFFIN at 0.5)."""
    model, tok, slim, info = tiny_slim(tmp_path)
    last = list(mlx_ifp.stream_generate(slim, tok, PROMPT, max_tokens=3))[-1]
    assert last.prune.mask.k == 64 and last.prune.mask.source == "full"  # was: 32, griffin
    assert "64 of 128" in last.prune.note
    again, _ = mlx_ifp.select(slim, tok, PROMPT)
    assert again is slim  # whole: nothing cut
    named = list(mlx_ifp.stream_generate(slim, tok, PROMPT, max_tokens=3, keep=0.5))[-1]
    assert named.prune.mask.k == 32  # a budget named prunes it again, as for an export
    src = list(mlx_ifp.stream_generate(model, tok, PROMPT, max_tokens=3))[-1]
    assert src.prune.mask.k == 64 and exported_width(model) is None  # source unchanged


def test_prune_marks_the_slim_model_and_leaves_the_source(tmp_path):
    model, tok, _, info = tiny_slim(tmp_path)
    fp = fingerprint(model)
    slim = mlx_ifp.prune(model, info.mask)
    assert exported_width(slim) == (64, 128)
    assert fingerprint(model) == fp
    assert "mlx_ifp" not in origin(model)["config"]


def test_export_of_a_slim_model_without_mask_records_its_mask(tmp_path):
    """`export(slim, tok, out)` recorded no mask: the card said "no FFN channel pruned", and the
    export, loaded, was pruned a second time."""
    _, tok, slim, info = tiny_slim(tmp_path)
    mlx_ifp.export(slim, tok, tmp_path / "a", mask=info.mask)
    mlx_ifp.export(slim, tok, tmp_path / "b")
    a, b = (json.loads((tmp_path / n / "config.json").read_text())["mlx_ifp"] for n in "ab")
    assert a == b and a["mask"] == info.mask.digest() and a["k"] == 64
    loaded, tok2 = mlx_ifp.load(str(tmp_path / "b"))
    assert exported_width(loaded) == (64, 128)


@pytest.mark.real
def test_a_slim_model_of_the_embedded_model_runs_as_written():
    """The embedded model's slim model: KeepMismatch, then 'trained for another model'."""
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    slim, info = mlx_ifp.select(model, tok, "Name a river.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        last = list(mlx_ifp.stream_generate(slim, tok, "Name a river.", max_tokens=4))[-1]
    assert last.prune.mask.k == info.mask.k == 768 and last.prune.mask.source == "full"
    assert "768 of 1536" in last.prune.note
    again = list(mlx_ifp.stream_generate(slim, tok, "Name a river.", max_tokens=2, keep=0.5))
    assert again[-1].prune.mask.k == 384  # pruned again (GRIFFIN), as an export is
    assert origin(slim)["adapter_path"] is not None  # what export records


def test_prune_info_has_no_dead_stats_field():
    """`PruneInfo.stats` was always {}: nothing filled it."""
    assert "stats" not in {f.name for f in dataclasses.fields(PruneInfo)}
