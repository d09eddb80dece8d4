"""Why does a slim FFN decode slower than its bytes predict? Batch-1 FFN micro-benchmarks.

Times, for several FFN widths of one hidden size (default: the 8B Llama shape, bf16):
  - one gemv per projection shape (achieved GB/s, amortised over many launches per eval);
  - a stack of L FFN layers at batch 1: eager, ``mx.compile``d, and with gate/up fused;
  - the same stack with a width of 1 (the per-layer launch floor).
Prints JSON; run on the device under test: ``python tools/bench_ffn_widths.py -o out.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import mlx_ifp  # noqa: F401  (loads the optimized BLAS before mlx.core on Linux)

import mlx.core as mx
import mlx.nn as nn


def _time(fn, reps: int, trials: int = 5) -> float:
    """Median seconds per call of ``fn`` (which must evaluate its own result)."""
    fn()
    out = []
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        out.append((time.perf_counter() - t0) / reps)
    return statistics.median(out)


def gemv(h: int, w: int, dtype, n: int = 32) -> dict:
    """x(1,h) @ Wg.T with Wg (w,h) [gate/up] and x(1,w) @ Wd.T with Wd (h,w) [down]."""
    wg = [mx.random.normal((w, h)).astype(dtype) for _ in range(n)]
    wd = [mx.random.normal((h, w)).astype(dtype) for _ in range(n)]
    xg, xd = mx.random.normal((1, h)).astype(dtype), mx.random.normal((1, w)).astype(dtype)
    mx.eval(wg, wd, xg, xd)
    nbytes = w * h * dtype.size * n
    tg = _time(lambda: mx.eval([xg @ m.T for m in wg]), 10)
    td = _time(lambda: mx.eval([xd @ m.T for m in wd]), 10)
    return {"width": w, "gate_up_GBps": nbytes / tg / 1e9, "down_GBps": nbytes / td / 1e9}


def qgemm(h: int, w: int, m: int, n: int = 8) -> dict:
    """4-bit matmuls at M=m rows: gate/up layout (transpose=True) vs channel-major down
    (``ChannelQuantizedLinear``: transpose=False), and the standard down layout."""
    res = {"width": w, "rows": m}
    x_h, x_w = mx.random.normal((m, h)).astype(mx.bfloat16), mx.random.normal((m, w))
    x_w = x_w.astype(mx.bfloat16)
    cases = {
        "gate_up_T": ((w, h), x_h, True),
        "down_T": ((h, w), x_w, True),
        "down_channel_major": ((w, h), x_w, False),
    }
    for name, (shape, x, transpose) in cases.items():
        qs = [mx.quantize(mx.random.normal(shape).astype(mx.bfloat16), 64, 4) for _ in range(n)]
        mx.eval(qs)

        def f(qs=qs, x=x, transpose=transpose):
            mx.eval([mx.quantized_matmul(x, *q, transpose=transpose) for q in qs])

        res[name + "_ms"] = _time(f, 3, 3) / n * 1e3
    return res


class Stack(nn.Module):
    """L residual SwiGLU FFNs, optionally with gate and up fused into one matmul."""

    def __init__(self, h: int, w: int, layers: int, fused: bool):
        super().__init__()
        self.fused = fused
        self.gu = [nn.Linear(h, 2 * w, bias=False) for _ in range(layers)] if fused else []
        self.g = [] if fused else [nn.Linear(h, w, bias=False) for _ in range(layers)]
        self.u = [] if fused else [nn.Linear(h, w, bias=False) for _ in range(layers)]
        self.d = [nn.Linear(w, h, bias=False) for _ in range(layers)]

    def __call__(self, x):
        for i, down in enumerate(self.d):
            if self.fused:
                g, u = mx.split(self.gu[i](x), 2, axis=-1)
            else:
                g, u = self.g[i](x), self.u[i](x)
            x = x + down(nn.silu(g) * u)
        return x


def stack(h: int, w: int, layers: int, dtype, fused: bool, compiled: bool) -> dict:
    m = Stack(h, w, layers, fused)
    m.update(nn.utils.tree_map(lambda p: p.astype(dtype), m.parameters()))
    mx.eval(m.parameters())
    fn = mx.compile(m) if compiled else m
    x = mx.random.normal((1, 1, h)).astype(dtype)

    def step():  # 16 dependent "tokens" per eval, like async decode keeps the queue full
        y = x
        for _ in range(16):
            y = fn(y)
        mx.eval(y)

    t = _time(step, 3) / 16
    nbytes = 3 * w * h * layers * dtype.size
    return {
        "width": w,
        "fused": fused,
        "compiled": compiled,
        "ms_per_token": t * 1e3,
        "GBps": nbytes / t / 1e9,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--widths", default="14336,7168,4779,4778,4736,4864,4096,5120,1")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--quantized", action="store_true", help="Only the 4-bit matmul timings.")
    p.add_argument("-o", "--output")
    a = p.parse_args()
    dtype = getattr(mx, a.dtype)
    widths = [int(w) for w in a.widths.split(",")]
    res = {"device": str(mx.default_device()), "hidden": a.hidden, "layers": a.layers}
    if a.quantized:
        res["qgemm"] = [qgemm(a.hidden, w, m) for w in widths if w > 1 for m in (1, 512)]
        print(json.dumps(res, indent=2))
        if a.output:
            open(a.output, "w").write(json.dumps(res, indent=2))
        return
    res["gemv"] = [gemv(a.hidden, w, dtype) for w in widths if w > 1]
    res["stack"] = []
    for w in widths:
        for fused in (False, True):
            for compiled in (False, True):
                r = stack(a.hidden, w, a.layers, dtype, fused, compiled)
                print(json.dumps(r), flush=True)
                res["stack"].append(r)
                mx.clear_cache()
    text = json.dumps(res, indent=2)
    if a.output:
        open(a.output, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
