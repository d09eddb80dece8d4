"""What does observing FFN activations add to a cache-only prefill? (SmolLM2, 512 tokens, CPU)

A near-empty hook (``h[0, -1] * 1``) on every layer, on every layer but the last, and on the
last layer only, against the plain prefill, in alternating trials. A prefill that only keeps the
KV cache never computes the last layer's attention output and FFN (lazy evaluation); a hook on
that layer makes MLX compute them.

    OPENBLAS_NUM_THREADS=1 python tools/observer_cost.py
"""

import argparse
import statistics
import time

import mlx_ifp  # noqa: F401  (OpenBLAS before mlx.core)
from mlx_ifp.bench.models import build
from mlx_ifp.core import ffn

import mlx.core as mx
from mlx_lm.models.cache import make_prompt_cache


def main(trials: int = 5) -> None:
    src, _, _, make_prompt, _ = build("smollm2-135m-instruct", None, None)
    prompt = mx.array(make_prompt(512))
    last = len(ffn.layers(src)) - 1
    kept: dict = {}

    def run(hook) -> None:
        cache = make_prompt_cache(src)
        with ffn.observed(src, hook):
            src.model(prompt[None], cache=cache)
            mx.eval([c.state for c in cache], list(kept.values()))

    def keep(i, h):
        kept[i] = h[0, -1] * 1
        mx.async_eval(kept[i])

    hooks = {
        "plain": None,
        "every layer": keep,
        "all but the last": lambda i, h: keep(i, h) if i < last else None,
        "the last only": lambda i, h: keep(i, h) if i == last else None,
    }
    rows: dict = {name: [] for name in hooks}
    for t in range(trials + 1):
        for name, hook in hooks.items():
            kept.clear()
            mx.clear_cache()
            t0 = time.perf_counter()
            run(hook)
            if t:
                rows[name].append(time.perf_counter() - t0)
    base = statistics.median(rows["plain"])
    for name, r in rows.items():
        med = statistics.median(r)
        print(
            f"{name:18} {med:6.3f} s  ({(med - base) * 1e3:+5.0f} ms)  {[round(x, 3) for x in r]}"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    main(ap.parse_args().trials)
