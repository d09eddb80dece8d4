"""Measure what the optimized BLAS buys on Linux CPU: GEMM GFLOP/s and SmolLM2 tok/s.

Runs the same measurement twice in child processes, once with the reference BLAS of the
mlx-cpu wheel (MLX_IFP_BLAS=none) and once with OpenBLAS, and prints JSON plus a table.

    python tools/bench_blas.py [--size 1024] [--prompt-tokens 256] [--gen-tokens 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def measure(size: int, prompt_tokens: int, gen_tokens: int) -> dict:
    """Run in a child: GEMM throughput, then prefill and decode speed of the default model."""
    import mlx_ifp
    from mlx_ifp.models import blas

    import mlx.core as mx
    from mlx_lm import stream_generate

    a = mx.random.normal((size, size))
    mx.eval(a @ a)
    reps, t = 0, time.perf_counter()
    while reps < 3 or time.perf_counter() - t < 2.0:
        mx.eval(a @ a)
        reps += 1
    gflops = 2 * size**3 * reps / (time.perf_counter() - t) / 1e9
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    prompt = mx.random.randint(100, 40000, (prompt_tokens,), key=mx.random.key(0))
    last = None
    for response in stream_generate(model, tok, prompt, max_tokens=gen_tokens):
        last = response
    return {
        "blas": blas.STATUS.split(" (")[0],
        "gemm_gflops": round(gflops, 1),
        "prompt_tps": round(last.prompt_tps, 1),
        "generation_tps": round(last.generation_tps, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--prompt-tokens", type=int, default=256)
    p.add_argument("--gen-tokens", type=int, default=64)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.size, args.prompt_tokens, args.gen_tokens)))
        return
    rows = []
    for choice in ("none", "auto"):
        env = {**os.environ, "MLX_IFP_BLAS": choice}
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--size",
                str(args.size),
                "--prompt-tokens",
                str(args.prompt_tokens),
                "--gen-tokens",
                str(args.gen_tokens),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    ref, opt = rows
    keys = ("gemm_gflops", "prompt_tps", "generation_tps")
    speedup = {k: round(opt[k] / ref[k], 1) for k in keys}
    print(json.dumps({"reference": ref, "optimized": opt, "speedup": speedup}))

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Linux CPU BLAS (GEMM {args.size}^2 fp32; SmolLM2-135M fp32, "
        f"{args.prompt_tokens}-token prompt, {args.gen_tokens} generated)"
    )
    for col in ("BLAS", "GEMM GFLOP/s", "prompt tok/s", "generation tok/s"):
        table.add_column(col, justify="right")
    for r in rows + [dict(speedup, blas="speed-up")]:
        table.add_row(
            r["blas"], *(str(r[k]) for k in ("gemm_gflops", "prompt_tps", "generation_tps"))
        )
    Console().print(table)


if __name__ == "__main__":
    main()
