"""Review (s49, happ): the Python API inside an app, with mlx-lm's keyword arguments.

- ``generate(model, tok, p, draft_model=draft, prompt_cache=make_prompt_cache(model))``: a
  cache for the model alone (mlx-lm's speculative decoding wants the model's layers, then the
  draft's): ``IndexError: list index out of range`` from inside mlx-lm, mid-generation.
- ``prompt_cache=`` a cache made for another model with fewer layers (an app that loads two
  models and mixes up their caches): **a reply anyway**, from the first few layers alone
  (mlx-lm's models zip their layers with the cache), garbage text with no word of why.

- ``export(slim_of_task_a, tok, out, mask=mask_of_task_b)`` (same width; ``export_gguf``
  alike): **written**, the export's record (config.json's ``mlx_ifp`` entry, the model card, the
  GGUF's ``mlx_ifp.*`` keys) naming mask b for weights cut by mask a.

The first two are now one ``UsageError`` line before any work, naming the layer counts; the
third one line, nothing written (a slim model's own mask, read back from its file, is taken).
Every test here but ``test_caches_that_fit_still_run`` fails on the code it was written
against; that one guards the caches that fit.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError

import pytest
from mlx_lm.models.cache import make_prompt_cache
from tiny import endless_tokenizer, tiny_model

P = "t1 t2 t3 t4 t5"


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def test_a_draft_model_with_a_cache_for_the_model_alone_is_one_line(tiny):
    """mlx-lm's ``IndexError: list index out of range`` traceback, mid-generation."""
    model, tok = tiny
    draft = tiny_model("llama", seed=1, num_hidden_layers=2)
    with pytest.raises(
        UsageError, match=r"has 3 layers, not 5 \(the model's 3 \+ the draft model's 2\)"
    ):
        mlx_ifp.generate(model, tok, P, max_tokens=3, draft_model=draft,
                         prompt_cache=make_prompt_cache(model))  # fmt: skip


@pytest.mark.parametrize("layers", [2, 5])
def test_a_prompt_cache_of_another_model_is_one_line(tiny, layers):
    """A reply from the model's first layers only (2), or from all with spare caches (5)."""
    model, tok = tiny
    other = make_prompt_cache(tiny_model("llama", num_hidden_layers=layers))
    for call in (mlx_ifp.generate, lambda *a, **k: list(mlx_ifp.stream_generate(*a, **k))):
        with pytest.raises(
            UsageError, match=f"prompt_cache has {layers} layers, not 3 \\(the model's 3\\)"
        ):
            call(model, tok, P, max_tokens=3, prompt_cache=other)


def test_caches_that_fit_still_run(tiny):
    """The model's own cache (kept across two turns), and the model's + the draft's."""
    model, tok = tiny
    cache = make_prompt_cache(model)
    for turn in ("t1 t2 t3", "t4 t5"):
        assert mlx_ifp.generate(model, tok, turn, max_tokens=3, prompt_cache=cache)
    draft = tiny_model("llama", seed=1, num_hidden_layers=2)
    both = make_prompt_cache(model) + make_prompt_cache(draft)
    assert mlx_ifp.generate(model, tok, P, max_tokens=3, draft_model=draft, prompt_cache=both)
    slim, _ = mlx_ifp.select(model, tok, P)  # a slim model: the source's layer count
    assert mlx_ifp.generate(slim, tok, P, max_tokens=3, prompt_cache=make_prompt_cache(model))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from tiny import save_folder

    return mlx_ifp.load(str(save_folder(tiny_model("llama"), tmp_path_factory.mktemp("m") / "m")))


def test_export_refuses_a_mask_the_slim_model_was_not_pruned_with(loaded, tmp_path):
    """``export(slim_of_task_a, tok, out, mask=mask_of_task_b)`` (same width): written, its
    config's ``mlx_ifp`` entry naming mask b (digest, source, text hash) for weights cut by mask
    a. (``export_gguf`` reads the same record, ``exporters.provenance``, for its keys.)"""
    model, tok = loaded
    slim, info = mlx_ifp.select(model, tok, task="t1 t2 t3", mask_source="griffin")
    other = mlx_ifp.select(model, tok, task="t90 t91 t92", mask_source="griffin")[1].mask
    assert other.k == info.mask.k and other.digest() != info.mask.digest()
    out = tmp_path / "slim"
    with pytest.raises(UsageError, match="not the mask this model was pruned with"):
        mlx_ifp.export(slim, tok, out, mask=other)
    assert not out.exists()
    same = mlx_ifp.Mask.load(info.mask.save(tmp_path / "mask"), model)  # its own, read back
    mlx_ifp.export(slim, tok, out, mask=same)
    assert json.loads((out / "config.json").read_text())["mlx_ifp"]["mask"] == same.digest()
