"""A (slim) model as a GGUF file for llama.cpp (``export_gguf``: llama, qwen2; their names, q/k
permutation, gpt2 BPE tokenizer, ``general.*`` and ``mlx_ifp.*`` keys), and ``provenance``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from huggingface_hub import metadata_load, try_to_load_from_cache

from ..core import (
    Mask,
    Progress,
    UsageError,
    atomic_file,
    check_writable,
    d_ffn,
    fused_lora,
    not_an_input,
    origin,
    sha256_file,
)
from ..models.gguf import (
    INSTALL_HINT,
    LAYER_TENSORS,
    MARKER,
    SPLIT_KINDS,
    SPLITS,
    TOP_TENSORS,
    header_values,
)


def provenance(model: nn.Module, mask=None, task: str | None = None) -> dict:
    """Which source model, mask and budget a (slim) model came from, recorded by every export
    (``mask``: the one it was pruned with, or None: a slim model's own, an export cut no further
    keeps its record; ``task``: what it was picked for); no local path, shared: ``local_name``."""
    info = origin(model, required=False)
    mask = info.get("pruned_by") if mask is None else mask  # a slim model made here: its own
    if mask is not None and not isinstance(mask, Mask):
        raise UsageError(f"mask must be the mlx_ifp.Mask it was pruned with, got {mask!r:.60}")
    if mask is not None and mask.k != (width := d_ffn(model)):
        raise UsageError(f"mask keeps {mask.k} FFN channels per layer, the model has {width}")
    if (own := info.get("pruned_by")) is not None and own.digest() != mask.digest():  # would lie
        raise UsageError("mask is not the mask this model was pruned with: leave it out")
    if task is not None and not isinstance(task, str):
        raise UsageError(f"task must be the task's description (a str), got {task!r:.60}")
    out = {"source": str(info.get("model", "")), "fingerprint": info.get("fingerprint", {})}
    earlier = (info.get("config") or {}).get("mlx_ifp")  # an export exported again, cut no
    if isinstance(earlier, dict) and "mask" in earlier and (mask is None or mask.k >= mask.d_ffn):
        out, mask = {**earlier}, None  # further: its own record (what export_note reads)
    if mask is not None:
        out.update(mask=mask.digest(), mask_source=mask.source, k=mask.k, keep=mask.keep)
        out.update(d_ffn=mask.d_ffn, text_hash=mask.text_hash)
        out.update({"task": task} if task and task.strip() else {})
    adapter = info.get("adapter_path") or out.get("adapter")  # (an older export's: a path)
    if isinstance(adapter, str) and (info.get("adapter_path") or Path(adapter).is_absolute()):
        weights = Path(adapter).expanduser() / "adapters.safetensors"  # its LoRA (or full
        sha = sha256_file(weights)[:16] if weights.is_file() else None  # weights): written
        out.update(adapter=local_name(adapter), adapter_sha256=sha)
    name, _, within = str(out.get("mask_source", "")).partition("(")  # predictor(FOLDER)
    out.update({"mask_source": f"{name}({local_name(within[:-1])})"} if within else {})
    out["source"] = local_name(str(out.get("source") or ""))
    return {k: v for k, v in out.items() if v is not None}


def local_name(name: str) -> str:
    """A local path (``/a/r1``, ``./r1``, ``~/r1``, ``r1``) as ``r1``, else as is (a repo id)."""
    path, local = Path(name).expanduser(), name.startswith((".", "~", "/"))
    return path.resolve().name if name and (local or path.exists()) else name


#: model-card front matter -> the GGUF key llama.cpp's convert_hf_to_gguf.py writes it to
CARD_KEYS = {"license": "general.license", "language": "general.languages", "tags": "general.tags"}
CARD_KEYS |= {f"license_{k}": f"general.license.{k}" for k in ("name", "link")}
HUB = "https://huggingface.co/"
#: a GGUF source's general.* keys not carried: the writer's own, and the size pruning changes
OWN_KEYS = ("architecture", "alignment", "file_type", "quantization_version", "size_label", "type")


def source_metadata(model: nn.Module) -> tuple[dict, dict]:
    """What the source says about itself, carried into an export: (model-card front matter:
    license, language, tags, base_model; GGUF ``general.*`` keys). A GGUF's own general keys (of
    the file its conversion names), else the source folder's README.md front matter (as
    convert_hf_to_gguf.py reads it), config.json's license, a repo id as base model (as mlx-lm)."""
    import yaml

    info = source_info(model)
    folder = Path(path := str(info.get("path") or "")).expanduser()
    try:  # a conversion of a GGUF file: its marker names the file
        source = json.loads((folder / MARKER).read_text())["source"] if path else ""
        general = {k: v for k, v in header_values(source).items() if k.startswith("general.")}
    except (OSError, ValueError, KeyError, TypeError):
        general = {}
    general = {k: v for k, v in general.items() if k[8:] not in OWN_KEYS}
    if isinstance(known := info.get("license"), str):  # an embedded model's: its GGUF may lack it
        general.setdefault("general.license", known)
    if general:
        card = {k: general[g] for k, g in CARD_KEYS.items() if g in general}
        urls = [v for k, v in general.items() if "base_model." in k and k.endswith(".repo_url")]
        bases = [u[len(HUB) :] for u in urls if isinstance(u, str) and u.startswith(HUB)]
        return _card_values({**card, "base_model": bases}), general
    hub = bool(path) and not folder.is_dir() and path.count("/") == 1  # a repo id
    try:  # the README's front matter (a repo's: in its snapshot; mlx-lm fetches none)
        front = metadata_load(local / "README.md") if (local := source_folder(model)) else {}
    except (OSError, ValueError, yaml.YAMLError):
        front = {}
    card = {k: v for k, v in (front or {}).items() if k in (*CARD_KEYS, "base_model")}
    if isinstance(named := (info.get("config") or {}).get("license"), str):
        card.setdefault("license", named)
    card = _card_values({**card, **({"base_model": path} if hub else {})})
    general = {CARD_KEYS[k]: v for k, v in card.items() if k in CARD_KEYS}
    for i, name in enumerate(bases := card.get("base_model", [])):  # as convert_hf_to_gguf.py
        org, _, base = name.rpartition("/")
        entry = {"name": base, "organization": org, "repo_url": HUB + name}
        general |= {f"general.base_model.{i}.{k}": v for k, v in entry.items() if v}
    return card, general | ({"general.base_model.count": len(bases)} if bases else {})


def _card_values(card: dict) -> dict:
    """Front matter kept as text: a license (several joined by commas, as gguf-py does), else
    lists of names (language, tags, base_model); anything else is dropped."""
    out = {}
    for key, value in card.items():
        value = [value] if isinstance(value, str) else value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out[key] = ",".join(value) if key.startswith("license") else value
    return out


def source_folder(model: nn.Module) -> Path | None:
    """The folder the source model was read from: its own, or for a Hugging Face repo id the
    snapshot of the revision loaded in the hub cache, found offline (None: none there)."""
    info = source_info(model)
    if (path := str(info.get("path") or "")) and (folder := Path(path).expanduser()).is_dir():
        return folder
    try:  # (a repo id: mlx-lm read its config.json from the snapshot)
        found = try_to_load_from_cache(path, "config.json", revision=info.get("revision"))
    except ValueError:  # not a repo id
        return None
    return Path(found).parent if isinstance(found, str) else None


def _output(path, model: nn.Module) -> Path:
    """``path`` as opened: a path, not an input (the source model's file: ``not_an_input``)."""
    if not isinstance(path, str | os.PathLike) or not str(path).strip():  # (pathlib's TypeError)
        raise UsageError(f"the output must be a .gguf file path, got {path!r:.60}")
    info, path = source_info(model), Path(path).expanduser()
    not_an_input(str(path), info.get("model"), info.get("path"), what="source model")
    return path


GGUF_TYPES, ARCHS = ("f16", "q8_0", "q4_0"), ("llama", "qwen2")
BPE_ONLY = "GGUF export supports byte-level BPE (gpt2) tokenizers only"
_TO_GGUF = {v: k for k, v in {**LAYER_TENSORS, **TOP_TENSORS}.items()}


def source_info(model: nn.Module) -> dict:
    """Where ``model`` came from, as ``mlx_ifp.load`` recorded it ({} if it was not loaded so)."""
    return origin(model, required=False)


def _config(model: nn.Module) -> dict:
    """The source config (falling back on the model's args), with the model's own FFN width."""
    width, args = d_ffn(model), getattr(model, "args", object())  # (not a model: d_ffn's line)
    return {**vars(args), **(source_info(model).get("config") or {}), "intermediate_size": width}


def float_weights(model: nn.Module) -> dict[str, mx.array]:
    """mlx-lm name -> float32 (out, in) array, dequantizing whatever is packed."""
    out, fused = {}, fused_lora(model, dequantize=True)
    inside = tuple(f"{name}." for name in fused)
    for name, m in model.named_modules():
        if name.startswith(inside):
            continue  # inside a LoRA layer: written fused, under the layer's own name
        m = fused.get(name, m)
        if hasattr(m, "dequantized"):  # ChannelQuantizedLinear
            w = m.dequantized()
        elif isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            w = mx.dequantize(m.weight, m.scales, m.get("biases"), m.group_size, m.bits, m.mode)
        elif isinstance(m, (nn.Linear, nn.Embedding, nn.RMSNorm)):
            w = m.weight
        else:
            continue
        out[f"{name}.weight"] = w.astype(mx.float32)
        out.update({f"{name}.bias": m.bias.astype(mx.float32)} if "bias" in m else {})
    return out


def _gguf_name(name: str) -> str:
    """mlx-lm name -> llama.cpp name (``model.layers.3.self_attn.q_proj.weight``: blk.3.attn_q)."""
    base, _, leaf = name.rpartition(".")
    if base.startswith("model.layers."):
        _, _, i, rest = base.split(".", 3)
        return f"blk.{i}.{_TO_GGUF[rest]}.{leaf}"
    if base not in _TO_GGUF:
        raise UsageError(f"cannot export weight {name} to GGUF (unknown name)")
    return f"{_TO_GGUF[base]}.{leaf}"


def pre_tokenizer_name(backend) -> str:
    """llama.cpp's ``tokenizer.ggml.pre`` name for a Hugging Face byte-level pre-tokenizer."""
    pre = json.loads(backend.to_str()).get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre])
    kinds = [p.get("type") for p in parts]
    if kinds[:1] == ["Digits"] and parts[0].get("individual_digits"):
        return "smollm"
    regexes = tuple(r for p in parts if (r := (p.get("pattern") or {}).get("Regex")))  # Splits'
    for name, split in [*SPLIT_KINDS.items(), *SPLITS.items()]:  # each in turn (falcon's), or one
        if regexes == split or split in regexes:
            return {"llama3": "llama-bpe"}.get(name, name)
    return "gpt-2" if kinds == ["ByteLevel"] else "default"  # llama.cpp knows no "gpt2"


def byte_level_bpe(spec: dict) -> bool:
    """Whether a tokenizer.json is a byte-level BPE (gpt2's), as llama.cpp's gpt2 model reads
    it; Llama 2 / Mistral's (byte fallback, ``▁`` for spaces) is not, nor a word-level one."""
    parts = [spec.get("pre_tokenizer") or {}, spec.get("decoder") or {}]
    kinds = [p.get("type") for x in parts for p in x.get("pretokenizers", x.get("decoders", [x]))]
    model = spec.get("model") or {}
    return model.get("type") == "BPE" and "ByteLevel" in kinds and not model.get("byte_fallback")


def unsupported(config: dict) -> str | None:
    """Why ``export_gguf`` cannot write a model of ``config`` (its config.json), or None."""
    kind = (scaling := config.get("rope_scaling") or {}).get("type") or scaling.get("rope_type")
    if (arch := config.get("model_type")) not in ARCHS:
        return f"GGUF export supports {', '.join(ARCHS)} models, not '{arch}'"
    if config.get("rope_traditional"):
        return "GGUF export of a model with traditional RoPE is not supported"
    linear = kind in (None, "default", "linear")
    return None if linear else f"GGUF export of rope scaling '{kind}' is not supported"


def _tokenizer(w, tokenizer, n_vocab: int, eos=None) -> None:
    import gguf

    hf, backend = tokenizer, getattr(tokenizer, "backend_tokenizer", None)  # a wrapper's: passed
    if backend is None or not byte_level_bpe(spec := json.loads(backend.to_str())):  # (None: slow)
        raise UsageError(BPE_ONLY + f", got {type(tokenizer).__name__}" * (backend is None))
    tokens = [f"[PAD{i}]" for i in range(n_vocab)]
    types = [gguf.TokenType.UNUSED] * n_vocab
    added = {t.content: t for t in backend.get_added_tokens_decoder().values()}
    for tok, i in hf.get_vocab().items():
        if i < n_vocab:
            tokens[i] = tok
            special = tok in added and added[tok].special
            kind = "CONTROL" if special else "USER_DEFINED" if tok in added else "NORMAL"
            types[i] = gguf.TokenType[kind]
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"].get("merges", [])]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre_tokenizer_name(backend))
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    ids = {k: getattr(hf, f"{k}_token_id", None) for k in ("bos", "eos", "unk", "pad")}
    alt = [e] if type(e := getattr(hf, "eos_token_ids", ())) is int else e or ()  # id, set, None
    stops = [*(eos if isinstance(eos, list) else [eos]), *sorted(t for t in alt if type(t) is int)]
    more = [t for t in dict.fromkeys(stops) if type(t) is int and 0 <= t < n_vocab]  # stops as
    ids.update(zip(("eot", "eom"), [t for t in more if t != ids["eos"]], strict=False))  # eot, eom
    for key, tid in ((k, t) for k, t in ids.items() if t is not None):
        getattr(w, f"add_{key}_token_id")(int(tid))
    w.add_add_bos_token(ids["bos"] is not None and hf.encode("a")[:1] == [ids["bos"]])
    template = getattr(hf, "chat_template", None)
    if isinstance(template, dict):  # named templates: "default" is tokenizer.chat_template
        template = [{"name": k, "template": v} for k, v in template.items() if isinstance(v, str)]
    if template:
        w.add_chat_template(template)


def _quantized(name: str, x: np.ndarray, gguf_type: str):
    """(data, raw GGML type or None): norms and biases F32, matrices ``gguf_type`` where it fits."""
    import gguf

    if x.ndim < 2:
        return x.astype(np.float32), None
    kind = {"q8_0": gguf.GGMLQuantizationType.Q8_0, "q4_0": gguf.GGMLQuantizationType.Q4_0}
    if gguf_type == "q4_0" and name.startswith(("token_embd", "output.")):
        gguf_type = "q8_0"  # as llama.cpp's own quantizer does, keep the vocab matrices finer
    if gguf_type == "f16" or x.shape[-1] % 32:
        return x.astype(np.float16), None
    return gguf.quants.quantize(x, kind[gguf_type]), kind[gguf_type]


def export_gguf(
    model: nn.Module,
    tokenizer,
    path: str | os.PathLike,
    gguf_type: str = "f16",
    metadata: dict | None = None,
    mask=None,
    progress: bool = False,
    task: str | None = None,
) -> Path:
    """Write ``model`` (e.g. a slim model from ``prune``) with ``tokenizer`` to ``path`` (.gguf).

    ``gguf_type``: f16, q8_0 or q4_0 for the matrices (norms F32; rows not a multiple of 32:
    F16). ``mask`` (a ``Mask``) fills ``mlx_ifp.mask`` (its digest), ``mlx_ifp.keep`` etc.
    (``task``: ``mlx_ifp.task``); the source's ``general.*`` keys (a GGUF's, or a folder's README
    license, base model...) are kept; ``metadata`` adds or overrides scalar keys (str, int, float,
    bool). Written to a temporary file first (a failure leaves nothing); ``progress``: stderr."""
    try:
        import gguf
    except ImportError:
        raise UsageError(f"GGUF export needs the gguf package: {INSTALL_HINT}") from None
    if not isinstance(gguf_type, str) or gguf_type.lower() not in GGUF_TYPES:  # Q8_0 too
        raise UsageError(f"gguf_type must be one of {', '.join(GGUF_TYPES)}, got {gguf_type!r}")
    gguf_type, path = gguf_type.lower(), _output(path, model)
    check_writable(path, magic=b"GGUF")  # an earlier GGUF is replaced; another file is not
    config = _config(model)
    if why := unsupported(config):  # (the CLI asks before the load)
        raise UsageError(why)
    arch, hidden, heads = config["model_type"], config["hidden_size"], config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    weights = float_weights(model)  # lazy arrays: computed one at a time, below
    n_vocab = weights["model.embed_tokens.weight"].shape[0]
    if config.get("tie_word_embeddings", False):
        weights.pop("lm_head.weight", None)
    if not isinstance(metadata or {}, dict):  # a list was a TypeError traceback
        raise UsageError(f"metadata must map GGUF keys to values, got {type(metadata).__name__}")
    source = local_name(str(source_info(model).get("model") or ""))  # the mlx_ifp.* keys: as
    skip = ("fingerprint",) if source else ("fingerprint", "source")  # config.json's entry
    meta = {f"mlx_ifp.{k}": v for k, v in provenance(model, mask, task).items() if k not in skip}
    general = {"general.name": source or arch, **source_metadata(model)[1]}  # a GGUF's name
    with atomic_file(path) as tmp:
        w = gguf.GGUFWriter(str(tmp), arch)
        w.add_type(gguf.GGUFType.MODEL)  # as convert_hf_to_gguf.py writes them
        for key, value in general.items():  # (the caller's metadata overrides them, below)
            if isinstance(value, list) or type(value) is int and 0 <= value < 1 << 32:
                (w.add_array if isinstance(value, list) else w.add_uint32)(key, value)  # (counts)
            else:
                _add_value(w, key, value)
        w.add_size_label(gguf.size_label(sum(x.size for x in weights.values()), 0, 0, 0))
        w.add_context_length(int(config.get("max_position_embeddings") or 4096))
        w.add_embedding_length(hidden)
        w.add_block_count(config["num_hidden_layers"])
        w.add_feed_forward_length(config["intermediate_size"])  # the slim width
        w.add_head_count(heads)
        w.add_head_count_kv(kv_heads)
        w.add_rope_dimension_count(head_dim)
        if head_dim != hidden // heads:
            w.add_key_length(head_dim)
            w.add_value_length(head_dim)
        w.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
        w.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
        w.add_vocab_size(n_vocab)
        kind = (scaling := config.get("rope_scaling") or {}).get("type") or scaling.get("rope_type")
        if kind == "linear":  # (the only one `unsupported` lets through)
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(float(scaling["factor"]))
        w.add_file_type(gguf.LlamaFileType[f"MOSTLY_{gguf_type.upper()}"])  # F16, Q8_0, Q4_0
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)  # (convert_hf_to_gguf.py: always)
        _tokenizer(w, tokenizer, n_vocab, config.get("eos_token_id"))
        for key, value in {**meta, **(metadata or {})}.items():
            _add_value(w, key, value)
        permute = {"attn_q": heads, "attn_k": kv_heads} if arch == "llama" else {}
        with Progress("export", len(weights) + 1, enabled=progress, transient=True) as bar:
            for name, x in weights.items():
                bar.describe(new := _gguf_name(name))
                x, part = np.array(x), new.split(".")[-2]  # computed here, one at a time
                if heads_of := permute.get(part):  # llama.cpp's q/k rows (gguf.unpermute's)
                    x = x.reshape(heads_of, 2, -1, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)
                data, raw = _quantized(new, x, gguf_type)
                w.add_tensor(new, data, raw_dtype=raw)
                bar.advance()
            bar.describe(f"writing {path.name}")
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            bar.advance()
    return path


def _add_value(w, key: str, value) -> None:
    """A metadata key: a standard one (``llama.context_length``) keeps the type llama.cpp reads
    it as; a new one is typed by its value (an int: UINT64, or INT64 when negative)."""
    import gguf

    t = gguf.GGUFValueType
    known = w.kv_data[0].pop(key, None)  # overridden, as documented (no "duplicated key" line)
    if not isinstance(value, str | int | float) or known is not None and known.type == t.ARRAY:
        raise UsageError(f"metadata {key} = {value!r:.40}: a str, int, float or bool, not an array")
    kind = known.type if known is not None else None
    if kind is None:
        sign = t.INT64 if isinstance(value, int) and value < 0 else t.UINT64
        kind = {bool: t.BOOL, int: sign, float: t.FLOAT32}.get(type(value), t.STRING)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    fits = {t.STRING: True, t.BOOL: isinstance(value, bool), t.FLOAT32: number}.get(kind, number)
    if kind not in (t.STRING, t.BOOL, t.FLOAT32, t.FLOAT64):
        bounds = np.iinfo(kind.name.lower())
        fits = number and isinstance(value, int) and bounds.min <= value <= bounds.max
    if not fits:
        raise UsageError(f"metadata {key} = {value!r:.40} does not fit its type {kind.name}")
    w.add_key_value(key, str(value) if kind == t.STRING else value, kind)
