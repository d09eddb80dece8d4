"""The server's per-slot memory count (``Registry.slot_bytes``, what ``--cache-gb`` divides by)
against MLX's own count of what two more slim models allocate, on the embedded SmolLM2 with its
shipped predictor + LoRA and with GRIFFIN (tests/test_review_s52_hregbytes.py checks it on a tiny
model, where CUDA's allocator rounding of many small arrays dominates). Prints JSON and a table.
    python docs/results/cuda_tests/s57/regbytes.py [-o FILE]"""

import argparse
import json

import mlx_ifp
from mlx_ifp.serve.registry import Registry

import mlx.core as mx

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("-o", "--output")
args = ap.parse_args()
model, tok = mlx_ifp.load()
rows = []
for source in ("predictor", "griffin"):
    reg = Registry(model, tok, "smollm2", keep=0.5, mask_source=source, cache_bytes=4e9)
    reg.task_pruner.slim_for("Reverse a list in Python.")  # the first: any shared base is made
    mx.eval(mx.zeros(1))
    before = mx.get_active_memory()
    held = [reg.task_pruner.slim_for(t)[0] for t in ("Solve 3x + 5 = 20.", "Write a haiku.")]
    grown = mx.get_active_memory() - before
    rows.append({"source": source, "device": mx.default_device().type.name,
                 "slot_bytes": reg.slot_bytes, "grown_two_slots": grown,
                 "ratio": grown / (2 * reg.slot_bytes)})  # fmt: skip
    del held, reg
print(json.dumps(rows, indent=1))
print("| source | device | slot_bytes (MB) | two slots, MLX active (MB) | ratio |")
print("|---|---|---|---|---|")
for r in rows:
    print(f"| {r['source']} | {r['device']} | {r['slot_bytes'] / 1e6:.2f} | "
          f"{r['grown_two_slots'] / 1e6:.2f} | {r['ratio']:.3f} |")  # fmt: skip
if args.output:
    with open(args.output, "w") as f:
        json.dump(rows, f, indent=1)
