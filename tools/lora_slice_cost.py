"""Time slicing a LoRA'd model per prompt: the low-rank delta as a float16 vs a float32 product.

    OPENBLAS_NUM_THREADS=1 python tools/lora_slice_cost.py --trials 3 -o FILE

One process, the shipped predictor + LoRA on the embedded model, a fresh ``Pruner`` per trial,
the two products alternating (old, new / new, old / ...), each slicing the same prompts'
masks. The float16 product is how ``core.ffn.lora_delta`` (then in ``core.adapters``) computed
it before 2026-12-01.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import mlx_ifp

PROMPTS = (
    "What is the capital of France?",
    "Write a poem about rain.",
    "Solve 2+2.",
    "Explain photosynthesis.",
    "Sort a list in Python.",
    "Who wrote Hamlet?",
)


def float16_product(m, rows=None, cols=None):
    """The delta in the adapter's own dtype (float16 for the shipped LoRA)."""
    a = m.lora_a if cols is None else m.lora_a[cols]
    b = m.lora_b if rows is None else m.lora_b[:, rows]
    return (m.scale * b.T) @ a.T


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--keep", default="0.5")
    p.add_argument("-o", "--output", help="write the JSON here")
    a = p.parse_args()
    from mlx_ifp.common import atomic_file
    from mlx_ifp.core import ffn, slicing
    from mlx_ifp.inference import Pruner

    import mlx.core as mx

    fns = {"float16 product (before)": float16_product, "float32 product": ffn.lora_delta}
    res: dict[str, list[float]] = {k: [] for k in fns}
    model, tok = mlx_ifp.load()
    for trial in range(a.trials):
        order = list(fns.items()) if trial % 2 == 0 else list(fns.items())[::-1]
        for name, f in order:
            slicing.lora_delta = f  # the name slicing calls
            pruner = Pruner(model, tok, keep=a.keep)
            for text in PROMPTS:
                res[name].append(pruner.slim_for(text)[1].slice_s * 1e3)
            del pruner
            mx.clear_cache()
    slicing.lora_delta = ffn.lora_delta
    out = {
        name: {"median_ms": statistics.median(v), "min_ms": min(v), "max_ms": max(v), "n": len(v)}
        for name, v in res.items()
    }
    print("| delta | slice ms, median | min | max | slices |\n|---|---|---|---|---|")
    for name, r in out.items():
        ms = " | ".join(f"{r[k]:.0f}" for k in ("median_ms", "min_ms", "max_ms"))
        print(f"| {name} | {ms} | {r['n']} |")
    if a.output:
        with atomic_file(Path(a.output)) as tmp:
            Path(tmp).write_text(json.dumps({"keep": a.keep, "prompts": PROMPTS, **out}, indent=1))


if __name__ == "__main__":
    main()
