"""Convert a GGUF file (llama, qwen2) into a standard mlx-lm model folder.

``gguf_decode.load`` reads GGUF: Q4_0/Q4_1/Q8_0 come back packed as MLX affine (weight, scales,
biases, group size 32) and stay packed; K-quants, Q5_* and IQ* are decoded by the ``gguf`` package
(see gguf_decode.py for how each is kept). The tokenizer is rebuilt from the metadata with
``tokenizers`` (the split each ``tokenizer.ggml.pre`` stands for: ``gguf_decode.pre_tokenizer``)
and saved the Hugging Face way. Tensor shapes are checked against the metadata before writing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import mlx.core as mx

from ..common import UsageError, atomic_dir, cache_dir, cache_lock, check_safetensors
from . import gguf_decode
from .gguf_decode import BOS_PRES, INSTALL_HINT, SPLIT_KINDS, SPLITS, header_values  # noqa: F401

FORMAT_VERSION = 1
MARKER = "mlx_ifp_gguf.json"  # written last, beside the weights: source, format, file sizes
SUPPORTED_ARCHS = ("llama", "qwen2")
QUANT_TYPES = (
    "F32, F16, BF16, Q4_0, Q4_1, Q8_0; with the gguf package also K-quants, Q5_*, IQ* and the "
    "rest it decodes"
)
GROUP_SIZE = 32

#: llama.cpp tensor names -> mlx-lm (Hugging Face) names, per layer and for the rest
LAYER_TENSORS = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}  # fmt: skip
TOP_TENSORS = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}

_TOKEN_IDS = {"unk": "unknown", "pad": "padding"} | {k: k for k in ("bos", "eos", "eot", "eom")}


def _hf_name(name: str) -> str:
    """llama.cpp tensor name (``blk.3.attn_q.scales``) -> mlx-lm name, or "" to drop it."""
    base, _, leaf = name.rpartition(".")
    m = re.fullmatch(r"blk\.(\d+)\.(\w+)", base)
    if m and m.group(2) in LAYER_TENSORS:
        return f"model.layers.{m.group(1)}.{LAYER_TENSORS[m.group(2)]}.{leaf}"
    if base in TOP_TENSORS:
        return f"{TOP_TENSORS[base]}.{leaf}"
    return ""


def _meta(meta: dict, key: str, default=None):
    value = meta.get(key, default)
    return value.item() if isinstance(value, mx.array) and value.ndim == 0 else value


def _token_id(meta: dict, key: str, count: int) -> int | None:
    """``tokenizer.ggml.<key>_token_id`` if it is one of ``count`` tokens' ids, else None."""
    tid = _meta(meta, f"tokenizer.ggml.{_TOKEN_IDS[key]}_token_id")
    return tid if tid is not None and 0 <= tid < count else None  # (-1: not the last one)


def unpermute(x: mx.array, heads: int) -> mx.array:
    """Undo llama.cpp's q/k row permutation (rows are outputs: works on packed tensors too)."""
    rows = x.shape[0]
    return x.reshape(heads, rows // heads // 2, 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)


def read_gguf(path: str | os.PathLike, progress=None) -> tuple[dict[str, mx.array], dict]:
    """``mx.load`` a GGUF file (missing or unreadable: a UsageError); ``progress(done, total)``
    is called per tensor the gguf package decodes (before and after one ``mx.load`` reads)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"GGUF file not found: {path}")
    try:
        return gguf_decode.load(path, progress)  # mx.load where it is right, else the gguf package
    except UsageError:
        raise
    except Exception as e:  # MLX raises plain exceptions for unsupported tensor types
        why = f"{path} ({str(e).strip().splitlines()[0]}); supported tensor types: {QUANT_TYPES}"
        raise UsageError(f"cannot read GGUF file {why}") from None


def _config(meta: dict, weights: dict, arch: str) -> dict:
    def get(key, default=None):  # (a per-layer array: its one value, as llama.cpp's llama)
        layers = _meta(meta, f"{arch}.block_count")
        return gguf_decode.one_value(_meta(meta, f"{arch}.{key}", default), f"{arch}.{key}", layers)

    hidden, heads = get("embedding_length"), get("attention.head_count")
    eps = get("attention.layer_norm_rms_epsilon")  # required, as llama.cpp has it
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not eps > 0:
        raise UsageError(f"{arch}.attention.layer_norm_rms_epsilon is missing or not > 0: {eps!r}")
    kv_heads = get("attention.head_count_kv", heads)
    tokens = meta.get("tokenizer.ggml.tokens") or []
    vocab = get("vocab_size") or len(tokens) or weights["token_embd.weight"].shape[0]
    config = {
        "model_type": arch,
        "architectures": ["LlamaForCausalLM" if arch == "llama" else "Qwen2ForCausalLM"],
        "hidden_size": hidden,
        "num_hidden_layers": get("block_count"),
        "intermediate_size": get("feed_forward_length"),
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": get("attention.key_length") or hidden // heads,
        "rms_norm_eps": float(f"{eps:.6g}"),
        "vocab_size": vocab,
        "rope_theta": float(f"{get('rope.freq_base', 10000.0):.6g}"),
        "rope_traditional": False,
        "max_position_embeddings": get("context_length", 4096),
        "tie_word_embeddings": "output.weight" not in weights,
    }
    needed = {"embedding_length": hidden, "attention.head_count": heads}
    needed.update({k: get(k) for k in ("block_count", "feed_forward_length")})
    for key, value in needed.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise UsageError(f"{arch}.{key} is missing or not a positive whole number: {value!r}")
    if arch == "qwen2":  # mlx-lm's qwen2 takes hidden / heads for the head size
        if config.pop("head_dim") != hidden // heads:
            why = f"not embedding_length / head_count = {hidden // heads}, as mlx-lm's qwen2 takes"
            raise UsageError(f"qwen2.attention.key_length {get('attention.key_length')} is {why}")
    else:  # llama's optional biases (llama.cpp reads them when the tensors are there)
        config["attention_bias"] = "blk.0.attn_q.bias" in weights
        config["mlp_bias"] = "blk.0.ffn_gate.bias" in weights
    # as llama.cpp: linear unless typed, the factor or convert.py's scale_linear, 0 scales nothing
    scaling = get("rope.scaling.type", "linear")
    factor = get("rope.scaling.factor", get("rope.scale_linear"))
    if scaling not in ("linear", "none"):
        raise UsageError(f"rope scaling '{scaling}' in GGUF files is not supported")
    if scaling == "linear" and factor:
        if isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 0:
            raise UsageError(f"{arch}.rope.scaling.factor is not a positive number: {factor!r}")
        config["rope_scaling"] = {"type": "linear", "factor": float(f"{factor:.6g}")}
    for key in ("bos", "eos", "pad"):
        if (tid := _token_id(meta, key, len(tokens))) is not None:
            config[f"{key}_token_id"] = tid
    ids = (_token_id(meta, key, len(tokens)) for key in ("eos", "eot", "eom"))  # llama.cpp's
    if len(stops := dict.fromkeys(t for t in ids if t is not None)) > 1:  # stops: end of turn
        config["eos_token_id"] = list(stops)  # mlx-lm stops on each (Llama 3's <|eot_id|>)
    own = {k[8:]: _meta(meta, k) for k in meta if k.startswith("mlx_ifp.")}  # an export's record
    own = {k: v for k, v in own.items() if isinstance(v, str | int | float | bool)}
    return config | ({"mlx_ifp": own} if own else {})  # (config.json's "mlx_ifp" entry)


def _check_shapes(config: dict, weights: dict, arch: str, kv_key: bool) -> None:
    """Each tensor's shape is what the metadata says (as llama.cpp checks), else a UsageError."""
    keys = ("hidden_size", "vocab_size", "intermediate_size", "num_attention_heads")
    hidden, vocab, ffn, heads = (config[k] for k in keys)
    kv, dim = config["num_key_value_heads"], config.get("head_dim") or hidden // heads
    qs = f"{arch}.attention.head_count {heads} x head size {dim}"
    kvs = f"{arch}.attention.head_count_kv {kv}{'' if kv_key else ' (missing: head_count)'}"
    kvs, fs = f"{kvs} x head size {dim}", f"{arch}.feed_forward_length {ffn}"
    want = dict.fromkeys(("token_embd", "output"), (vocab, hidden, f"{vocab} tokens"))
    for i in range(config["num_hidden_layers"]):
        want |= {f"blk.{i}.{k}": v for k, v in {
            "attn_q": (heads * dim, hidden, qs), "attn_k": (kv * dim, hidden, kvs),
            "attn_v": (kv * dim, hidden, kvs), "attn_output": (hidden, heads * dim, qs),
            "ffn_gate": (ffn, hidden, fs), "ffn_up": (ffn, hidden, fs),
            "ffn_down": (hidden, ffn, fs),
        }.items()}  # fmt: skip
    for stem, (*shape, why) in want.items():
        if (x := weights.get(f"{stem}.weight")) is None:
            if stem != "output":  # (tied)
                raise UsageError(f"tensor {stem}.weight is missing")
            continue
        scales = weights.get(f"{stem}.scales")  # packed: 32 values a scale
        got = [x.shape[0], x.shape[-1] if scales is None else scales.shape[-1] * GROUP_SIZE]
        if x.ndim != 2 or got != shape:
            raise UsageError(f"tensor {stem}.weight is {got}, the metadata says {shape} ({why})")


def _convert_weights(
    weights: dict[str, mx.array], config: dict, dequantize: bool
) -> tuple[dict[str, mx.array], dict | None]:
    """Rename, undo the q/k permutation (llama) and pick dtypes; returns (weights, quant)."""
    permute = config["model_type"] == "llama"
    heads = {"attn_q": config["num_attention_heads"], "attn_k": config["num_key_value_heads"]}
    out, bits = {}, {}
    for name, x in weights.items():
        new = _hf_name(name)
        if not new:
            if name == "rope_freqs.weight":
                raise UsageError("llama3-style rope scaling (rope_freqs) is not supported")
            continue
        kind = name.split(".")[-2]
        if permute and kind in heads and name.endswith((".weight", ".bias", ".scales", ".biases")):
            x = unpermute(x, heads[kind])
        if name.endswith(".scales") or name.endswith(".biases"):
            x = x.astype(mx.float32)  # lossless; fp16 scales are far slower on CPU
        elif x.dtype == mx.uint32 and f"{name[:-7]}.scales" in weights:
            in_dims = weights[f"{name[:-7]}.scales"].shape[-1] * GROUP_SIZE
            bits[new[:-7]] = x.shape[-1] * 32 // in_dims
        elif dequantize:
            x = x.astype(mx.float32)
        out[new] = x
    if dequantize:
        for path, b in bits.items():
            w, s, z = (out.pop(f"{path}.{k}") for k in ("weight", "scales", "biases"))
            out[f"{path}.weight"] = mx.dequantize(w, s, z, group_size=GROUP_SIZE, bits=b)
        return out, None
    if not bits:
        return out, None
    common = Counter(bits.values()).most_common(1)[0][0]
    quant = {"group_size": GROUP_SIZE, "bits": common, "mode": "affine"}
    for path, b in sorted(bits.items()):
        if b != common:
            quant[path] = {"group_size": GROUP_SIZE, "bits": b, "mode": "affine"}
    return out, quant


def check_tokenizer(meta: dict, file: str = "GGUF") -> None:
    """A UsageError unless the tokenizer is byte-level BPE split as llama.cpp splits it."""
    if (kind := _meta(meta, "tokenizer.ggml.model")) != "gpt2":  # "llama": SentencePiece
        raise UsageError(f"{file} tokenizer model '{kind}' is not supported (only gpt2 BPE)")
    if isinstance(pre := _meta(meta, "tokenizer.ggml.pre"), str) and pre:  # (none: a warning)
        gguf_decode.pre_tokenizer(pre)


def build_tokenizer(meta: dict, model_max_length: int | None = None):
    """A ``PreTrainedTokenizerFast`` from ``tokenizer.ggml.*`` metadata (byte-level BPE)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    check_tokenizer(meta)
    tokens = list(meta["tokenizer.ggml.tokens"])
    merges = [tuple(m.split(" ", 1)) for m in meta.get("tokenizer.ggml.merges") or []]
    pre = _meta(meta, "tokenizer.ggml.pre", "")
    add_bos = _meta(meta, "tokenizer.ggml.add_bos_token", pre in BOS_PRES)
    add_eos = _meta(meta, "tokenizer.ggml.add_eos_token", False)
    flags = (("pre", pre, str), ("add_bos_token", add_bos, bool), ("add_eos_token", add_eos, bool))
    for key, value, kind in flags:
        if not isinstance(value, kind):  # (an int pre read as no name, "no" as yes)
            raise UsageError(f"tokenizer.ggml.{key} is not {kind.__name__}: {value!r:.40}")
    split, clean = gguf_decode.pre_tokenizer(pre)
    try:  # tokenizers raises a bare Exception for merges of tokens the list lacks
        vocab = {t: i for i, t in enumerate(tokens)}
        bpe = models.BPE(vocab=vocab, merges=merges, ignore_merges=pre in BOS_PRES)
    except Exception as e:
        raise UsageError(f"tokenizer.ggml.merges do not fit the token list ({e})") from None
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = split
    tok.decoder = decoders.ByteLevel()

    types = meta.get("tokenizer.ggml.token_type")
    types = types.tolist() if types is not None else [1] * len(tokens)
    for t, k in zip(tokens, types, strict=True):  # 3: control (special), 4: user-defined
        if k in (3, 4):
            tok.add_tokens([AddedToken(t, special=k == 3, normalized=False)])

    def token(key):
        return None if (tid := _token_id(meta, key, len(tokens))) is None else tokens[tid]

    bos, eos = (token(k) if add else None for k, add in (("bos", add_bos), ("eos", add_eos)))
    if bos or eos:  # what llama.cpp adds when it encodes with special tokens
        one = " ".join(t for t in (bos, "$A", eos) if t)
        tok.post_processor = processors.TemplateProcessing(
            single=one,
            pair=f"{one} {one.replace('$A', '$B')}",
            special_tokens=[(t, tokens.index(t)) for t in dict.fromkeys((bos, eos)) if t],
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    kwargs = {f"{k}_token": token(k) for k in ("bos", "eos", "unk", "pad") if token(k)}
    kwargs |= {"model_max_length": model_max_length} if model_max_length else {}
    template = meta.get("tokenizer.chat_template")
    if template is not None and not isinstance(template, str):
        raise UsageError(f"tokenizer.chat_template is not text: {template!r}")
    kwargs |= {"chat_template": template} if template else {}
    # clean: drop the " " before , . ! ? 's 'm 're 've where llama.cpp does (transformers 5: forced)
    force = "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"
    kwargs |= {"clean_up_tokenization_spaces": clean, **({force: True} if clean else {})}
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)


def gguf_to_mlx_lm(
    gguf_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    dequantize: bool = False,
    progress=None,
    source_id: str | None = None,
) -> Path:
    """Write ``gguf_path`` as an mlx-lm folder at ``out_dir`` (atomically); returns ``out_dir``.
    Packed types stay packed (float32 scales) unless ``dequantize`` (float32 weights); progress:
    see :func:`read_gguf`; ``source_id`` (what it was made from: :func:`is_converted`)."""
    try:  # checked before the tensors are read (minutes for a K-quant file)
        head = gguf_decode.header_values(gguf_path)
    except (OSError, ValueError):  # what is wrong with the file: read_gguf says it
        read_gguf(gguf_path)
        raise
    if not isinstance(parts := head.get("split.count", 1), int) or parts > 1:  # a part
        why = f"is one of the {parts} parts of a split GGUF: join them into one file first"
        raise UsageError(f"{gguf_path} {why} (llama-gguf-split --merge FIRST-PART JOINED.gguf)")
    if (arch := head.get("general.architecture")) not in SUPPORTED_ARCHS:
        why = f"architecture '{arch}' is not supported (supported: {', '.join(SUPPORTED_ARCHS)})"
        raise UsageError(f"{gguf_path}: {why}")
    if experts := head.get(f"{arch}.expert_count"):  # Mixtral is "llama" with experts
        why = f"mixture-of-experts models ({experts} experts) are not supported"
        raise UsageError(f"{gguf_path}: {why}")
    hidden, heads = head.get(f"{arch}.embedding_length"), head.get(f"{arch}.attention.head_count")
    rope = head.get(f"{arch}.rope.dimension_count")  # llama.cpp's n_rot: how much of a head
    if rope is not None and type(hidden) is type(heads) is int and heads > 0:  # (not per layer)
        size = head.get(f"{arch}.attention.key_length") or hidden // heads
        if rope != size:  # mlx-lm ropes the whole head: a silently different model
            what = f"{arch}.rope.dimension_count {rope} is not the head size {size}"
            why = "rope over part of each head is not supported (mlx-lm ropes the whole head)"
            raise UsageError(f"{gguf_path}: {what}: {why}")
    check_tokenizer(head, f"{gguf_path}: GGUF")  # too (SentencePiece: Llama 2, Mistral files)
    weights, meta = read_gguf(gguf_path, progress)
    try:  # a hand-made or damaged file: missing keys, wrong types, shapes that do not fit
        config = _config(meta, weights, arch)
        _check_shapes(config, weights, arch, f"{arch}.attention.head_count_kv" in meta)
        tokenizer = build_tokenizer(meta, config["max_position_embeddings"])
        out, quant = _convert_weights(weights, config, dequantize)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError, AttributeError) as e:
        said = str(e) if isinstance(e, UsageError) else f"{type(e).__name__}: {e}"
        raise UsageError(f"{gguf_path}: cannot convert ({said})") from None
    if quant:
        config["quantization"] = config["quantization_config"] = quant
    with atomic_dir(out_dir := Path(out_dir)) as tmp:
        mx.save_safetensors(str(tmp / "model.safetensors"), out, metadata={"format": "mlx"})
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        tokenizer.save_pretrained(str(tmp))
        sizes = {f.name: f.stat().st_size for f in sorted(tmp.iterdir()) if f.is_file()}
        marker = {"source": str(Path(gguf_path).resolve()), "dequantize": dequantize}
        marker |= {"format_version": FORMAT_VERSION, "source_id": source_id, "sizes": sizes}
        (tmp / MARKER).write_text(json.dumps(marker) + "\n")
    return out_dir


def read_marker(folder: str | os.PathLike) -> dict:
    """A conversion's marker (source, dequantize, source_id, format, file sizes), or {}."""
    try:
        found = json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def is_converted(folder: str | os.PathLike, source_id: str | None = None) -> bool:
    """True if ``folder`` holds a complete conversion (current format; ``source_id``'s if given):
    each file the marker lists has its recorded size, the weights' header fits the file (a cut or
    half-copied file: convert again, never load it; older markers list no sizes)."""
    folder, found = Path(folder), read_marker(folder)
    stale = source_id is not None and found.get("source_id") != source_id  # another file's
    if found.get("format_version") != FORMAT_VERSION or stale:
        return False
    try:
        sizes = found.get("sizes") or {}
        if any((folder / name).stat().st_size != size for name, size in sizes.items()):
            return False
        check_safetensors(folder / "model.safetensors", "converted weights")
    except (OSError, ValueError, AttributeError):  # UsageError is a ValueError
        return False
    return (folder / "config.json").is_file()


def sweep_conversions(folder: Path, source: Path, dequantize: bool) -> None:
    """Delete the conversions beside ``folder`` (``source``'s) that no key reaches (gigabytes
    each): those whose GGUF file is gone, and former ones of ``source`` (an older key)."""
    for entry in folder.parent.iterdir():
        was = read_marker(entry) if entry != folder else {}
        same = [was.get("source"), was.get("dequantize")] == [str(source), dequantize]
        if isinstance(was.get("source"), str) and (same or not os.path.exists(was["source"])):
            shutil.rmtree(entry, ignore_errors=True)  # (no key names it: nothing reads it)
            entry.with_name(f".{entry.name}.lock").unlink(missing_ok=True)


def cached_gguf_folder(gguf_path: str | os.PathLike, dequantize: bool = False) -> Path:
    """Convert ``gguf_path`` once into ``cache_dir("gguf", key)``; later calls reuse it."""
    path = Path(gguf_path).resolve()
    if not path.is_file():
        raise UsageError(f"GGUF file not found: {gguf_path}")
    st, mib = path.stat(), 1 << 20
    with open(path, "rb") as f:
        head = f.read(mib)
        if head[:4] != b"GGUF":  # before anything is made in the cache
            raise UsageError(f"{gguf_path} is not a GGUF file (bad magic; a renamed file?)")
        f.seek(max(len(head), st.st_size - mib))
        # first and last MiB: a file replaced keeping size and mtime (cp -p) is another file
        sample = hashlib.sha256(head + f.read()).hexdigest()[:16]
    state = f"{st.st_size}|{st.st_mtime_ns}|{sample}"  # changed: converted again, same folder
    digest = hashlib.sha256(f"{path}|{dequantize}".encode()).hexdigest()[:16]
    # the stem only names it for people: cut, so a long legal file name makes a legal folder
    folder = cache_dir("gguf") / f"{path.stem[:80]}-{'f32' if dequantize else 'q'}-{digest}"
    if not is_converted(folder, state):  # a second conversion at once waits, then reads it
        with cache_lock(folder, f"process preparing {path.name}"):
            if not is_converted(folder, state):
                gguf_to_mlx_lm(path, folder, dequantize, source_id=state)
                sweep_conversions(folder, path, dequantize)
    return folder


__all__ = ["build_tokenizer", "cached_gguf_folder", "gguf_to_mlx_lm", "is_converted", "read_gguf"]
