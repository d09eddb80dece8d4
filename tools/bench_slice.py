"""Time the ways MLX can copy kept FFN channels out of a weight matrix, on the current device.

Rows (gate/up: keep output rows) and columns (down: keep input channels) of ``layers``
matrices of shape (hidden, d_ffn) or (d_ffn, hidden); every method is checked against the
first one, and timed over one ``mx.eval`` for all layers, as ``ffn.slim_copy`` does.

    python tools/bench_slice.py --preset 135m --keep 0.5
    python tools/bench_slice.py --preset 8b --keep 0.333 -o slice_8b.json
    python tools/bench_slice.py --preset 1.5b --keep 0.5 --whole   # + the whole slim_copy
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import mlx_ifp  # noqa: F401  (OpenBLAS before mlx.core)
from mlx_ifp.bench.models import PRESETS
from mlx_ifp.common import atomic_file

import mlx.core as mx

ROWS = {
    "w[idx]": lambda w, i: w[i],
    "take(axis=0)": lambda w, i: mx.take(w, i, axis=0),
}
COLS = {
    "take_along_axis": lambda w, i: mx.take_along_axis(
        w, mx.broadcast_to(i[None], (w.shape[0], i.size)), axis=1
    ),
    "w[:, idx]": lambda w, i: w[:, i],
    "take(axis=1)": lambda w, i: mx.take(w, i, axis=1),
    "contiguous(w.T[idx].T)": lambda w, i: mx.contiguous(w.T[i].T),
}


def timed(fn, ws, idx, trials: int) -> list[float]:
    out = []
    for _ in range(trials + 1):
        t0 = time.perf_counter()
        mx.eval([fn(w, i) for w, i in zip(ws, idx, strict=True)])
        out.append(time.perf_counter() - t0)
    return out[1:]  # the first call compiles / warms up


def whole(cfg: dict, dt, k: int, trials: int) -> list[dict]:
    """``slicing.slim_copy`` of a random model of ``cfg``: one stream vs ``slice_streams()``."""
    from mlx_ifp.bench.models import random_llama
    from mlx_ifp.core import slicing

    model = random_llama(cfg, dt)
    d, n = cfg["intermediate_size"], cfg["num_hidden_layers"]
    idx = [mx.sort(mx.random.permutation(d)[:k]).astype(mx.uint32) for _ in range(n)]
    mx.eval(idx)
    many = slicing.slice_streams()
    ways = {"1 stream": [mx.default_stream(mx.default_device())], f"{len(many)} streams": many}
    times: dict[str, list[float]] = {w: [] for w in ways}
    for t in range(trials + 1):
        for w in ways if t % 2 else reversed(list(ways)):
            mx.clear_cache()
            t0 = time.perf_counter()
            slim = slicing.slim_copy(model, idx, ways[w])
            if t:  # the first round warms up
                times[w].append(time.perf_counter() - t0)
            del slim
    rows = []
    for w, ts in times.items():
        ms = statistics.median(ts) * 1e3
        rows.append({"kind": "whole", "method": f"slim_copy, {w}", "ms": ms,
                     "all_ms": [x * 1e3 for x in ts]})  # fmt: skip
        print(f"whole slim_copy, {w:22} {ms:8.2f} ms  (median of {len(ts)})")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="135m", choices=sorted(PRESETS))
    ap.add_argument("--keep", type=float, default=0.5)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--dtype", default=None)
    ap.add_argument(
        "--whole",
        action="store_true",
        help="also time slicing.slim_copy of a random model of the preset: one stream against "
        "slice_streams() (several CPU streams on a CPU), alternating, allocator cleared",
    )
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    cfg = PRESETS[a.preset]
    h, d, n = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    k = max(1, round(a.keep * d))
    dt = getattr(mx, a.dtype) if a.dtype else (
        mx.float32 if mx.default_device() == mx.cpu else mx.bfloat16
    )  # fmt: skip
    up = [mx.random.normal((d, h)).astype(dt) for _ in range(n)]
    down = [mx.random.normal((h, d)).astype(dt) for _ in range(n)]
    idx = [mx.sort(mx.random.permutation(d)[:k]).astype(mx.uint32) for _ in range(n)]
    mx.eval(up, down, idx)
    bytes_out = n * h * k * mx.zeros((), dt).itemsize
    rows = []
    for kind, methods, ws in (("rows", ROWS, up), ("cols", COLS, down)):
        ref = None
        for name, fn in methods.items():
            got = [fn(w, i) for w, i in zip(ws, idx, strict=True)]
            ref = got if ref is None else ref
            assert all(mx.array_equal(g, r).item() for g, r in zip(got, ref, strict=True)), name
            t = statistics.median(timed(fn, ws, idx, a.trials))
            rows.append({"kind": kind, "method": name, "ms": t * 1e3,
                         "gb_s": 2 * bytes_out / t / 1e9})  # fmt: skip
            print(f"{kind:4} {name:24} {t * 1e3:8.2f} ms  {rows[-1]['gb_s']:7.1f} GB/s (r+w)")
    if a.whole:
        rows += whole(cfg, dt, k, a.trials)
    if a.output:
        meta = {"device": str(mx.default_device()), "preset": a.preset, "k": k, "dtype": str(dt)}
        with atomic_file(a.output) as tmp:
            tmp.write_text(json.dumps({**meta, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
