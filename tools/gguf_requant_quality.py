"""Keeping decoded Q4_K/Q6_K weights: exact affine, mx.quantize or float16 (error, KL, time)."""

from __future__ import annotations

import argparse
import json
import time

from mlx_ifp.models import gguf_decode

import gguf
import mlx.core as mx
import numpy as np

T = gguf.GGMLQuantizationType


def quantize_q4_k(x: np.ndarray) -> np.ndarray:
    """A plain Q4_K quantizer (per-sub-block min/max, 6-bit scales; llama.cpp also searches)."""
    rows = x.shape[0]
    b = x.reshape(-1, 8, 32).astype(np.float32)
    lo = np.minimum(b.min(-1), 0)
    scale, mins = (b.max(-1) - lo) / 15, -lo
    d = (scale.max(-1, keepdims=True) / 63).astype(np.float16)
    dmin = (mins.max(-1, keepdims=True) / 63).astype(np.float16)
    sc = np.clip(np.rint(scale / np.maximum(d.astype(np.float32), 1e-12)), 0, 63).astype(np.uint8)
    m = np.clip(np.rint(mins / np.maximum(dmin.astype(np.float32), 1e-12)), 0, 63).astype(np.uint8)
    eff_s, eff_m = d.astype(np.float32) * sc, dmin.astype(np.float32) * m
    codes = np.rint((b + eff_m[..., None]) / np.maximum(eff_s, 1e-12)[..., None])
    codes = np.clip(codes, 0, 15).astype(np.uint8)
    packed = np.zeros((len(b), 12), np.uint8)
    packed[:, 0:4] = sc[:, :4] | ((sc[:, 4:] >> 4) << 6)
    packed[:, 4:8] = m[:, :4] | ((m[:, 4:] >> 4) << 6)
    packed[:, 8:12] = (sc[:, 4:] & 0xF) | ((m[:, 4:] & 0xF) << 4)
    qs = (codes[:, 0::2] | (codes[:, 1::2] << 4)).reshape(len(b), 128)
    head = np.concatenate([d, dmin], axis=1).view(np.uint8)
    return np.concatenate([head, packed, qs], axis=1).reshape(rows, -1)


def dequant(q, s, b, bits, gs=32):
    return np.array(mx.dequantize(q, s, b, group_size=gs, bits=bits))


def options(ref: np.ndarray, raw: np.ndarray, qtype) -> dict:
    """name -> (decoded float32, bits per weight as the importer stores it, seconds to convert).

    The importer keeps scales and biases in float32 (exact for ours; fp16 is slow on CPU).
    """
    out = {}
    t = time.perf_counter()
    arrays = gguf_decode.convert_tensor("w.weight", raw, int(qtype))
    w = arrays["w.weight"]
    mx.eval(w)
    if "w.scales" in arrays:
        bits = w.shape[-1] * 32 // (arrays["w.scales"].shape[-1] * 32)
        got, bpw = dequant(w, arrays["w.scales"], arrays["w.biases"], bits), bits + 2
    else:
        got, bpw = np.array(w.astype(mx.float32)), 16
    out["ours"] = (got, bpw, time.perf_counter() - t)
    for bits, gs in ((4, 32), (4, 64), (8, 32)):
        t = time.perf_counter()
        q, s, b = mx.quantize(mx.array(ref), group_size=gs, bits=bits)
        mx.eval(q, s, b)
        dt = time.perf_counter() - t
        out[f"mx.quantize {bits}-bit gs{gs}"] = (dequant(q, s, b, bits, gs), bits + 64 / gs, dt)
    out["float16"] = (ref.astype(np.float16).astype(np.float32), 16, 0.0)
    return out


def kl(ref: np.ndarray, got: np.ndarray, h: np.ndarray) -> float:
    def logp(w):
        z = h @ w.T
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    p, q = logp(ref), logp(got)
    return float((np.exp(p) * (p - q)).sum(-1).mean())


def report(name, x, raw, qtype, h):
    ref = gguf.quants.dequantize(raw, qtype)
    own = np.sqrt(((ref - x) ** 2).mean()) if x is not None else None
    rows = []
    for opt, (got, bpw, dt) in options(ref, raw, qtype).items():
        rms = float(np.sqrt(((got - ref) ** 2).mean()))
        rows.append({
            "tensor": name, "type": qtype.name, "storage": opt, "bits_per_weight": bpw,
            "max_abs_err": float(np.abs(got - ref).max()), "rms_err": rms,
            "rms_err_vs_own_quant_err": None if own is None else float(rms / own),
            "kl_vs_reference": kl(ref, got, h), "convert_s": dt,
        })  # fmt: skip
    return rows


def matmul_speed(x: np.ndarray, reps: int = 50) -> dict:
    """Batch-1 ``h @ W.T`` time (ms) for W kept as exact 4-bit (float32 scales), fp16, fp32."""
    import timeit

    w = mx.array(x)
    q, s, b = mx.quantize(w, group_size=32, bits=4)
    h = mx.random.normal((1, x.shape[1]))
    w16, h16 = w.astype(mx.float16), h.astype(mx.float16)
    mx.eval(q, s, b, w16, h16)
    runs = {
        "affine 4-bit gs32 (fp32 scales)": lambda: mx.quantized_matmul(h, q, s, b, True, 32, 4),
        "float16": lambda: h16 @ w16.T,
        "float32": lambda: h @ w.T,
    }
    out = {}
    for name, f in runs.items():
        mx.eval(f())
        out[name] = timeit.timeit(lambda f=f: mx.eval(f()), number=reps) / reps * 1e3
    return {"device": str(mx.default_device()), "shape": list(x.shape), **out}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gguf", default=None, help="a GGUF with a real token_embd (default: SmolLM2)")
    ap.add_argument("--rows", type=int, default=4096, help="embedding rows to use")
    ap.add_argument("--json", default=None, help="write the rows here too")
    args = ap.parse_args()
    path = args.gguf
    if path is None:
        from mlx_ifp.models.embedded import embedded_gguf

        path = embedded_gguf("smollm2-135m-instruct")
    reader = gguf.GGUFReader(str(path))
    t = next(t for t in reader.tensors if t.name == "token_embd.weight")
    emb = gguf.quants.dequantize(np.asarray(t.data), T(int(t.tensor_type)))
    x = np.ascontiguousarray(emb[: args.rows].T)  # (hidden, rows): rows of 256-multiples
    rng = np.random.default_rng(0)
    h = rng.standard_normal((64, x.shape[1])).astype(np.float32) * 2
    rows = report("token_embd[:rows].T (real, Q4_K by a plain quantizer)", x, quantize_q4_k(x),
                  T.Q4_K, h)  # fmt: skip
    blocks = rng.integers(0, 256, (x.size // 256, 210), dtype=np.uint8)
    blocks[:, 208:210] = rng.uniform(1e-5, 1e-4, (len(blocks), 1)).astype(np.float16).view(np.uint8)
    q6 = blocks.reshape(x.shape[0], -1)
    rows += report("random Q6_K blocks", None, q6, T.Q6_K, h)
    print(f"{'type':5} {'storage':22} {'bpw':>5} {'max err':>9} {'rms err':>9} "
          f"{'vs own':>7} {'KL':>9} {'conv s':>7}")  # fmt: skip
    for r in rows:
        own = r["rms_err_vs_own_quant_err"]
        print(f"{r['type']:5} {r['storage']:22} {r['bits_per_weight']:5.2f} {r['max_abs_err']:9.2e}"
              f" {r['rms_err']:9.2e} {'' if own is None else f'{own:7.3f}':>7}"
              f" {r['kl_vs_reference']:9.2e} {r['convert_s']:7.3f}")  # fmt: skip
    speed = matmul_speed(x)
    print("batch-1 matmul on this device, ms:", json.dumps(speed))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"source": str(path), "rows": rows, "matmul_ms": speed}, f, indent=1)


if __name__ == "__main__":
    main()
