"""The static sources' score cache is keyed by content, not by the shape-and-norms fingerprint."""

from mlx_ifp.core import ffn
from mlx_ifp.core.mask import content_hash, fingerprint
from mlx_ifp.sources import make_source

import mlx.core as mx
import mlx.nn as nn
import pytest
from corpus import ByteTokenizer
from tiny import tiny_model


def twins():
    """Two same-shape models with the same norms (so the same fingerprint), other FFN weights."""
    a, b = tiny_model("llama", seed=0), tiny_model("llama", seed=1)
    norms = [(k, v) for k, v in nn.utils.tree_flatten(a.parameters()) if v.ndim == 1]
    b.update(nn.utils.tree_unflatten(norms))
    assert fingerprint(a) == fingerprint(b)
    return a, b


@pytest.mark.parametrize("name", ["static", "static-act"])
def test_same_fingerprint_other_weights_get_their_own_scores(name):
    a, b = twins()
    source = make_source(name, tokenizer=ByteTokenizer())
    first = source.scores(a, [1])
    got = source.scores(b, [1])
    fresh = make_source(name, tokenizer=ByteTokenizer()).scores(b, [1])
    assert mx.array_equal(got, fresh).item()
    assert not mx.allclose(got, first).item()


def test_content_hash_sees_one_changed_ffn_row():
    a, _ = twins()
    before = content_hash(a)
    assert content_hash(a) == before  # deterministic
    down = ffn.ffns(a)[1].down_proj
    w = down.weight
    down.weight = mx.concatenate([w[:-1], w[-1:] + 1.0])  # the last row: a sampled one
    assert content_hash(a) != before
