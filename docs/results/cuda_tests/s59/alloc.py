"""``models.allocated_bytes`` against MLX's own active memory on this device (no serve extra
needed): single buffers of sizes around a page and a power of two, then two slim models of the
embedded SmolLM2 (the shipped predictor + LoRA, and GRIFFIN), counted as ``serve``'s registry
counts a slot (the arrays the slim model holds that the source does not). Prints JSON and a table.
    python docs/results/cuda_tests/s59/alloc.py [-o FILE]"""

import argparse
import json

import mlx_ifp
from mlx_ifp.models import allocated_bytes

import mlx.core as mx
from mlx.utils import tree_flatten

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("-o", "--output")
args = ap.parse_args()
device = mx.default_device().type.name
mx.eval(mx.zeros(1))
buffers = []
for n in (1, 5, 8, 9, 3000, 16383, 16384, 16385, 27648, 884736, 884737, 3_000_001):
    before = mx.get_active_memory()
    a = mx.zeros((n,), dtype=mx.uint8)
    mx.eval(a)
    grown = mx.get_active_memory() - before
    buffers.append({"bytes": n, "counted": allocated_bytes(n), "grown": grown})
    del a
ids = lambda m: {id(a): a for _, a in tree_flatten(m.parameters())}  # noqa: E731
slims = []
model, tok = mlx_ifp.load(dequantize=True)
for source in ("predictor", "griffin"):
    pruner = mlx_ifp.Pruner(model, tok, source, keep=0.5)
    pruner.slim_for("Reverse a list in Python.")  # the first: a shared base (LoRA'd copy) is made
    base = {**ids(model), **(ids(pruner.slim_base) if getattr(pruner, "slim_base", None) else {})}
    base.update(ids(pruner.model) if getattr(pruner, "model", None) is not None else {})
    mx.eval(mx.zeros(1))
    before = mx.get_active_memory()
    held = [pruner.slim_for(t)[0] for t in ("Solve 3x + 5 = 20.", "Write a haiku.")]
    grown = mx.get_active_memory() - before
    new = {i: a for m in held for i, a in ids(m).items() if i not in base}
    counted = sum(allocated_bytes(a.nbytes) for a in new.values())
    asked = sum(a.nbytes for a in new.values())
    slims.append({"source": source, "arrays": len(new), "bytes_asked": asked, "counted": counted,
                  "grown": grown, "ratio_grown_to_counted": grown / max(counted, 1)})  # fmt: skip
    del held, pruner
out = {"device": device, "mlx": mx.__version__, "buffers": buffers, "slims": slims}
print(json.dumps(out, indent=1))
print(f"{'bytes':>10} {'counted':>10} {'grown':>10}")
for b in buffers:
    print(f"{b['bytes']:>10} {b['counted']:>10} {b['grown']:>10}")
for s in slims:
    print(
        f"{s['source']:10} asked {s['bytes_asked']:>10} counted {s['counted']:>10} "
        f"grown {s['grown']:>10} ratio {s['ratio_grown_to_counted']:.4f}"
    )
if args.output:
    with open(args.output, "w") as f:
        json.dump(out, f, indent=1)
