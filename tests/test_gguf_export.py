"""GGUF export: a slim model written as GGUF reads back (our importer) with the same logits."""

import json

import mlx_ifp
from mlx_ifp.convert import export_gguf
from mlx_ifp.core import Mask, fingerprint
from mlx_ifp.models import gguf as importer

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from mlx.utils import tree_flatten, tree_unflatten
from mlx_lm import load as mlx_lm_load
from mlx_lm.tokenizer_utils import TokenizerWrapper

gguf = pytest.importorskip("gguf")
TOKENS = mx.array([[1, 40, 7, 250, 99, 3, 17, 2, 5, 120, 64]])


def tiny(arch: str):
    from test_gguf import tokenizer_meta
    from tiny import tiny_model

    tied = arch == "qwen2"
    model = tiny_model(arch, intermediate_size=128, vocab_size=300, tie_word_embeddings=tied)
    return model, TokenizerWrapper(importer.build_tokenizer(tokenizer_meta(300), 512))


def random_mask(model, keep: float = 0.5, seed: int = 0) -> Mask:
    from mlx_ifp.core import ffn

    d, L = ffn.d_ffn(model), len(ffn.layers(model))
    rng = np.random.default_rng(seed)
    idx = np.stack([np.sort(rng.choice(d, int(d * keep), replace=False)) for _ in range(L)])
    return Mask(mx.array(idx, dtype=mx.int32), d, fingerprint(model), "random", "t")


def quantized_logits(slim, gguf_type: str, tokens: mx.array) -> mx.array:
    """``slim``'s logits with every matrix through gguf_type's quantizer, as llama.cpp has it."""
    if gguf_type == "f16":
        return slim(tokens)
    kind = getattr(gguf.GGMLQuantizationType, gguf_type.upper())
    old, new = tree_flatten(slim.parameters()), []
    for name, w in old:
        if w.ndim == 2:
            t = gguf.GGMLQuantizationType.Q8_0 if "embed" in name or "lm_head" in name else kind
            w = mx.array(gguf.quants.dequantize(gguf.quants.quantize(np.array(w), t), t))
        new.append((name, w))
    slim.update(tree_unflatten(new))  # the arrays are shared with the source: put them back
    try:
        return mx.eval(out := slim(tokens)) or out
    finally:
        slim.update(tree_unflatten(old))


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
@pytest.mark.parametrize("gguf_type", ["f16", "q8_0", "q4_0"])
def test_export_reimports_with_same_logits(tmp_path, arch, gguf_type):
    model, tok = tiny(arch)
    mask = random_mask(model)
    slim = mlx_ifp.prune(model, mask)
    path = export_gguf(slim, tok, tmp_path / "slim.gguf", gguf_type, mask=mask,
                       metadata={"mlx_ifp.note": "test"})  # fmt: skip
    meta = {k: f.contents() for k, f in gguf.GGUFReader(str(path)).fields.items()}
    assert meta[f"{arch}.feed_forward_length"] == 64
    assert meta["mlx_ifp.mask"] == mask.digest() and meta["mlx_ifp.keep"] == 0.5
    assert meta["mlx_ifp.note"] == "test" and meta["tokenizer.ggml.pre"] == "smollm"
    assert meta["mlx_ifp.mask_source"] == "random" and "mlx_ifp.source" not in meta  # no origin
    out = importer.gguf_to_mlx_lm(path, tmp_path / "out", dequantize=True)
    assert json.loads((out / "config.json").read_text())["intermediate_size"] == 64
    back, tok2 = mlx_lm_load(str(out))
    expected = quantized_logits(slim, gguf_type, TOKENS)
    got = back(TOKENS)
    tol = 1e-2 if gguf_type == "f16" else 1e-3  # f16: the file's rounding; else same quantizer
    assert mx.abs(got - expected).max().item() < tol * mx.abs(expected).max().item()
    text = "hello <|im_start|>user 123"
    assert tok2.encode(text) == tok.encode(text)
    assert tok2.chat_template == tok.chat_template and tok2.eos_token_id == tok.eos_token_id


def test_mlx_ifp_load_reads_export(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    model, tok = tiny("llama")
    path = export_gguf(model, tok, tmp_path / "dense.gguf", "f16")
    back, _ = mlx_ifp.load(str(path))
    assert mx.allclose(back(TOKENS), model(TOKENS), atol=5e-3).item()


def test_export_refuses_bad_type_and_arch(tmp_path):
    from mlx_ifp.common import UsageError

    model, tok = tiny("llama")
    with pytest.raises(UsageError, match="q8_0"):
        export_gguf(model, tok, tmp_path / "x.gguf", "q5_k")
    gemma, _ = tiny("llama")
    gemma.args.model_type = "gemma3_text"
    with pytest.raises(UsageError, match="llama, qwen2"):
        export_gguf(gemma, tok, tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()


@pytest.mark.real
@pytest.mark.parametrize("gguf_type", ["f16", "q8_0"])
def test_smollm2_slim_export_same_logits(tmp_path, gguf_type):
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    mask = random_mask(model, 0.5)
    slim = mlx_ifp.prune(model, mask)
    path = export_gguf(slim, tok, tmp_path / "slim.gguf", gguf_type, mask=mask)
    fields = gguf.GGUFReader(str(path)).fields
    assert fields["mlx_ifp.source"].contents() == "smollm2-135m-instruct"
    assert fields["llama.feed_forward_length"].contents() == 768
    back, tok2 = mlx_lm_load(str(importer.gguf_to_mlx_lm(path, tmp_path / "o", dequantize=True)))
    ids = mx.array([tok.encode("The capital of France is Paris. The capital of Italy is")])
    assert tok2.encode("The capital of France") == tok.encode("The capital of France")
    expected = quantized_logits(slim, gguf_type, ids)  # q8_0: the same quantizer's rounding
    p, q = (nn.log_softmax(x[0].astype(mx.float32), axis=-1) for x in (expected, back(ids)))
    kl = (mx.exp(p) * (p - q)).sum(-1).max().item()
    assert kl < 1e-3, kl
    assert (p.argmax(-1) == q.argmax(-1)).all().item()


@pytest.mark.parametrize("pre", ["smollm", "qwen2", "llama-bpe", "gpt-2"])
def test_pre_tokenizer_name_survives_roundtrip(pre):
    from mlx_ifp.convert.exporters import pre_tokenizer_name

    from test_gguf import tokenizer_meta

    meta = {**tokenizer_meta(300), "tokenizer.ggml.pre": pre}
    assert pre_tokenizer_name(importer.build_tokenizer(meta).backend_tokenizer) == pre


def test_a_gpt2_split_is_exported_under_the_name_llama_cpp_knows():
    """A plain byte-level split (read from a file of ours that named it "gpt2") is written as
    llama.cpp's "gpt-2": llama.cpp refuses a pre-tokenizer name it does not know."""
    from mlx_ifp.convert.exporters import pre_tokenizer_name

    from test_gguf import tokenizer_meta

    meta = {**tokenizer_meta(300), "tokenizer.ggml.pre": "gpt2"}
    assert pre_tokenizer_name(importer.build_tokenizer(meta).backend_tokenizer) == "gpt-2"
