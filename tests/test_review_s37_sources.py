"""Review (session 37) of the mask sources, their registry, masks and the Pruner's cache: each
test failed before its fix. All run on tiny random models."""

from mlx_ifp import Mask, Pruner, UsageError  # first: the optimized BLAS before mlx.core
from mlx_ifp.sources import MaskSource

import mlx.core as mx
import numpy as np
import pytest
from tiny import endless_tokenizer, tiny_model


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def _long(head, middle, tail):
    return [*head, *middle, *tail]  # token ids of a prompt of a chat template


@pytest.mark.parametrize("as_array", [mx.array, np.array])
def test_two_tasks_of_token_array_examples_do_not_share_one_mask(tiny, as_array):
    """A task given as example prompts of token ids (arrays, as ``encode`` takes them) was keyed
    by the examples' ``repr``, which elides the middle of a long array: two tasks whose examples
    open and end alike (chat templates do) got the first task's cached mask."""
    model, tok = tiny
    one = [as_array(_long([1, 2, 3], [i % 97 + 9 for i in range(2000)], [7, 8, 9]))]
    two = [as_array(_long([1, 2, 3], [i % 113 + 9 for i in range(2000, 0, -1)], [7, 8, 9]))]
    one.append(as_array([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]))
    two.append(one[1])
    pruner = Pruner(model, tok, source="griffin", keep=0.5)
    _, first = pruner.slim_for(one)
    _, second = pruner.slim_for(two)
    _, alone = Pruner(model, tok, source="griffin", keep=0.5).slim_for(two)
    assert not second.cache_hit
    assert second.mask.digest() == alone.mask.digest() != first.mask.digest()


class _Picks(MaskSource):
    """A plug-in whose own ``select`` returns what it is given."""

    name = "review-picks"

    def __init__(self, pick):
        self.pick = pick

    def scores(self, model, tokens):
        return mx.zeros((3, 96))

    def select(self, model, tokens, k):
        return self.pick(self, model, tokens, k)


@pytest.mark.parametrize(
    "pick",
    [
        lambda self, model, tokens, k: "not a mask",
        lambda self, model, tokens, k: None,
        lambda self, model, tokens, k: MaskSource.select(self, model, tokens, 3),
    ],
    ids=["str", "none", "other-k"],
)
def test_a_plug_ins_select_that_gives_no_mask_of_the_budget_is_one_line(tiny, pick):
    """A plug-in overriding ``select`` (as ``full`` and saved masks do) that returns no Mask
    failed with ``AttributeError: 'str' object has no attribute 'indices'``; one that keeps 3
    channels when asked for 48 was cut and cached as the keep-0.5 slim model, silently."""
    model, tok = tiny
    pruner = Pruner(model, tok, source=_Picks(pick), keep=0.5)
    with pytest.raises(UsageError, match="review-picks"):
        pruner.slim_for("t1 t2 t3")
    with pytest.raises(UsageError, match="review-picks"):
        pruner.slim_for(["t1 t2 t3"])  # a task of one example prompt is its select too


def test_full_and_a_plug_in_keeping_every_channel_still_prune_nothing(tiny):
    model, tok = tiny
    for source in ("full", _Picks(lambda self, model, tokens, k: Mask.full(model))):
        slim, info = Pruner(model, tok, source=source, keep=0.5).slim_for("t1 t2")
        assert slim is model and info.mask.k == 96


def test_a_dense_prefill_past_a_sliding_window_does_not_poison_the_prompts_mask():
    """On a model with a sliding-window layer (gemma3) a prompt longer than the window cannot
    be trimmed after its last token, so ``prefill`` reads the mask off all but the last token;
    it cached that mask under the whole prompt's key, and a later ``slim_for`` of that prompt
    got it instead of the prompt's own (which mask a prompt got hung on what ran first)."""
    model, tok = tiny_model("gemma3_text"), endless_tokenizer()
    tokens = list(range(5, 45))  # longer than the window of 16
    _, own = Pruner(model, tok, source="griffin", keep=0.5).slim_for(tokens)
    _, short = Pruner(model, tok, source="griffin", keep=0.5).slim_for(tokens[:-1])
    pruner = Pruner(model, tok, source="griffin", keep=0.5)
    _, read, _ = pruner.prefill(tokens)
    assert read.mask.digest() == short.mask.digest()  # what the prefill observed
    _, again = pruner.slim_for(tokens)
    assert again.mask.digest() == own.mask.digest()
    _, hit, _ = pruner.prefill(tokens)  # and a second prefill still finds its own
    assert hit.cache_hit and hit.mask.digest() == short.mask.digest()
