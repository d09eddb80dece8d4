"""Tiny random mlx-lm models of several architectures, built from their ModelArgs."""

import importlib

import mlx.core as mx
import mlx.nn as nn

BASE = dict(
    hidden_size=64,
    num_hidden_layers=3,
    intermediate_size=96,
    num_attention_heads=4,
    num_key_value_heads=2,
    rms_norm_eps=1e-5,
    vocab_size=128,
)
ARCHS = {
    "llama": dict(model_type="llama", tie_word_embeddings=False),
    "mistral": dict(model_type="mistral", tie_word_embeddings=False),
    "qwen2": dict(model_type="qwen2", tie_word_embeddings=True),
    "qwen3": dict(
        model_type="qwen3",
        head_dim=16,
        tie_word_embeddings=True,
        max_position_embeddings=512,
        rope_theta=10000.0,
    ),
    "gemma3_text": dict(
        model_type="gemma3_text",
        head_dim=16,
        query_pre_attn_scalar=16,
        sliding_window=16,
        sliding_window_pattern=2,
    ),
}
MODULE = {"mistral": "llama"}


def tiny_model(arch: str = "llama", seed: int = 0, quantize: bool = False, **overrides):
    """A float32 random model of ``arch`` (optionally 4-bit quantized, group size 32)."""
    mod = importlib.import_module(f"mlx_lm.models.{MODULE.get(arch, arch)}")
    fields = mod.ModelArgs.__dataclass_fields__
    cfg = {k: v for k, v in {**BASE, **ARCHS[arch], **overrides}.items() if k in fields}
    mx.random.seed(seed)
    model = mod.Model(mod.ModelArgs(**cfg))
    # random init leaves norms at 1: perturb every parameter so masks matter
    params = nn.utils.tree_map(lambda p: p + 0.05 * mx.random.normal(p.shape), model.parameters())
    model.update(params)
    if quantize:
        nn.quantize(model, group_size=32, bits=4)
    mx.eval(model.parameters())
    model.eval()
    return model


def save_folder(model, folder, quantized: bool = False):
    """``model`` as an mlx-lm folder (config, safetensors, a word-level tokenizer) in ``folder``."""
    from pathlib import Path

    from mlx_ifp.bench.models import synthetic_tokenizer

    from mlx_lm.utils import save_config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = dict(nn.utils.tree_flatten(model.parameters()))
    mx.save_safetensors(str(folder / "model.safetensors"), weights, metadata={"format": "mlx"})
    cfg = {k: v for k, v in vars(model.args).items() if not k.startswith("_") and v is not None}
    if quantized:
        cfg["quantization"] = {"group_size": 32, "bits": 4, "mode": "affine"}
    save_config(cfg, config_path=folder / "config.json")
    synthetic_tokenizer(cfg["vocab_size"]).save_pretrained(str(folder))
    return folder
