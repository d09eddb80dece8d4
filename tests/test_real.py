"""The real SmolLM2-135M-Instruct (embedded, fetched from PyPI once): Python API end to end."""

import re
import subprocess
import sys

import mlx_ifp
from mlx_ifp.core import ffn
from mlx_ifp.core.prompt import encode, format_chat, messages_for
from mlx_ifp.models import device

import mlx.core as mx
import numpy as np
import pytest
from reference import assert_top_k, griffin_scores

pytestmark = pytest.mark.real
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def smol(smollm2_dir):
    # float on every device (the CPU's default): a GPU's default keeps the packed weights,
    # whose slim down projections are requantized at 8 bits, not equal to the masked model
    return mlx_ifp.load("smollm2-135m-instruct", dequantize=True)


WORD = re.compile(r"[A-Za-z0-9'\-]+(?:\.[0-9]+)*[.,;:!?)]*|\(")  # "12.5" is a word too


def test_default_form_answers_paris_unpruned_and_at_half(smol):
    """On every backend, in the form ``load`` picks there (fp32 on CPU, packed 4-bit on a GPU).

    Garbage from a broken packed path is near-random argmax over a 49k-token vocabulary (many
    tokens non-ASCII, code or word pieces): it is neither ASCII words only nor about France. The
    slim answer at keep 0.5 may degrade (on CPU it repeats itself after "Paris"), so it must be
    ASCII words and name Paris or France, not necessarily be right.
    """
    # the module's fixture is float on every device; load's own default form is float only on
    # the CPU, so a GPU loads the packed form here (as the docstring says)
    model, tok = smol if mx.default_device() == mx.cpu else mlx_ifp.load("smollm2-135m-instruct")
    form = "packed" if device.is_packed(model) else "float"
    full = mlx_ifp.generate(model, tok, QUESTION, keep=1.0, max_tokens=20)
    assert "Paris" in full, (form, full)
    half = mlx_ifp.generate(model, tok, QUESTION, keep=0.5, max_tokens=24)
    words = half.split()
    assert words and all(WORD.fullmatch(w) for w in words), (form, half)
    assert "Paris" in half or "France" in half, (form, half)


def test_task_mask_is_cached_and_prunes(smol):
    model, tok = smol
    task = "Answer questions about world geography and capital cities."
    slim, first = mlx_ifp.select(model, tok, task=task, keep=0.5)
    again, second = mlx_ifp.select(model, tok, task=task, keep=0.5)
    assert again is slim and second.cache_hit and not first.cache_hit
    assert ffn.d_ffn(slim) == 768 and 0.6 < first.active_fraction < 0.8
    out = list(mlx_ifp.stream_generate(model, tok, QUESTION, 12, task=task, keep=0.5))
    assert out[-1].prune.cache_hit and out[-1].generation_tokens > 0
    assert "".join(r.text for r in out).strip()


@pytest.mark.parametrize("dequantize", [True, False], ids=["f32", "q4"])
def test_slim_logits_equal_masked_logits(dequantize):
    model, tok = mlx_ifp.load("smollm2-135m-instruct", dequantize=dequantize)
    tokens = mx.array([encode(tok, format_chat(tok, messages_for(QUESTION)))])
    slim, info = mlx_ifp.select(model, tok, QUESTION, keep=0.33, mask_source="griffin")
    with ffn.masked(model, info.mask.dense()):
        masked = model(tokens)
    np.testing.assert_allclose(np.array(slim(tokens)), np.array(masked), atol=2e-3, rtol=1e-3)


def test_export_is_a_standard_mlx_lm_model(smol, tmp_path):
    from mlx_lm import load as mlx_lm_load

    model, tok = smol  # the default source: the shipped predictor, its LoRA on a copy
    from mlx_ifp.models.embedded import default_adapter
    from mlx_ifp.models.resolve import adapted_copy

    slim, info = mlx_ifp.select(model, tok, task="Write Python code.", keep=0.5)
    # the LoRA is fused into the slim arrays, not dropped: the unfused LoRA copy, masked alike
    assert not any("lora_a" in m for _, m in slim.named_modules())
    x = mx.array([[1, 504, 3213, 30]])
    ref = adapted_copy(model, default_adapter("smollm2-135m-instruct"))
    with ffn.masked(ref, info.mask.dense()):
        expect = ref(x)
    np.testing.assert_allclose(np.array(slim(x)), np.array(expect), atol=2e-3, rtol=1e-3)
    out = mlx_ifp.export(slim, tok, tmp_path / "slim")
    loaded, _ = mlx_lm_load(str(out))  # LoRA written fused: a standard folder
    assert loaded.args.intermediate_size == 768
    np.testing.assert_allclose(np.array(loaded(x)), np.array(slim(x)), atol=1e-3, rtol=1e-3)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlx_lm",
            "generate",
            "--model",
            str(out),
            "--prompt",
            "hi",
            "--max-tokens",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]


def test_dense_prefill_then_slim_decoding_is_exact(smol):
    """On the real model: decoding over the dense KV cache = a per-position mask, fp32."""
    model, tok = smol
    tokens = encode(tok, format_chat(tok, messages_for(QUESTION)))
    pruner = mlx_ifp.Pruner(model, tok, "griffin", 0.5)
    slim, info, cache = pruner.prefill(tokens)
    got = slim(mx.array([tokens[-1:]]), cache=cache)[0, -1]
    T = len(tokens)
    pos = (mx.arange(T) >= T - 1).astype(mx.float32)[:, None]
    per_pos = info.mask.dense()[:, None, :] * pos + (1 - pos)
    with ffn.masked(model, per_pos[None]):
        ref = model(mx.array([tokens]))[0, -1]
    assert np.allclose(np.array(got), np.array(ref), atol=2e-3)
    assert mx.argmax(got).item() == mx.argmax(ref).item()
    # the mask is GRIFFIN's over the whole prompt: its score written out in numpy
    assert_top_k(info.mask.indices, griffin_scores(model, tokens), 768)


def test_gguf_weights_of_a_lora_slim_model_are_written_fused(smol):
    """The default (shipped predictor) slim model carries LoRA layers: GGUF export writes them
    fused under the plain names, with the LoRA's change in them."""
    from mlx_ifp.convert.exporters import float_weights

    model, tok = smol
    tuned, _ = mlx_ifp.select(model, tok, task="Write Python code.", keep=0.5)
    plain, _ = mlx_ifp.select(
        model, tok, task="Write Python code.", keep=0.5, mask_source="griffin"
    )
    a, b = float_weights(tuned), float_weights(plain)
    assert sorted(a) == sorted(b)
    name = "model.layers.3.self_attn.q_proj.weight"
    assert a[name].shape == b[name].shape
    assert not mx.allclose(a[name], b[name])  # the LoRA delta is in the fused weight
