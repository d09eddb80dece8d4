"""Benchmark SoftTopK forward and forward+backward; prints one JSON line and a table.

Usage: python tools/bench_softtopk.py [--trials 20] [--keep 0.333] [--eps 0.1] [--compile]
"""

import mlx_ifp  # noqa: F401, I001  (loads OpenBLAS before mlx.core, so it comes first)
import argparse
import json
import platform
import time
from collections.abc import Callable

import mlx.core as mx
from rich.console import Console
from rich.table import Table

from mlx_ifp.core.mask import soft_topk, training_mask

SHAPES = [(1, 30, 1536), (8, 30, 1536), (1, 56, 24576)]


def _time(fn: Callable[[], object], warmup: int, trials: int) -> dict[str, float]:
    for _ in range(warmup):
        mx.eval(fn())
    times = []
    for _ in range(trials):
        t0 = time.perf_counter()
        mx.eval(fn())
        times.append((time.perf_counter() - t0) * 1e3)
    return {"mean_ms": sum(times) / len(times), "min_ms": min(times)}


def bench(shape: tuple[int, ...], keep: float, eps: float, warmup: int, trials: int, comp: bool):
    """Time soft_topk forward and training_mask forward+backward for one shape."""
    k = max(1, round(keep * shape[-1]))
    s = mx.random.normal(shape, key=mx.random.key(0))
    w = mx.random.normal(shape, key=mx.random.key(1))
    fwd = lambda x: soft_topk(x, k, eps)  # noqa: E731
    bwd = mx.value_and_grad(lambda x: mx.sum(training_mask(x, k, eps) * w))
    if comp:
        fwd, bwd = mx.compile(fwd), mx.compile(bwd)
    mx.eval(s, w)
    return {
        "shape": list(shape),
        "k": k,
        "forward": _time(lambda: fwd(s), warmup, trials),
        "forward_backward": _time(lambda: bwd(s), warmup, trials),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--keep", type=float, default=1 / 3, help="k as a fraction of the width")
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--compile", action="store_true", help="wrap both in mx.compile")
    args = ap.parse_args()

    rows = [bench(sh, args.keep, args.eps, args.warmup, args.trials, args.compile) for sh in SHAPES]
    record = {
        "bench": "softtopk",
        "device": str(mx.default_device()),
        "machine": platform.machine(),
        "mlx": mx.__version__,
        "eps": args.eps,
        "compile": args.compile,
        "trials": args.trials,
        "results": rows,
    }
    print(json.dumps(record))

    table = Table(title=f"SoftTopK ({record['device']}, eps={args.eps}, compile={args.compile})")
    for col in ("shape", "k", "fwd mean ms", "fwd min ms", "fwd+bwd mean ms", "fwd+bwd min ms"):
        table.add_column(col, justify="right")
    for r in rows:
        f, b = r["forward"], r["forward_backward"]
        table.add_row(
            "x".join(map(str, r["shape"])),
            str(r["k"]),
            *(f"{v:.2f}" for v in (f["mean_ms"], f["min_ms"], b["mean_ms"], b["min_ms"])),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
