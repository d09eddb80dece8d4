"""A given mask is cut from the model its picker read: `select(mask=M)` and `generate(mask=M)`
without a mask source used the default pruner, so on the embedded model (whose default slices a
LoRA'd copy) a GRIFFIN mask, picked on the bare model, ran with the shipped LoRA, and a mask of
another trained predictor ran without its LoRA."""

import mlx_ifp
from mlx_ifp.core import UsageError, ffn

import mlx.core as mx
import numpy as np
import pytest
from tiny import predictor_world

X = mx.array([[5, 9, 3, 7, 11, 2]])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return predictor_world(tmp_path_factory.mktemp("owner"))


def test_a_predictor_mask_on_a_model_without_its_lora_is_refused(tiny, tmp_path):
    folder, bare, tok, adapter = tiny
    lora, _ = mlx_ifp.load(str(folder), adapter_path=str(adapter))
    _, info = mlx_ifp.select(lora, tok, "t5 t6 t7", mask_source="predictor")
    assert info.mask.source == f"predictor({adapter})"
    with pytest.raises(UsageError, match="trained jointly with lora"):
        mlx_ifp.select(bare, tok, mask=info.mask)
    # on the model loaded with it: the LoRA'd model's slice, as `generate --adapter` ran it
    slim, _ = mlx_ifp.select(lora, tok, mask=info.mask)
    with ffn.masked(lora, info.mask.dense()):
        expect = lora(X)
    np.testing.assert_allclose(np.array(slim(X)), np.array(expect), atol=1e-4, rtol=1e-4)


def test_a_griffin_mask_runs_on_the_bare_embedded_model(smollm2_dir):
    # float on every device (the CPU's default): a GPU's default keeps the packed weights,
    # whose slim down projections are requantized at 8 bits, not equal to the masked model
    model, tok = mlx_ifp.load("smollm2-135m-instruct", dequantize=True)
    _, info = mlx_ifp.select(model, tok, "Name a prime number.", mask_source="griffin")
    slim, _ = mlx_ifp.select(model, tok, mask=info.mask)  # no source: was the LoRA'd copy
    x = mx.array([[1, 504, 3213, 30]])
    with ffn.masked(model, info.mask.dense()):
        expect = model(x)
    np.testing.assert_allclose(np.array(slim(x)), np.array(expect), atol=2e-3, rtol=1e-3)
    # the default predictor's own mask still brings the shipped LoRA: not the bare slice
    own, picked = mlx_ifp.select(model, tok, "Name a prime number.")
    again, _ = mlx_ifp.select(model, tok, mask=picked.mask)
    np.testing.assert_array_equal(np.array(again(x)), np.array(own(x)))
    with ffn.masked(model, picked.mask.dense()):
        bare = model(x)
    assert not np.allclose(np.array(again(x)), np.array(bare), atol=1e-2)
