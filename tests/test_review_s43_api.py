"""Review (s43): the Python API beside mlx-lm's, as an app uses it.

- A model whose weights change after a call (``model.load_weights(...)``, ``model.update``,
  LoRA layers put in for training): the shared pruner behind ``generate`` / ``select`` /
  ``stream_generate`` (keyed by the model object) went on serving its cached slim models, their
  FFNs cut from the old weights beside the new attention (a mixture of both models), and an
  app's own ``Pruner`` did the same without a word.
- A rotating prompt cache kept across turns (``make_prompt_cache(model, max_kv_size)``, as
  ``mlx_lm.chat`` does): every token it had ever seen counted against the model's context, so
  the turn that passed it was refused ("the prompt has 560 tokens (500 in the prompt cache)"),
  where mlx-lm runs on and the README says a cache that rotates before the context runs on; and
  ``max_kv_size`` beside a given cache that does not rotate (mlx-lm reads only the cache) let
  the reply run past the context.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import warnings

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.core.prompt import encode
from mlx_ifp.inference import ContextFull
from mlx_ifp.inference.generation import select, stream_generate

import mlx.nn as nn
import mlx_lm
import pytest
from mlx_lm.models.cache import make_prompt_cache
from tiny import endless_tokenizer, tiny_model

PROMPT = " ".join(f"t{i}" for i in [5, 17, 3, 99, 42, 8, 61, 7])


def new_weights(model, seed: int = 3) -> None:
    """Load another tiny model's weights into ``model`` (what an app's ``load_weights`` does)."""
    other = tiny_model(model.model_type, seed=seed)
    model.load_weights(list(nn.utils.tree_flatten(other.parameters())))


@pytest.mark.parametrize(
    "how",
    [
        dict(mask_source="griffin"),  # the mask read off the dense prefill
        dict(mask_source="griffin", prefill="slim"),
        dict(mask_source="random"),
        dict(mask_source="griffin", task="t1 t2 t3"),
    ],
)
def test_the_shared_pruner_follows_weights_loaded_after_a_call(how):
    """After ``load_weights``, the same call gave a reply of neither model: the slim model was
    the cached one, its FFNs cut from the old weights (attention is shared, so it had the new)."""
    model, tok = tiny_model("llama"), endless_tokenizer()

    def run(m):
        return [r.token for r in stream_generate(m, tok, PROMPT, 10, chat_template=False, **how)]

    run(model)
    new_weights(model)
    assert run(model) == run(tiny_model("llama", seed=3))
    _, info = select(model, tok, PROMPT, keep=0.5, mask_source="random")
    assert info.active_params == select(tiny_model("llama", seed=3), tok, PROMPT)[1].active_params


def test_a_pruner_of_weights_the_model_no_longer_has_is_refused():
    """An app's own ``Pruner`` handed out slim models cut from weights the model had before
    ``load_weights`` (or before LoRA layers were put in): now one line, before any work."""
    from mlx_lm.tuner.utils import linear_to_lora_layers

    model, tok = tiny_model("llama"), endless_tokenizer()
    pruner = mlx_ifp.Pruner(model, tok, "griffin", keep=0.5)
    _, info = pruner.slim_for(PROMPT)
    ids = encode(tok, PROMPT)
    new_weights(model)
    calls = [
        lambda: pruner.slim_for(PROMPT),
        lambda: pruner.prefill(ids),
        lambda: pruner.slim_from_mask(info.mask),
        lambda: select(model, tok, PROMPT, pruner=pruner),
        lambda: list(stream_generate(model, tok, PROMPT, 2, pruner=pruner)),
    ]
    for call in calls:
        with pytest.raises(mlx_ifp.UsageError, match="weights changed since this Pruner"):
            call()
    fresh = mlx_ifp.Pruner(model, tok, "griffin", keep=0.5)
    fresh.slim_for(PROMPT)  # a new pruner of the new weights serves
    model.freeze()
    linear_to_lora_layers(model, 1, dict(rank=2, scale=1.0, dropout=0.0))
    with pytest.raises(mlx_ifp.UsageError, match="weights changed"):
        fresh.slim_for(PROMPT)


def test_a_rotating_prompt_cache_runs_past_the_context_turn_after_turn():
    """mlx_lm.chat's recipe, one ``make_prompt_cache(model, max_kv_size)`` for every turn (a
    rotating cache on qwen2, the 1.5B model's kind): the turn whose prompt plus every token the
    cache had seen passed the context was refused, though the cache holds only its window
    (mlx-lm runs on, with the same tokens)."""
    model, tok = tiny_model("qwen2", max_position_embeddings=48), endless_tokenizer()
    ids = encode(tok, PROMPT)
    ours, theirs = make_prompt_cache(model, 16), make_prompt_cache(model, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ContextFull either: the cache rotates
        for _ in range(6):
            run = dict(prompt_cache=ours, keep=1.0)
            got = [r.token for r in stream_generate(model, tok, ids, 10, **run)]
            want = [
                r.token for r in mlx_lm.stream_generate(model, tok, ids, 10, prompt_cache=theirs)
            ]
            assert got == want
    assert ours[0].offset > 48


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_max_kv_size_with_a_cache_that_does_not_rotate_stops_at_the_context(arch):
    """``max_kv_size`` was taken to mean a rotating cache. mlx-lm reads only a given cache (a
    plain one beside ``max_kv_size=16``), and its llama (SmolLM2's kind) makes its own cache,
    which never rotates: the reply ran past the model's context, with no ``ContextFull``."""
    model, tok = tiny_model(arch, max_position_embeddings=24), endless_tokenizer()
    n = len(encode(tok, PROMPT))
    run = dict(chat_template=False, keep=1.0, max_kv_size=16)
    with pytest.warns(ContextFull):
        given = list(
            stream_generate(model, tok, PROMPT, 100, prompt_cache=make_prompt_cache(model), **run)
        )
    assert len(given) == 24 - n
    if arch == "llama":
        with pytest.warns(ContextFull):
            assert len(list(stream_generate(model, tok, PROMPT, 100, **run))) == 24 - n
    else:  # qwen2's cache does rotate: the caller's choice to run past the context, as before
        assert len(list(stream_generate(model, tok, PROMPT, 100, **run))) == 100
