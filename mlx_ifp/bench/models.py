"""Models for ``mlx_ifp bench``: random-weight Llama presets, a synthetic tokenizer, the
same-shape dense reference, and the real model with its 4-bit twin."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

from ..core import UsageError, record_origin

TASK = "Answer short general-knowledge questions about history, science and geography."
PROMPT = (
    "Explain, step by step, how a bill becomes a law, how photosynthesis works, why the sky "
    "is blue, and what a Python list comprehension does. Give examples for each. "
)
#: Llama shapes for random-weight runs (Llama 3.2 1B/3B, Llama 3.1 8B, SmolLM2-135M, and the
#: second embedded model's, Qwen2.5-Coder-1.5B: its widths, heads and untied 151,936-token
#: vocabulary, run as a Llama, without Qwen2's q/k/v biases), each with its model's context.
PRESETS = {
    "135m": dict(hidden_size=576, num_hidden_layers=30, intermediate_size=1536,
                 num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                 rope_theta=100000.0, tie_word_embeddings=True, max_position_embeddings=8192),
    "1.5b": dict(hidden_size=1536, num_hidden_layers=28, intermediate_size=8960,
                 num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                 rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
                 max_position_embeddings=32768),
    "1b": dict(hidden_size=2048, num_hidden_layers=16, intermediate_size=8192,
               num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
               rope_theta=500000.0, tie_word_embeddings=True, max_position_embeddings=131072),
    "3b": dict(hidden_size=3072, num_hidden_layers=28, intermediate_size=8192,
               num_attention_heads=24, num_key_value_heads=8, vocab_size=128256,
               rope_theta=500000.0, tie_word_embeddings=True, max_position_embeddings=131072),
    "8b": dict(hidden_size=4096, num_hidden_layers=32, intermediate_size=14336,
               num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
               rope_theta=500000.0, tie_word_embeddings=False, max_position_embeddings=131072),
    "tiny": dict(hidden_size=64, num_hidden_layers=2, intermediate_size=128,
                 num_attention_heads=4, num_key_value_heads=2, vocab_size=256,
                 tie_word_embeddings=True, max_position_embeddings=2048),  # for tests
}  # fmt: skip


# ---------------------------------------------------------------- models


def _default_dtype(dtype: str | None) -> mx.Dtype:
    if dtype:
        return getattr(mx, dtype)
    return mx.float32 if mx.default_device() == mx.cpu else mx.bfloat16


def random_llama(config: dict, dtype: mx.Dtype, seed: int = 0, quantize: bool = False):
    """A random-weight mlx-lm Llama of ``config`` (optionally 4-bit, group size 64)."""
    from mlx_lm.models import llama

    cfg = {"model_type": "llama", "rms_norm_eps": 1e-5, **config}
    fields = llama.ModelArgs.__dataclass_fields__
    mx.random.seed(seed)
    model = llama.Model(llama.ModelArgs(**{k: v for k, v in cfg.items() if k in fields}))
    for _, m in model.named_modules():  # cast and evaluate one module at a time (peak memory)
        params = {k: v.astype(dtype) for k, v in m.parameters().items() if isinstance(v, mx.array)}
        if params:
            m.update(params)
            mx.eval(params)
    if quantize:
        nn.quantize(model, group_size=64, bits=4)
        mx.eval(model.parameters())
    model.eval()
    record_origin(model, {"model": "random", "path": "", "config": cfg})
    return model


def synthetic_tokenizer(vocab_size: int):
    """A word-level tokenizer over ``t0 .. t{vocab-1}`` for random-weight models."""
    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(vocab_size)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    eos = AddedToken("t1", single_word=True, special=True)  # not the head of "t10", "t100"...
    return TokenizerWrapper(PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos))


def same_shape_dense(model: nn.Module, k: int, dtype: mx.Dtype) -> nn.Module:
    """(f) A random dense model with ``model``'s config but FFN width ``k``."""
    cfg = dict(vars(model.args))
    cfg["intermediate_size"] = k
    if cfg.get("model_type") == "llama":
        net = random_llama(cfg, dtype, seed=1)
    else:  # its own classes: mlx-lm runs some types (mistral) with another's module
        fields = type(model.args).__dataclass_fields__
        net = type(model)(type(model.args)(**{k: v for k, v in cfg.items() if k in fields}))
        if "lm_head" in net and "lm_head" not in model:  # tied on load (Gemma 3's sanitize)
            net.pop("lm_head")
            net.tie_word_embeddings = True
        net.update(nn.utils.tree_map(lambda p: p.astype(dtype), net.parameters()))
        mx.eval(net.parameters())
    q = next((m for _, m in model.named_modules() if isinstance(m, nn.QuantizedLinear)), None)
    return net.eval() if q is None else four_bit(net, q.group_size, q.bits)  # packed alike


def preset_config(preset: str) -> dict:
    """The shape of ``--preset``; an unknown name refused in one line."""
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    return PRESETS[preset]


def build(model: str, preset: str | None, dtype: str | None):
    """(source, tokenizer, 4-bit source factory, prompt maker, task tokens or text)."""
    from ..models import load

    dt = _default_dtype(dtype)
    if preset:
        cfg = preset_config(preset)
        tok = synthetic_tokenizer(cfg["vocab_size"])
        src = random_llama(cfg, dt)

        def prompt(n):
            ids = mx.random.randint(2, cfg["vocab_size"], (n,), key=mx.random.key(7))
            return ids.tolist()

        task = mx.random.randint(2, cfg["vocab_size"], (24,), key=mx.random.key(8)).tolist()
        return src, tok, lambda: random_llama(cfg, dt, quantize=True), prompt, task
    src, tok = load(model, dtype=dtype)

    def prompt(n):
        ids = tok.encode(PROMPT * (n // 20 + 2), add_special_tokens=False)
        return ids[:n]

    return src, tok, lambda: four_bit(load(model, dequantize=False, dtype=dtype)[0]), prompt, TASK


def four_bit(model: nn.Module, group_size: int = 64, bits: int = 4) -> nn.Module:
    """``model`` as loaded if it is quantized, else quantized (4 bits, group size 64) where
    the input width allows (a float folder loaded packed is still float)."""
    if not any(isinstance(m, nn.QuantizedLinear) for _, m in model.named_modules()):
        fits = lambda _, m: hasattr(m, "to_quantized") and m.weight.shape[-1] % group_size == 0  # noqa: E731
        nn.quantize(model, group_size=group_size, bits=bits, class_predicate=fits)
        mx.eval(model.parameters())
    return model
