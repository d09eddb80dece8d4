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


def endless_tokenizer(vocab: int = 128):
    """The synthetic tokenizer (words t0 .. t{vocab-1}) with no end token: every generation
    runs its whole max_tokens."""
    from mlx_ifp.bench.models import synthetic_tokenizer

    tok = synthetic_tokenizer(vocab)
    tok._eos_token_ids = set()
    return tok


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


def bpe_folder(folder):
    """A tiny llama (vocabulary 300) saved in ``folder`` with a byte-level BPE tokenizer, the
    kind GGUF export takes (``save_folder``'s word-level one it does not)."""
    from mlx_ifp.models import gguf as importer

    from test_gguf import tokenizer_meta

    folder = save_folder(tiny_model("llama", vocab_size=300), folder)
    importer.build_tokenizer(tokenizer_meta(300), 512).save_pretrained(str(folder))
    return folder


def predictor_world(root, k: int = 48):
    """A tiny llama folder under ``root``, the model loaded from it (bare), its tokenizer, and a
    predictor + LoRA folder for it at budget ``k`` (``finetune_folder``)."""
    import mlx_ifp

    folder = save_folder(tiny_model("llama"), root / "model")
    model, tok = mlx_ifp.load(str(folder))
    return folder, model, tok, finetune_folder(model, root / "adapter", k)


def world_mask(world):
    """The mask the ``predictor_world`` predictor picks for one prompt, on its LoRA'd model."""
    import mlx_ifp

    folder, _, tok, adapter = world
    lora, _ = mlx_ifp.load(str(folder), adapter_path=str(adapter))
    _, info = mlx_ifp.select(lora, tok, "t5 t6 t7", mask_source="predictor")
    return info.mask


def finetune_folder(model, folder, k: int, train: str = "lora", seed: int = 7):
    """What ``finetune`` writes, built directly: a predictor for ``model`` at budget ``k`` plus,
    for ``train`` = "lora" or "full", ``adapters.safetensors`` + ``adapter_config.json`` whose
    weights really change the LLM. ``model`` is left as it was."""
    import copy
    import json
    from pathlib import Path

    from mlx_ifp.sources.predictor import (
        PredictorConfig,
        new_predictor,
        save_predictor,
        update_config,
    )

    from mlx_lm.tuner.utils import linear_to_lora_layers

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pred = new_predictor(model, PredictorConfig(layers=1, rank=8))
    pred.out.weight = 0.5 * mx.random.normal(pred.out.weight.shape, key=mx.random.key(seed))
    save_predictor(pred, folder)
    update_config(folder, k=k, train=train)  # as finetune records it
    if train == "frozen":
        return folder
    mx.random.seed(seed)
    if train == "lora":
        lora = dict(rank=4, scale=10.0, dropout=0.0)
        twin = tiny_model(model.model_type, seed=0)  # the same modules, to collect LoRA leaves
        twin.freeze()
        linear_to_lora_layers(twin, 2, lora)
        if seed != 7:  # tiny_model reseeds: ``seed`` was ignored (the default's weights kept)
            mx.random.seed(seed)
        weights = {
            n: 0.3 * mx.random.normal(v.shape)
            for n, v in nn.utils.tree_flatten(twin.trainable_parameters())
        }
        cfg = {"fine_tune_type": "lora", "num_layers": 2, "lora_parameters": lora}
    else:
        weights = {
            n: v + 0.05 * mx.random.normal(v.shape)
            for n, v in nn.utils.tree_flatten(copy.copy(model).parameters())
            if "layers.2.mlp." in n  # not the norms: the source's fingerprint stays
        }
        cfg = {"fine_tune_type": "full", "num_layers": 3, "lora_parameters": {}}
    mx.save_safetensors(str(folder / "adapters.safetensors"), weights)
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    return folder
