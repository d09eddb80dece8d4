"""Packed MLX on this device: quantize of strided views, the old down recipe, the real model."""

from __future__ import annotations

import argparse
import json
import sys
import time

import mlx_ifp  # noqa: F401  (loads the optimized BLAS before mlx.core on Linux)

import mlx.core as mx
import mlx.nn as nn

QUESTION = "What is the capital of France?"
#: (out, in) shapes: SmolLM2-135M's down projection, its gate/up, and the 8B Llama's down
SHAPES = [(576, 1536), (1536, 576), (4096, 14336)]
SETTINGS = [(4, 32), (4, 64), (8, 64)]


def _max(a: mx.array) -> float:
    return float(mx.max(mx.abs(a.astype(mx.float32))).item())


def _rel(a: mx.array, b: mx.array) -> float:
    """max |a - b| / max |b| (0 when both are 0)."""
    return _max(a - b) / max(_max(b), 1e-30)


def _on(stream, fn, *args):
    """``fn(*args)`` on ``stream``, evaluated (args copied there first)."""
    with mx.stream(stream):
        out = fn(*args)
        mx.eval(out)
    return out


def _quantize_pair(w, bits, gs, stream):
    """mx.quantize of a transposed (strided) view and of a contiguous copy of it, on ``stream``."""

    def run(w):
        strided = mx.quantize(w.T, gs, bits)
        contig = mx.quantize(mx.contiguous(w.T), gs, bits)
        return strided, contig

    return _on(stream, run, w)


def check_a(device) -> list[dict]:
    """(a) mx.quantize(w.T) vs mx.quantize(mx.contiguous(w.T)), here and against the CPU."""
    rows = []
    for out_dim, in_dim in SHAPES:
        w = mx.random.normal((out_dim, in_dim), key=mx.random.key(out_dim + in_dim)) * 0.02
        for bits, gs in SETTINGS:
            (s_w, s_s, s_b), (c_w, c_s, c_b) = _quantize_pair(w, bits, gs, device)
            (cs_w, cs_s, cs_b), (cc_w, cc_s, cc_b) = _quantize_pair(w, bits, gs, mx.cpu)
            ref = w.T  # what both should encode
            deq = lambda q, s, b, gs=gs, bits=bits: mx.dequantize(q, s, b, gs, bits)  # noqa: E731
            rows.append(
                {
                    "shape_quantized": [in_dim, out_dim],
                    "bits": bits,
                    "group_size": gs,
                    "device_strided_eq_contiguous_packed": bool(mx.array_equal(s_w, c_w).item()),
                    "device_strided_vs_contiguous_scales_rel": _rel(s_s, c_s),
                    "device_strided_vs_contiguous_biases_rel": _rel(s_b, c_b),
                    "device_strided_roundtrip_rel": _rel(deq(s_w, s_s, s_b), ref),
                    "device_contiguous_roundtrip_rel": _rel(deq(c_w, c_s, c_b), ref),
                    "cpu_strided_roundtrip_rel": _rel(deq(cs_w, cs_s, cs_b), ref),
                    "cpu_contiguous_roundtrip_rel": _rel(deq(cc_w, cc_s, cc_b), ref),
                    "device_contiguous_eq_cpu_packed": bool(mx.array_equal(c_w, cc_w).item()),
                    "device_strided_eq_cpu_packed": bool(mx.array_equal(s_w, cs_w).item()),
                }
            )
    return rows


# ---- (b) the old ChannelQuantizedLinear recipe, copied here: it is gone from mlx_ifp


class ChannelQuantizedLinear(nn.Module):
    """The old channel-major down projection: W (out, in) stored as Wt (in, out), quantized
    along ``out``, computed with ``quantized_matmul(..., transpose=False)``."""

    def __init__(self, weight, scales, biases, group_size, bits, mode, bias=None):
        super().__init__()
        self.weight, self.scales = weight, scales
        if biases is not None:
            self.biases = biases
        if bias is not None:
            self.bias = bias
        self.group_size, self.bits, self.mode = group_size, bits, mode
        self.freeze()

    @classmethod
    def from_quantized(cls, q, contiguous: bool = False):
        """The old recipe (``contiguous=False``): quantize a strided ``w.T`` view."""
        w = mx.dequantize(q.weight, q.scales, q.get("biases"), q.group_size, q.bits, q.mode)
        wt = mx.contiguous(w.T) if contiguous else w.T
        wq = mx.quantize(wt, q.group_size, q.bits, mode=q.mode)
        biases = wq[2] if len(wq) > 2 else None
        return cls(wq[0], wq[1], biases, q.group_size, q.bits, q.mode, q.get("bias"))

    def __call__(self, x):
        y = mx.quantized_matmul(
            x,
            self.weight,
            self.scales,
            self.get("biases"),
            transpose=False,
            group_size=self.group_size,
            bits=self.bits,
            mode=self.mode,
        )
        return y + self.bias if "bias" in self else y


def check_b(device) -> list[dict]:
    """(b) the old recipe vs a float reference, strided (as it was) and contiguous, per device.

    Requantizing alone costs ~0.08 relative error here (one more 4-bit rounding); garbage shows
    as errors near or above 1, and ``old_recipe_vs_its_own_dequantized_rel`` isolates
    ``quantized_matmul(transpose=False)`` from the requantization.
    """
    rows = []
    cases = [(s, q, m) for s in SHAPES[:2] for q in SETTINGS for m in (1, 40)]
    for (out_dim, in_dim), (bits, gs), m in cases:  # m: rows of x (decode 1, a prefill 40)
        for where in ("device", "cpu"):
            stream = device if where == "device" else mx.cpu

            def run(out_dim=out_dim, in_dim=in_dim, bits=bits, gs=gs, m=m):
                key = mx.random.key(7 * out_dim + in_dim)
                kw, kx = mx.random.split(key)
                q = nn.QuantizedLinear(in_dim, out_dim, bias=False, group_size=gs, bits=bits)
                w = mx.random.normal((out_dim, in_dim), key=kw) * 0.02
                q.weight, q.scales, q.biases = mx.quantize(w, gs, bits)
                x = mx.random.normal((m, in_dim), key=kx)
                w_deq = mx.dequantize(q.weight, q.scales, q.biases, gs, bits)
                ref = x @ w_deq.T  # float reference of the standard packed layer
                std = q(x)  # MLX's own standard layout (transpose=True)
                cq = ChannelQuantizedLinear.from_quantized(q)
                old = cq(x)
                fixed = ChannelQuantizedLinear.from_quantized(q, contiguous=True)(x)
                # the old layer against its own arrays, dequantized: kernel vs arithmetic
                own = x @ mx.dequantize(cq.weight, cq.scales, cq.biases, gs, bits)
                return ref, std, old, fixed, own

            ref, std, old, fixed, own = _on(stream, run)
            rows.append(
                {
                    "where": where,
                    "shape": [out_dim, in_dim],
                    "x_rows": m,
                    "bits": bits,
                    "group_size": gs,
                    "standard_layout_rel": _rel(std, ref),
                    "old_recipe_strided_rel": _rel(old, ref),
                    "old_recipe_contiguous_rel": _rel(fixed, ref),
                    "old_recipe_vs_its_own_dequantized_rel": _rel(old, own),
                }
            )
    return rows


# ---- (c) the real model end to end


def _mlx_lm_answer(folder: str, max_tokens: int) -> str:
    from mlx_lm import generate, load

    model, tok = load(folder)
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": QUESTION}], tokenize=False, add_generation_prompt=True
    )
    return generate(model, tok, prompt, max_tokens=max_tokens)


def _old_path(model):
    """The old load path: every down projection turned into the (strided) channel-major one."""
    from mlx_ifp.core import ffn

    for f in ffn.ffns(model):
        if isinstance(f.down_proj, nn.QuantizedLinear):
            f.down_proj = ChannelQuantizedLinear.from_quantized(f.down_proj)
    mx.eval(model.parameters())
    return model


def check_c(max_tokens: int, old: bool) -> dict:
    """(c) the embedded model, packed: mlx_ifp.load (unpruned, keep 0.5) vs mlx_lm.load."""
    from mlx_ifp.models import device as dev
    from mlx_ifp.models.embedded import embedded_folder

    folder = str(embedded_folder("smollm2-135m-instruct", dequantize=False))
    t0 = time.perf_counter()
    model, tok = mlx_ifp.load(folder, dequantize=False)
    out = {"folder": folder, "load_s": time.perf_counter() - t0}
    out["self_check"] = dev.packed_matmul_check()
    for name, keep in (("mlx_ifp_unpruned", 1.0), ("mlx_ifp_keep_0.5", 0.5)):
        t0 = time.perf_counter()
        out[name] = mlx_ifp.generate(model, tok, QUESTION, keep=keep, max_tokens=max_tokens)
        out[name + "_s"] = time.perf_counter() - t0  # the first one includes kernel compilation
    out["mlx_lm"] = _mlx_lm_answer(folder, max_tokens)
    if old:
        fresh, tok = mlx_ifp.load(folder, dequantize=False)
        out["old_channel_major_path_unpruned"] = mlx_ifp.generate(
            _old_path(fresh), tok, QUESTION, keep=1.0, max_tokens=max_tokens
        )
    return out


def summary(result: dict) -> dict:
    """What looks wrong, in a few booleans (True = a problem seen)."""
    a = result.get("a_quantize_strided_vs_contiguous", [])
    b = result.get("b_old_channel_major_recipe", [])
    c = result.get("c_embedded_model", {})
    out = {
        "a_strided_quantize_differs_from_contiguous": any(
            not r["device_strided_eq_contiguous_packed"] for r in a
        ),
        "a_device_quantize_differs_from_cpu": any(
            not r["device_contiguous_eq_cpu_packed"] for r in a
        ),
        "b_transpose_false_matmul_wrong": any(
            r["old_recipe_vs_its_own_dequantized_rel"] > 1e-3 for r in b
        ),
        "b_old_recipe_garbage": any(r["old_recipe_strided_rel"] > 0.5 for r in b),
        "b_old_recipe_fixed_by_contiguous": any(
            r["old_recipe_strided_rel"] > 0.5 and r["old_recipe_contiguous_rel"] < 0.5 for r in b
        ),
    }
    answers = ("mlx_ifp_unpruned", "mlx_ifp_keep_0.5", "mlx_lm", "old_channel_major_path_unpruned")
    for key in answers:
        if key in c:
            out[f"c_{key}_lacks_paris"] = "Paris" not in c[key]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--parts", default="abc", help="Which checks to run: any of a, b, c.")
    p.add_argument("--max-tokens", type=int, default=20)
    p.add_argument("--no-old", action="store_true", help="In (c), skip the old load path.")
    p.add_argument("-o", "--output", default=None, help="Also write the JSON to this file.")
    args = p.parse_args()
    device = mx.default_device()
    result = {"mlx": mx.__version__, "device": str(device), "python": sys.version.split()[0]}
    if "a" in args.parts:
        result["a_quantize_strided_vs_contiguous"] = check_a(device)
    if "b" in args.parts:
        result["b_old_channel_major_recipe"] = check_b(device)
    if "c" in args.parts:
        result["c_embedded_model"] = check_c(args.max_tokens, not args.no_old)
    result["summary"] = summary(result)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        from mlx_ifp.common import atomic_file

        with atomic_file(args.output) as tmp:
            tmp.write_text(text + "\n")


if __name__ == "__main__":
    main()
