"""GGUF decoding per tensor type: ours against ``gguf.quants.dequantize``, and mx.load checked."""

import json

from mlx_ifp.common import UsageError
from mlx_ifp.models import gguf as importer
from mlx_ifp.models import gguf_decode

import mlx.core as mx
import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
T = gguf.GGMLQuantizationType
SIZES = gguf.constants.GGML_QUANT_SIZES

# Byte offsets of the fp16 scale fields in one block, for types the gguf package cannot quantize:
# random blocks with these set to small finite values stand in for real data.
FP16_FIELDS = {
    T.Q2_K: (80, 82), T.Q3_K: (108,), T.Q4_K: (0, 2), T.Q5_K: (0, 2), T.Q6_K: (208,),
    T.IQ2_XXS: (0,), T.IQ2_XS: (0,), T.IQ2_S: (0,), T.IQ3_XXS: (0,), T.IQ3_S: (0,),
    T.IQ1_S: (0,), T.IQ4_NL: (0,), T.IQ4_XS: (0,),
}  # fmt: skip
# Neither can the gguf package quantize these, and their scales are no plain fp16 field (IQ1_M
# splits its fp16 scale over 4 words, NVFP4 has UE4M3 scales): raw_tensor sets them. NVFP4 is
# newer than gguf 0.17. Q1_0 (in gguf 0.19's type list) has no reference dequantizer: not tested.
OTHER_SCALES = (T.IQ1_M,) + ((T.NVFP4,) if hasattr(T, "NVFP4") else ())
QUANTIZABLE = (T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.TQ1_0, T.TQ2_0, T.MXFP4)
FLOATS = (T.F32, T.F16)
TYPES = FLOATS + QUANTIZABLE + tuple(FP16_FIELDS) + OTHER_SCALES
SHAPE = (8, 512)  # rows, cols: two 256-value super-blocks per row


def raw_tensor(qtype, shape=SHAPE, seed: int = 0) -> np.ndarray:
    """Data for one tensor of ``qtype``, as ``GGUFWriter.add_tensor`` takes it."""
    rng = np.random.default_rng(seed)
    x = (0.02 * rng.standard_normal(shape)).astype(np.float32)
    if qtype == T.F32:
        return x
    if qtype == T.F16:
        return x.astype(np.float16)
    if qtype in QUANTIZABLE:
        return gguf.quants.quantize(x, qtype)
    block, size = SIZES[qtype]
    blocks = rng.integers(0, 256, (shape[0] * shape[1] // block, size), dtype=np.uint8)
    for off in FP16_FIELDS.get(qtype, ()):
        d = rng.uniform(1e-4, 2e-3, len(blocks)).astype(np.float16)
        blocks[:, off : off + 2] = d.view(np.uint8).reshape(-1, 2)
    if qtype == T.IQ1_M:  # fp16 scale, nibble i (low first) atop scale word i
        d = rng.uniform(1e-4, 2e-3, len(blocks)).astype(np.float16).view(np.uint16)[:, None]
        words = blocks[:, -8:].copy().view(np.uint16)
        top = (d >> np.array([0, 4, 8, 12], np.uint16)) & 0xF
        blocks[:, -8:] = ((words & 0x0FFF) | (top << 12)).view(np.uint8)
    elif qtype == getattr(T, "NVFP4", None):  # NVFP4: 4 UE4M3 scales, kept small (2^-7 to 0.23)
        blocks[:, :4] = rng.integers(0x08, 0x2F, (len(blocks), 4), dtype=np.uint8)
    return blocks.reshape(shape[0], -1)


def write(path, tensors: dict, meta: dict | None = None):
    """A GGUF file with ``tensors`` (name -> (qtype, data)) and optional string/uint metadata."""
    w = gguf.GGUFWriter(str(path), "llama")
    for key, value in (meta or {}).items():
        (w.add_string if isinstance(value, str) else w.add_uint32)(key, value)
    for name, (qtype, data) in tensors.items():
        raw = None if qtype in FLOATS else qtype
        w.add_tensor(name, data, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def reference(qtype, data) -> np.ndarray:
    if qtype in FLOATS:
        return data.astype(np.float32)
    return gguf.quants.dequantize(data, qtype)


def as_float(arrays: dict, name: str = "w.weight") -> np.ndarray:
    """A decoded tensor as float32, dequantizing a packed (weight, scales, biases) triplet."""
    w = arrays[name]
    if f"{name[:-7]}.scales" in arrays:
        s, b = (arrays[f"{name[:-7]}.{k}"].astype(mx.float32) for k in ("scales", "biases"))
        bits = w.shape[-1] * 32 // (s.shape[-1] * 32)
        w = mx.dequantize(w, s, b, group_size=32, bits=bits)
    return np.array(w.astype(mx.float32))


def mx_load_status(path, qtype, data) -> str:
    """'right', 'wrong', 'dropped' or 'refused': mx.load on a one-tensor file of ``qtype``."""
    try:
        arrays = mx.load(str(path))
    except Exception:  # MLX raises plain runtime errors for unsupported types
        return "refused"
    if "w.weight" not in arrays:
        return "dropped"  # silently left out
    ref = reference(qtype, data)
    got = as_float(arrays)
    tol = 2e-3 * np.abs(ref).max()  # fp16 rounding of values decoded into float16
    return "right" if np.allclose(got, ref, rtol=1e-3, atol=tol) else "wrong"


@pytest.mark.parametrize("qtype", TYPES, ids=lambda t: t.name)
def test_decode_matches_reference(tmp_path, qtype):
    data = raw_tensor(qtype)
    path = write(tmp_path / "t.gguf", {"w.weight": (qtype, data)})
    weights, _ = gguf_decode.read_with_gguf(path)
    ref, got = reference(qtype, data), as_float(weights)
    assert got.shape == ref.shape == SHAPE
    assert np.isfinite(ref).all()
    if qtype.name in gguf_decode.AFFINE:  # exact MLX affine: equal up to float32 rounding
        assert weights["w.weight"].dtype == mx.uint32
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-9)
    elif qtype.name in gguf_decode.REQUANT:  # re-quantized: within one step of the group range
        step = np.ptp(ref.reshape(-1, 32), axis=1, keepdims=True) / 255
        assert (np.abs(got - ref).reshape(-1, 32) <= step).all()
    else:  # float16 (or exact F32/F16/BF16)
        np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize("qtype", TYPES, ids=lambda t: t.name)
def test_mx_load_per_type(tmp_path, qtype):
    """mx.load is right exactly for MLX_EXACT types (Q4_K: wrong in MLX 0.32.4, see docs)."""
    data = raw_tensor(qtype)
    path = write(tmp_path / "t.gguf", {"w.weight": (qtype, data)})
    status = mx_load_status(path, qtype, data)
    if int(qtype) in gguf_decode.MLX_EXACT:
        assert status == "right"
        assert gguf_decode.load(path)[0].keys() == mx.load(str(path)).keys()
    elif qtype == T.Q4_K and mx.__version__ == "0.32.4":
        assert status == "wrong"
    # whatever mx.load does, our loader decodes the file right
    ref = reference(qtype, data)
    assert np.allclose(as_float(gguf_decode.load(path)[0]), ref, atol=np.abs(ref).max() / 100)
    print(f"mx.load {qtype.name}: {status}")


def test_tensor_types_read_from_header(tmp_path):
    tensors = {f"t{i}.weight": (q, raw_tensor(q, (2, 256))) for i, q in enumerate(TYPES)}
    meta = {"tokenizer.ggml.model": "gpt2", "llama.block_count": 2}
    path = write(tmp_path / "all.gguf", tensors, meta)
    assert gguf_decode.tensor_types(path) == {n: int(q) for n, (q, _) in tensors.items()}


def test_metadata_like_mx_load(tmp_path):
    path = write(tmp_path / "m.gguf", {"w.weight": (T.F32, raw_tensor(T.F32))},
                 {"a.name": "x", "a.count": 7})  # fmt: skip
    mine, theirs = gguf_decode.read_with_gguf(path)[1], mx.load(str(path), return_metadata=True)[1]
    assert mine.keys() == theirs.keys()
    for key, value in theirs.items():
        if isinstance(value, mx.array):
            assert mine[key].dtype == value.dtype and mx.array_equal(mine[key], value).item()
        else:
            assert mine[key] == value


def test_missing_gguf_package_is_one_clear_error(tmp_path, monkeypatch):
    import builtins

    path = write(tmp_path / "k.gguf", {"w.weight": (T.Q4_K, raw_tensor(T.Q4_K))})
    real_import = builtins.__import__

    def no_gguf(name, *args, **kwargs):
        if name == "gguf":
            raise ImportError("no gguf")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gguf)
    with pytest.raises(UsageError, match=r"type 12 tensors.*pip install 'mlx-ifp\[gguf\]'"):
        importer.read_gguf(path)
    q4 = write(tmp_path / "q4.gguf", {"w.weight": (T.Q4_0, raw_tensor(T.Q4_0))})
    assert "w.scales" in importer.read_gguf(q4)[0]  # mx.load types need no gguf package


def test_importer_reads_k_quant_model(tmp_path):
    """A tiny llama whose matrices are Q4_K/Q5_0/Q6_K converts; weights equal the reference."""
    from test_gguf import write_gguf
    from tiny import tiny_model

    model = tiny_model("llama", hidden_size=256, intermediate_size=256, vocab_size=300)
    path = write_gguf(model, tmp_path / "f.gguf")
    reader = gguf.GGUFReader(str(path))
    kinds = {"attn_q": T.Q4_K, "attn_k": T.Q4_K, "ffn_up": T.Q5_0, "ffn_down": T.Q6_K}
    meta = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    w = gguf.GGUFWriter(str(tmp_path / "k.gguf"), "llama")
    for key, field in meta.items():
        if key != "general.architecture":
            sub = field.types[-1] if len(field.types) > 1 else None
            w.add_key_value(key, field.contents(), field.types[0], sub)
    expected = {}
    for t in reader.tensors:
        data, kind = np.array(t.data), T.F32
        if t.name.split(".")[-2] in kinds and data.shape[-1] % 256 == 0:
            kind = kinds[t.name.split(".")[-2]]
            if kind in QUANTIZABLE:
                data = gguf.quants.quantize(data, kind)
            else:
                data = raw_tensor(kind, data.shape, seed=len(expected))
        expected[t.name] = reference(kind, data)
        w.add_tensor(t.name, data, raw_dtype=None if kind == T.F32 else kind)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    assert {T(t).name for t in gguf_decode.tensor_types(tmp_path / "k.gguf").values()} > {"Q4_K"}
    out = importer.gguf_to_mlx_lm(tmp_path / "k.gguf", tmp_path / "out", dequantize=True)
    config = json.loads((out / "config.json").read_text())
    assert config["intermediate_size"] == 256
    got = mx.load(str(out / "model.safetensors"))["model.layers.0.mlp.down_proj.weight"]
    ref = expected["blk.0.ffn_down.weight"]
    assert np.abs(np.array(got) - ref).max() <= 2 * np.abs(ref).max() / 255  # 8-bit
