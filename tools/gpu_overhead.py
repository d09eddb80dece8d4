"""Where batch-1 decode time goes on MLX's CUDA backend, and which backend settings move it.

For one random-weight preset (default: the Llama 3.1 8B shape, bf16) this times, in alternating
trials, the dense model and slim copies at the given FFN widths, and reports per-token time,
the speed-up over dense and the ideal (weight bytes) ratio. It also splits one synchronous
decode step into Python graph building and evaluation.

MLX's CUDA backend records kernels into CUDA graphs of ``MLX_MAX_OPS_PER_BUFFER`` nodes (20 by
default), updates or instantiates them, then launches them; ``MLX_USE_CUDA_GRAPHS=0`` launches
kernels directly. These settings are read once per process, so ``--sweep`` re-runs this script
in a child process per setting.

    python tools/gpu_overhead.py --preset 8b --k 4779 --k 16 -o gpu_overhead.json
    python tools/gpu_overhead.py --sweep -o gpu_overhead_sweep.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SETTINGS = [
    {},
    {"MLX_USE_CUDA_GRAPHS": "0"},
    {"MLX_MAX_OPS_PER_BUFFER": "5"},
    {"MLX_MAX_OPS_PER_BUFFER": "100"},
    {"MLX_MAX_OPS_PER_BUFFER": "250"},
    {"MLX_CUDA_GRAPH_CACHE_SIZE": "2000"},
]


def step_split(model, prompt, steps: int = 32) -> dict:
    """Synchronous decode: seconds per token spent building the graph vs evaluating it."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(model)
    y = mx.argmax(model(mx.array(prompt)[None], cache=cache)[:, -1], axis=-1)
    mx.eval(y)
    build, run = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        logits = model(y[None], cache=cache)
        y = mx.argmax(logits[:, -1], axis=-1)
        t1 = time.perf_counter()
        mx.eval(y)
        t2 = time.perf_counter()
        build.append(t1 - t0)
        run.append(t2 - t1)
    return {"build_ms": statistics.median(build) * 1e3, "eval_ms": statistics.median(run) * 1e3}


def measure(preset: str, widths: list[int], prompt_len: int, gen: int, trials: int) -> dict:
    from mlx_ifp.bench.models import build
    from mlx_ifp.bench.run import decode_bytes, interleaved
    from mlx_ifp.core import ffn, slicing

    import mlx.core as mx

    src, tok, _, make_prompt, _ = build("", preset, None)
    prompt = make_prompt(prompt_len)
    d = ffn.d_ffn(src)
    models = {"dense": src}
    for k in widths:
        idx = mx.arange(k)  # which channels does not matter for speed
        models[f"k{k}"] = slicing.slim_copy(src, [idx] * len(ffn.layers(src)))
        mx.eval(models[f"k{k}"].parameters())
    timed = interleaved(models, tok, prompt, gen, trials)  # drift hits every model alike
    dense_bytes = decode_bytes(src)
    out = {"preset": preset, "d_ffn": d, "env": _env(), "models": {}}
    base = timed["dense"]["decode_tps"]
    for name, m in models.items():
        tps = timed[name]["decode_tps"]
        out["models"][name] = {
            "decode_tps": tps,
            "ms_per_token": 1e3 / tps,
            "all": timed[name]["all"],
            "speedup": tps / base,
            "ideal": dense_bytes / decode_bytes(m),
            **step_split(m, prompt),
        }
    return out


def _env() -> dict:
    keys = ("MLX_USE_CUDA_GRAPHS", "MLX_MAX_OPS_PER_BUFFER", "MLX_CUDA_GRAPH_CACHE_SIZE")
    return {k: os.environ[k] for k in keys if k in os.environ}


def table(results: list[dict]) -> str:
    lines = ["| setting | model | tok/s | ms/token | build ms | eval ms | speed-up | ideal |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        name = ", ".join(f"{k}={v}" for k, v in r["env"].items()) or "default"
        for m, v in r["models"].items():
            lines.append(
                f"| {name} | {m} | {v['decode_tps']:.1f} | {v['ms_per_token']:.2f} | "
                f"{v['build_ms']:.2f} | {v['eval_ms']:.2f} | {v['speedup']:.2f} | "
                f"{v['ideal']:.2f} |"
            )
    return "\n".join(lines)


def _write(path: str, obj) -> None:
    from mlx_ifp.common import atomic_file

    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="8b")
    ap.add_argument("--k", type=int, action="append", help="Slim FFN widths (repeat).")
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--sweep", action="store_true", help="One child process per setting.")
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    widths = a.k or [4779, 16]
    if a.sweep:
        results = []
        for setting in SETTINGS:
            cmd = [
                sys.executable,
                __file__,
                "--preset",
                a.preset,
                "--trials",
                str(a.trials),
                "--prompt-tokens",
                str(a.prompt_tokens),
                "--gen-tokens",
                str(a.gen_tokens),
            ]
            cmd += [f"--k={k}" for k in widths]  # fmt: skip
            env = {**os.environ, **setting}
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
            if out.returncode:
                print(f"{setting}: failed\n{out.stderr[-2000:]}", file=sys.stderr, flush=True)
                continue
            results.append(json.loads(out.stdout))
            print(table(results[-1:]), file=sys.stderr, flush=True)
            if a.output:
                _write(a.output, results)
        print(table(results))
        return
    result = measure(a.preset, widths, a.prompt_tokens, a.gen_tokens, a.trials)
    if a.output:
        _write(a.output, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
