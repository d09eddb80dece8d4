"""Read GGUF tensors correctly: ``mx.load`` where tests prove it right, the ``gguf`` package else.

``mx.load`` (MLX 0.32.4) decodes F32, F16, BF16, Q4_0, Q4_1 and Q8_0 correctly (the last three
come back packed), but it decodes Q4_K wrongly (sub-blocks 1, 3, 5, 7 of every super-block, see
docs/mlx_q4k_bug.md), refuses Q5_*, Q3_K and IQ*, and silently drops TQ*/MXFP4/NVFP4 tensors. A file
holding any type outside :data:`MLX_EXACT` is read with the ``gguf`` package (llama.cpp's own
reader and reference dequantizer, an optional extra), and each matrix is kept small: exactly as
MLX affine at group size 32 where its type is affine per 32 values (:data:`AFFINE`, Q4_K among
them), else re-quantized (:data:`REQUANT`) or float16. ``tests/test_gguf_decode.py`` checks every
type against ``gguf.quants.dequantize``; ``tools/gguf_requant_quality.py`` measured the choice.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import warnings
from pathlib import Path

import mlx.core as mx
import numpy as np

from ..common import UsageError

INSTALL_HINT = "pip install 'mlx-ifp[gguf]'"
GROUP_SIZE = 32  # the importer's packed group size (gguf.GROUP_SIZE)

# GGML tensor type ids (gguf.GGMLQuantizationType) that mx.load decodes right: checked per type
# against the reference by tests/test_gguf_decode.py::test_mx_load_per_type.
MLX_EXACT = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 8: "Q8_0", 30: "BF16"}
#: every GGML tensor type id (gguf 0.17's GGMLQuantizationType, F32 = 0 to Q1_0 = 41)
GGML_TYPES = {*range(4), *range(6, 31), 34, 35, 39, 40, 41}

# Types whose 32-value blocks (sub-blocks) are affine, w = scale * code + bias, map onto MLX
# affine at group size 32 exactly: type -> (bits, (start, low, end), fill0, fill1). In a block,
# bytes [start, low) hold the codes' high bits (5-bit types) and [low, end) the rest; filling the
# high bytes with 0 and the others with fill0 (fill1) makes every code 0 (1). Probing the
# reference dequantizer so gives each group's bias and scale: no scale decoding is written here.
AFFINE = {
    "Q4_0": (4, (2, 2, 18), 0x00, 0x11), "Q4_1": (4, (4, 4, 20), 0x00, 0x11),
    "Q5_0": (5, (2, 6, 22), 0x00, 0x11), "Q5_1": (5, (4, 8, 24), 0x00, 0x11),
    "Q8_0": (8, (2, 2, 34), 0x80, 0x81), "Q4_K": (4, (16, 16, 144), 0x00, 0x11),
    "Q5_K": (5, (16, 48, 176), 0x00, 0x11),
}  # fmt: skip
# Other types, decoded to float32 by the reference, are re-quantized with mx.quantize to these
# bits at group size 32 (Q6_K: 16-value sub-blocks, 8 bits keep it within ~1/4 of its step) or
# kept float16 (Q2_K, Q3_K, IQ*, TQ*, MXFP4, NVFP4: no affine form that small).
REQUANT = {"Q6_K": 8}
#: every (bits, group size) of the packed matrices the importer makes (mx.load's Q4_0/Q4_1/Q8_0
#: come back packed at group size 32 too): models/device.py self-checks each on the device
PACKED = {(bits, GROUP_SIZE) for bits, *_ in AFFINE.values()}
PACKED |= {(bits, GROUP_SIZE) for bits in REQUANT.values()}

# GGUF metadata value types: struct format of the scalar ones; 8 is a string, 9 an array.
_SCALAR = dict(zip((0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12), "BbHhIif?Qqd", strict=True))
#: metadata value types that crash ``mx.load`` (MLX 0.32.4: FLOAT64): read with the gguf package
MLX_CRASHES = {12}


def tensor_types(path: str | os.PathLike) -> dict[str, int]:
    """Tensor name -> GGML type id, from the header alone. A short, corrupted or hostile header is
    a ``ValueError`` (never a struct error, or a loop over counts the file cannot hold)."""
    return _header(path)[0]


def header_values(path: str | os.PathLike) -> dict:
    """The values of the :data:`HEADER_KEYS` the header holds (strings and scalars), read
    without the tensors: what decides whether a file can be converted at all; and its
    ``general.*`` keys (strings, scalars, lists of strings: the name, license, tags...)."""
    return _header(path)[2]


#: metadata read by :func:`header_values` (and ``<arch>`` + ARCH_KEYS); the tokenizer's kind too
HEADER_KEYS = ("general.architecture", "split.count", "general.alignment")
HEADER_KEYS += ("tokenizer.ggml.model", "tokenizer.ggml.pre")
ARCH_KEYS = (".expert_count", ".rope.dimension_count", ".embedding_length")
ARCH_KEYS += (".attention.head_count", ".attention.key_length")  # (rope's span: the whole head?)
#: metadata llama.cpp reads as one value or one per layer (``get_key_or_arr``): see one_value
PER_LAYER = ("feed_forward_length", "attention.head_count", "attention.head_count_kv")


def _header(path: str | os.PathLike) -> tuple[dict[str, int], set[int], dict]:
    """(tensor name -> type id, metadata value types used (array items' too), header_values)."""
    try:
        return _read_header(path)
    except (struct.error, UnicodeDecodeError, RecursionError, OverflowError) as e:
        raise ValueError(f"truncated or corrupted GGUF header ({type(e).__name__})") from None


def _read_header(path: str | os.PathLike) -> tuple[dict[str, int], set[int], dict]:
    if os.path.getsize(path) < 24:
        raise ValueError("not a GGUF file (shorter than its header)")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[:4] != b"GGUF":
            raise ValueError("not a GGUF file (bad magic)")
        (version,) = struct.unpack_from("<I", buf, 4)
        if version not in (2, 3):  # as llama.cpp and gguf; 3 << 24: a big-endian file's 3
            order = " (a big-endian file)" if version > 0xFFFF and not version & 0xFFFF else ""
            raise ValueError(f"GGUF version {version}{order} is not supported")
        n_tensors, n_kv = struct.unpack_from("<QQ", buf, 8)
        if n_kv * 12 + n_tensors * 24 > len(buf):  # the least each entry takes
            why = f"{n_tensors} tensors and {n_kv} keys: more than its {len(buf)} bytes hold"
            raise ValueError(f"GGUF header cut short or damaged: it claims {why}")
        pos = 24

        def string(pos):
            (n,) = struct.unpack_from("<Q", buf, pos)
            return buf[pos + 8 : pos + 8 + n], pos + 8 + n

        kinds = set()

        def skip(kind, pos):
            kinds.add(kind)
            if kind in _SCALAR:
                return pos + struct.calcsize(_SCALAR[kind])
            if kind == 8:
                text, pos = string(pos)
                try:  # (mx.load would raise a bare UnicodeDecodeError)
                    text.decode()
                except UnicodeDecodeError:
                    raise UsageError(
                        f"cannot read GGUF file {path}: its metadata {key} holds text that is "
                        "not valid UTF-8 (a damaged file, or a broken converter's)"
                    ) from None
                return pos
            if kind == 9:
                sub, count = struct.unpack_from("<IQ", buf, pos)
                pos += 12
                if count > len(buf):
                    raise ValueError(f"GGUF array of {count} items: longer than the file")
                if sub in _SCALAR:
                    kinds.add(sub)
                    return pos + count * struct.calcsize(_SCALAR[sub])
                for _ in range(count):
                    pos = skip(sub, pos)
                return pos
            raise ValueError(f"unknown GGUF metadata value type {kind}")

        values = {}
        for _ in range(n_kv):
            key, pos = string(pos)
            (kind,) = struct.unpack_from("<I", buf, pos)
            key = key.decode(errors="replace")
            want = key in HEADER_KEYS or key.startswith("general.") or key.endswith(ARCH_KEYS)
            at, pos = pos + 4, skip(kind, pos + 4)  # (checked: counts the file can hold)
            if want and kind in _SCALAR:
                values[key] = struct.unpack_from("<" + _SCALAR[kind], buf, at)[0]
            elif want and kind == 8:
                values[key] = string(at)[0].decode()
            elif want and kind == 9 and struct.unpack_from("<I", buf, at)[0] == 8:  # strings
                items, at = [], at + 12  # (general.tags, general.languages)
                for _ in range(struct.unpack_from("<Q", buf, at - 8)[0]):
                    item, at = string(at)
                    items.append(item.decode())
                values[key] = items
        align = values.get("general.alignment", 32)
        if type(align) is not int or align <= 0 or align & (align - 1):  # mx.load: 0 is SIGFPE
            raise ValueError(f"general.alignment {align} is not a power of two")
        types, ends = {}, {}
        for _ in range(n_tensors):
            name, pos = string(pos)
            (ndim,) = struct.unpack_from("<I", buf, pos)
            dims = struct.unpack_from(f"<{ndim}Q", buf, pos + 4)
            pos += 4 + 8 * ndim
            kind, offset = struct.unpack_from("<IQ", buf, pos)
            if offset % align:  # (llama.cpp refuses it too) mx.load reads the wrong bytes
                raise ValueError(f"tensor {name.decode()!r}: data offset {offset} is not aligned")
            types[name.decode()] = kind
            ends[name.decode()] = offset + _nbytes(kind, dims)
            pos += 12  # type, then the data offset
        start = -(-pos // align) * align  # the data: a cut file found so, as llama.cpp does
        if cut := [name for name, end in ends.items() if start + end > len(buf)]:
            why = "extends past the end of the file: an incomplete download or a damaged file"
            raise UsageError(f"cannot read GGUF file {path}: tensor '{cut[0]}' {why}")
        return types, kinds, values


def _nbytes(kind: int, dims: tuple[int, ...]) -> int:
    """A tensor's data size in bytes, by the gguf package's block sizes (0 without it, or for an
    unknown type: not checked here; mx.load checks a cut file of its types itself)."""
    try:
        import gguf

        block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(kind)]
    except (ImportError, ValueError, KeyError):
        return 0
    return math.prod(dims) // block * size


def load(path: str | os.PathLike, progress=None) -> tuple[dict[str, mx.array], dict]:
    """Weights and metadata as ``mx.load(path, return_metadata=True)``, decoded right; ``progress``
    (done, total) hears of each tensor gguf decodes, or 0 and all around a whole-file mx.load.
    Raises UsageError for a type id that is no GGML type, a file cut short, or a needed ``gguf``
    not installed; other errors (not a GGUF file, a type gguf cannot decode) propagate."""
    types, kinds, _ = _header(path)
    known = lambda t: t in GGML_TYPES or not _type_name(t).startswith("type ")  # noqa: E731
    if unknown := sorted({t for t in types.values() if not known(t)}):
        what = f"tensors of type {unknown[0]}, which is no GGML tensor type"
        why = "(a damaged file, or a type newer than this importer and the gguf package)"
        raise UsageError(f"{Path(path).name} holds {what} {why}")
    crash = kinds & MLX_CRASHES
    exact = all(t in MLX_EXACT for t in types.values()) and not crash
    if exact and os.access(path, os.W_OK):  # mx.load opens it read-write (gguflib): else fails
        (tell := progress or (lambda done, total: None))(0, len(types))  # a log's N/N, not 0/?
        # by its magic, not its name's case: mx.load reads the suffix as written (`x.GGUF`)
        loaded = mx.load(str(path), format="gguf", return_metadata=True)
        tell(len(types), len(types))
        return loaded
    try:
        import gguf  # noqa: F401
    except ImportError:
        names = sorted({_type_name(t) for t in types.values() if t not in MLX_EXACT})
        what = f"{', '.join(names)} tensors" if names else "float64 metadata values"
        if exact:  # a read-only file system, another user's file
            why = "is read-only here, and mx.load opens a GGUF file read-write"
            fix = f"copy it somewhere writable, or {INSTALL_HINT} (it reads it read-only)"
            raise UsageError(f"{path} {why}: {fix}") from None
        why = f"which need the gguf package: {INSTALL_HINT}"
        raise UsageError(f"{Path(path).name} holds {what}, {why}") from None
    return read_with_gguf(path, progress)


def _type_name(kind: int) -> str:
    try:
        import gguf

        return gguf.GGMLQuantizationType(kind).name
    except (ImportError, ValueError):
        return f"type {kind}"


def read_with_gguf(path: str | os.PathLike, progress=None) -> tuple[dict[str, mx.array], dict]:
    """Read every tensor with the gguf package (its reference dequantizer decodes them)."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    meta = {k: _value(f) for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    weights, tell = {}, progress or (lambda done, total: None)
    tell(0, len(reader.tensors))  # the total, before the first tensor's minutes
    for i, t in enumerate(reader.tensors, 1):
        new = convert_tensor(t.name, np.asarray(t.data), int(t.tensor_type))
        mx.eval(list(new.values()))  # frees a re-quantized tensor's float32 before the next
        weights.update(new)
        tell(i, len(reader.tensors))
    return weights, meta


def convert_tensor(name: str, data: np.ndarray, kind: int) -> dict[str, mx.array]:
    """One GGUF tensor (reader data: raw bytes per row for quantized types) as MLX arrays."""
    import gguf

    qtype = gguf.GGMLQuantizationType(kind)
    if qtype in (qtype.F32, qtype.F16):
        return {name: mx.array(data)}
    stem = name.removesuffix(".weight")
    if qtype.name in AFFINE and data.ndim == 2:
        q, scales, biases = affine(data, qtype)
        return {name: q, f"{stem}.scales": scales, f"{stem}.biases": biases}
    w = gguf.quants.dequantize(data, qtype)  # float32, shape (rows, cols)
    if qtype == qtype.BF16:
        return {name: mx.array(w).astype(mx.bfloat16)}  # lossless
    bits = REQUANT.get(qtype.name)
    if bits is None or w.ndim != 2 or w.shape[-1] % GROUP_SIZE:
        return {name: mx.array(w).astype(mx.float16)}
    q, scales, biases = mx.quantize(mx.array(w), group_size=GROUP_SIZE, bits=bits)
    return {name: q, f"{stem}.scales": scales, f"{stem}.biases": biases}


def affine(data: np.ndarray, qtype) -> tuple[mx.array, mx.array, mx.array]:
    """Exact MLX affine (packed codes, float32 scales, biases) of an :data:`AFFINE` tensor."""
    import gguf

    bits, (start, low, end), zero, one = AFFINE[qtype.name]
    rows = data.shape[0]
    blocks = data.reshape(-1, gguf.constants.GGML_QUANT_SIZES[qtype][1])

    def probe(byte):
        b = blocks.copy()
        b[:, start:low] = 0
        b[:, low:end] = byte
        return gguf.quants.dequantize(b.reshape(rows, -1), qtype).reshape(-1, GROUP_SIZE)[:, 0]

    w = gguf.quants.dequantize(data, qtype).reshape(-1, GROUP_SIZE)
    bias = probe(zero)
    scale = probe(one) - bias
    safe = np.where(scale == 0, 1, scale)[:, None]
    codes = np.clip(np.rint((w - bias[:, None]) / safe), 0, 2**bits - 1).astype(np.uint8)
    # MLX packs codes as a little-endian bit stream: code i at bits [i * bits, (i + 1) * bits)
    stream = np.unpackbits(codes[..., None], axis=-1, count=bits, bitorder="little")
    packed = np.packbits(stream.reshape(rows, -1), axis=-1, bitorder="little").view(np.uint32)
    shape = (rows, -1)
    return mx.array(packed), mx.array(scale.reshape(shape)), mx.array(bias.reshape(shape))


def _value(field):
    """A reader field as ``mx.load`` gives metadata: str, list of str, or an mx.array."""
    import gguf

    kind = field.types[0]
    if kind == gguf.GGUFValueType.STRING:
        return field.contents()
    if kind == gguf.GGUFValueType.ARRAY:
        if field.types[-1] == gguf.GGUFValueType.STRING:
            return field.contents()
        parts = [field.parts[i] for i in field.data]
        return mx.array(np.concatenate(parts) if parts else np.zeros(0, np.int32))
    return mx.array(field.parts[-1].reshape(()))


# --- what llama.cpp's tokenizer.ggml.pre names mean (llama-vocab.cpp) -------------------------
_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LLAMA3 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_CASED = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]%s[\p{Ll}\p{Lm}\p{Lo}\p{M}]%s%s"
_CASES = _CASED % ("*", "+", "%s") + "|" + _CASED % ("+", "*", "%s")
_TAIL = r"| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
#: kind -> the regexes (Hugging Face's, as llama.cpp quotes them) splitting each piece in turn
#: (gpt-2 and smollm are built with ByteLevel's own split, GPT-2's)
SPLIT_KINDS = {
    "llama3": (_LLAMA3,),
    "qwen2": (_LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}"),),
    "tekken": (_CASES % ("", "") + r"|\p{N}" + _TAIL,),
    "gpt-4o": (_CASES % ((r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?",) * 2) + r"|\p{N}{1,3}" + _TAIL,),
    "gpt-2": (_GPT2,),
    "smollm": (r"\p{N}", _GPT2),
    "falcon": (r"[\p{P}\$\+<=>\^~\|`]+", _GPT2, "[0-9][0-9][0-9]"),
    "default": (r"[\p{P}\$\+<=>\^~\|]+", _GPT2, r"\p{N}+", "[0-9][0-9][0-9]"),
    "deepseek-coder": (
        r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
        r"\p{N}",
    ),
}  # fmt: skip
#: llama.cpp's names that ignore merges and add BOS unless add_bos_token says otherwise
BOS_PRES = (*"llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2".split(), "tekken")
# the tokenizer.ggml.pre names of each kind; * marks llama.cpp's clean_spaces off
_PRE_NAMES = {
    "llama3": "llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 dbrx smaug-bpe",
    "qwen2": "qwen2* deepseek-r1-qwen* kormo* f2llmv2* megrez stablelm2 hunyuan* solar-open*",
    "tekken": "tekken*",
    "gpt-4o": "gpt-4o* llama4* kanana2* talkie* minimax-m2*",
    "gpt-2": "gpt-2 gpt2 phi-2 gigachat a.x-4.0 mellum exaone4 mpt olmo jais trillion* "
    "granite-docling*",  # gpt2: not llama.cpp's, what our exporter wrote before gpt-2
    "smollm": "smollm* starcoder refact command-r* codeshell exaone minerva-7b mellum2",
    "falcon": "falcon",
    "default": "default",
    "deepseek-coder": "deepseek-coder*",
}
#: tokenizer.ggml.pre -> (kind, clean_up_tokenization_spaces: llama.cpp's clean_spaces)
PRES = {n.rstrip("*"): (k, not n.endswith("*")) for k, v in _PRE_NAMES.items() for n in v.split()}
#: pre name -> its one split regex (by which the exporter names a Hugging Face split)
SPLITS = {n: SPLIT_KINDS[k][0] for n, (k, _) in PRES.items() if len(SPLIT_KINDS[k]) < 2}
SPLITS = {n: r for n, r in SPLITS.items() if r != _GPT2}


def one_value(value, key: str, layers):
    """A :data:`PER_LAYER` value as llama.cpp's llama and qwen2 (and mlx-lm's) use it, one for
    every layer: an array's one value, else a UsageError (per-layer widths, a wrong length)."""
    if not isinstance(value, mx.array) or value.ndim != 1 or key.split(".", 1)[1] not in PER_LAYER:
        return value
    if not (values := value.tolist()) or type(layers) is int and len(values) != layers:
        raise UsageError(f"{key} has {len(values)} values, not one per layer ({layers})")
    if len(set(values)) > 1:
        why = "per-layer sizes are not supported (mlx-lm's llama and qwen2 take one for all)"
        raise UsageError(f"{key} differs across layers ({sorted(set(values))}): {why}")
    return values[0]


def pre_tokenizer(pre: str | None):
    """(``tokenizers`` pre-tokenizer, clean_up_tokenization_spaces) of ``tokenizer.ggml.pre``.

    No name is llama.cpp's "default", with a warning (as llama.cpp); a name whose split is not
    reproduced here is a UsageError (llama.cpp refuses names it does not know).
    """
    from tokenizers import Regex
    from tokenizers import pre_tokenizers as pt

    if not pre:
        warnings.warn("GGUF without tokenizer.ggml.pre: llama.cpp's 'default' split", stacklevel=3)
    elif pre not in PRES:
        raise UsageError(
            f"GGUF pre-tokenizer '{pre:.40}' (tokenizer.ggml.pre) is not one this importer "
            "reproduces: its token ids would differ from llama.cpp's (see docs/gguf.md)"
        )
    kind, clean = PRES[pre or "default"]
    byte_level = pt.ByteLevel(add_prefix_space=False, use_regex=kind in ("gpt-2", "smollm"))
    steps = [pt.Split(Regex(r), behavior="isolated") for r in SPLIT_KINDS[kind]]
    if kind in ("gpt-2", "smollm"):
        steps = [pt.Digits(individual_digits=True)] if kind == "smollm" else []
    return (pt.Sequence([*steps, byte_level]) if steps else byte_level), clean


__all__ = [
    "AFFINE", "BOS_PRES", "GGML_TYPES", "INSTALL_HINT", "MLX_EXACT", "PRES", "PACKED", "REQUANT",
    "SPLITS", "SPLIT_KINDS", "affine", "convert_tensor", "header_values", "load", "one_value",
    "pre_tokenizer", "tensor_types",
]  # fmt: skip
