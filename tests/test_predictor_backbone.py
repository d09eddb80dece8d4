"""The predictor's truncated backbone on architectures whose layers differ (Gemma-3's sliding
and global attention): the first N blocks run exactly as they do inside the full model."""

from mlx_ifp.core import ffn
from mlx_ifp.sources.predictor import hidden_states

import mlx.core as mx
import numpy as np
from mlx_lm.models.base import create_attention_mask
from tiny import tiny_model


def reference(model, tokens, n):
    """Gemma-3's own forward, written out: block i is global iff i % pattern == pattern - 1."""
    inner, pattern = model.model, model.args.sliding_window_pattern
    h = inner.embed_tokens(tokens)
    h = h * mx.array(model.args.hidden_size**0.5, mx.bfloat16).astype(h.dtype)
    causal = create_attention_mask(h, None)
    window = create_attention_mask(h, None, window_size=model.args.sliding_window)
    for i, block in enumerate(ffn.layers(model)[:n]):
        h = block(h, causal if i % pattern == pattern - 1 else window, None)
    return inner.norm(h)


def test_truncated_gemma3_backbone_follows_the_sliding_window_pattern():
    # 8 layers, every 6th global (as in real Gemma-3 configs); 12 tokens > a window of 4
    model = tiny_model("gemma3_text", num_hidden_layers=8, sliding_window=4,
                       sliding_window_pattern=6)  # fmt: skip
    tokens = mx.array([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]])
    for n in (2, 6, 7):  # fewer blocks than the pattern, exactly one period, past a global one
        got = hidden_states(model, tokens, n)
        np.testing.assert_allclose(np.array(got), np.array(reference(model, tokens, n)), atol=1e-5)
    full = hidden_states(model, tokens)
    np.testing.assert_allclose(np.array(full), np.array(reference(model, tokens, 8)), atol=1e-5)
