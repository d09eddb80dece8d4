"""Review (s33): text generation and re-picking, bugs each test pins down.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.common import UsageError
from mlx_ifp.core.prompt import encode
from mlx_ifp.inference.generation import select, stream_generate
from mlx_ifp.inference.pruner import Pruner

import mlx.core as mx
import mlx.nn as nn
import pytest
from tiny import endless_tokenizer, finetune_folder, save_folder, tiny_model

PROMPT = " ".join(f"t{i}" for i in [5, 17, 3, 99, 42, 8, 61, 7, 23, 11, 90, 4])


def _tokens(model, tok, n=6, **kw):
    rs = list(stream_generate(model, tok, PROMPT, n, chat_template=False, keep=0.5, **kw))
    return [r.token for r in rs], rs[-1]


def _same_mask(a, b) -> bool:
    return all(
        mx.array_equal(mx.sort(x), mx.sort(y)).item()
        for x, y in zip(a.indices, b.indices, strict=True)
    )


def _griffin_predictor_model(tmp_path):
    """A tiny model loaded with a trained predictor that reads GRIFFIN statistics (``head:
    griffin``): its per-prompt masks re-pick by default (``repicks_by_default``)."""
    from mlx_ifp.sources.predictor import (
        PredictorConfig,
        new_predictor,
        save_predictor,
        update_config,
    )

    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    ft = finetune_folder(model, tmp_path / "ft", k=48, train="frozen")
    pred = new_predictor(model, PredictorConfig(layers=1, rank=8, head="griffin", factor_rank=4))
    key = mx.random.key(7)
    pred.update(
        nn.utils.tree_map(
            lambda p: p + 0.3 * mx.random.normal(p.shape, key=key), pred.trainable_parameters()
        )
    )
    save_predictor(pred, ft)
    update_config(ft, k=48, train="frozen")
    net, tok = mlx_ifp.load(str(folder), adapter_path=str(ft))
    tok._eos_token_ids = set()  # every generation runs its whole max_tokens
    return net, tok


@pytest.mark.parametrize(
    "kw",
    [dict(), dict(prefill="dense"), dict(prefill="slim", repick=2)],
    ids=["auto", "dense", "repick"],
)
def test_an_explicit_prompt_cache_none_is_the_same_as_leaving_it_out(kw):
    """``prompt_cache=None`` is mlx-lm's default, and ``stream_generate`` itself treats it as not
    given (``kwargs.get("prompt_cache") is None``: no clash, dense prefill stays on). It then
    also puts its own cache in ``head`` and calls ``mlx_lm.stream_generate(**head, **kwargs)``:
    TypeError "got multiple values for keyword argument 'prompt_cache'" -- for the default
    call on GRIFFIN (auto = dense prefill) and for every re-picking call."""
    model = tiny_model("llama")
    tok = endless_tokenizer()
    ref, _ = _tokens(model, tok, mask_source="griffin", **kw)
    got, _ = _tokens(model, tok, mask_source="griffin", prompt_cache=None, **kw)
    assert got == ref


def test_repick_with_input_embeddings_is_refused_in_one_line():
    """``repick`` with ``input_embeddings`` is meant to be refused with a UsageError ("repick
    cannot be combined with input_embeddings"); the check tests the option by truthiness
    (``if kwargs.get(k)``), and an embeddings array of more than one element has none: a
    ValueError "[convert] Only length-1 arrays can be converted to Python scalars"."""
    model = tiny_model("llama")
    tok = endless_tokenizer()
    ids = encode(tok, PROMPT)
    emb = model.model.embed_tokens(mx.array(ids))
    with pytest.raises(UsageError, match="input_embeddings"):
        _tokens(model, tok, mask_source="griffin", repick=2, input_embeddings=emb)


def test_sampler_none_still_samples_at_the_temp_given():
    """``sampler=None`` (mlx-lm's default: "no sampler of my own") makes ``stream_generate``
    skip building the sampler from ``temp``/``top_p`` (``"sampler" not in kwargs``), so mlx-lm
    decodes greedily and ``temp=5.0`` is silently ignored."""
    model = tiny_model("llama")
    tok = endless_tokenizer()
    greedy, _ = _tokens(model, tok, mask_source="griffin")
    mx.random.seed(0)
    sampled, _ = _tokens(model, tok, mask_source="griffin", temp=5.0)
    assert sampled != greedy  # the temp matters at this seed
    mx.random.seed(0)
    got, _ = _tokens(model, tok, mask_source="griffin", temp=5.0, sampler=None)
    assert got == sampled


def test_the_default_repick_does_not_refuse_a_draft_model(tmp_path):
    """``repick=None`` (the default) re-picks a trained GRIFFIN-reading predictor's masks;
    ``prefill="auto"`` falls back to slim for options that need the whole prompt, but the
    default re-pick does not fall back: ``draft_model=`` (a plain mlx-lm option) is refused
    with "repick cannot be combined with draft_model" although no repick was asked for. With
    ``repick=0`` the very same call works; the default should be that."""
    net, tok = _griffin_predictor_model(tmp_path)
    draft = tiny_model("llama", seed=1)
    kw = dict(chat_template=False, draft_model=draft)
    ref = [r.token for r in stream_generate(net, tok, PROMPT, 4, repick=0, **kw)]
    got = [r.token for r in stream_generate(net, tok, PROMPT, 4, **kw)]
    assert got == ref


def test_a_rotating_cache_prefill_does_not_poison_the_prompt_mask_cache():
    """With ``max_kv_size`` below the prompt's length the dense prefill cannot trim, so its
    GRIFFIN mask is read off the prompt minus its last token (``dense_prefill``'s docstring).
    ``Pruner.prefill`` caches that mask under the key of the whole prompt -- the same key
    ``slim_for`` uses for that text -- so later calls on the same shared pruner (a plain
    ``stream_generate``, ``select``) get a cache hit with a mask that is not the prompt's GRIFFIN
    mask, depending on what ran before. (qwen3: no ``make_cache``, so max_kv_size applies.)"""
    model = tiny_model("qwen3")
    tok = endless_tokenizer()
    pruner = Pruner(model, tok, "griffin", 0.5)
    ids = encode(tok, PROMPT)
    right = pruner.source.select(model, ids, pruner.k)  # GRIFFIN over the whole prompt
    _, short = _tokens(model, tok, 3, pruner=pruner, prefill="dense", max_kv_size=6)
    assert not _same_mask(short.prune.mask, right)  # that prefill read one token less
    _, later = _tokens(model, tok, 3, pruner=pruner, prefill="dense")
    assert _same_mask(later.prune.mask, right)
    _, info = select(model, tok, PROMPT, pruner=pruner)
    assert _same_mask(info.mask, right)


# ------------------------------------------------ the CLI: --prefill and --save-mask


def test_generate_refuses_an_unknown_prefill_before_loading_the_model(monkeypatch, tmp_path):
    """`--prefill dens` was refused by the library, after the model had loaded."""
    from bad_world import no_model_load, one_error
    from test_review_s32_cli import cli

    no_model_load(monkeypatch)
    assert "--prefill must be one of" in one_error(cli("generate", "-p", "hi", "--prefill", "dens"))


def test_a_saved_mask_of_a_re_picked_reply_says_it_is_the_prompts(tmp_path):
    """With re-picking, `--save-mask` saved the prompt's mask without a word: `--mask` replays
    one mask, not the reply's re-picked ones."""
    from test_review_s32_cli import cli
    from tiny import save_folder, tiny_model

    model = save_folder(tiny_model("llama"), tmp_path / "model")
    run = cli("generate", "--model", model, "-p", "t5 t6 t7", "-m", "8", "--mask-source",
              "griffin", "--repick", "2", "--save-mask", tmp_path / "m")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "re-picked it" in run.stderr
