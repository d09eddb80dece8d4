"""Is the slim model slower than a dense model of its shape? Four width-k models, alternating.

(1) the slim model sliced from SmolLM2, (2) a random dense model of the same shape (bench's
(f)), (3) the slim structure with random FFN values, (4) a copy of the slim model that shares no
array with the source. Decode tok/s over 64 tokens after a 512-token prompt, 5 trials each.

    OPENBLAS_NUM_THREADS=1 python tools/check_same_shape.py 384
"""

import argparse

import mlx_ifp  # noqa: F401  (OpenBLAS before mlx.core)
from mlx_ifp.bench import interleaved
from mlx_ifp.bench.models import build, same_shape_dense
from mlx_ifp.core import ffn, slicing
from mlx_ifp.inference import Pruner

import mlx.core as mx
import mlx.nn as nn


def main(k: int = 384, trials: int = 5) -> None:
    src, tok, _, make_prompt, task = build("smollm2-135m-instruct", None, None)
    prompt = make_prompt(512)
    slim, _ = Pruner(src, tok, "griffin", k).slim_for(task)
    random_ffn = slicing.slim_copy(src, [mx.arange(k)] * len(ffn.layers(src)))
    for m in ffn.ffns(random_ffn):
        for name in ("gate_proj", "up_proj", "down_proj"):
            lin = getattr(m, name)
            lin.weight = mx.random.normal(lin.weight.shape) * 0.02
    unshared = same_shape_dense(src, k, mx.float32)
    unshared.update(nn.utils.tree_map(lambda a: mx.array(a) + 0, slim.parameters()))
    models = {"slim": slim, "random same-shape (f)": same_shape_dense(src, k, mx.float32),
              "slim, random FFN values": random_ffn, "slim, unshared copy": unshared}  # fmt: skip
    mx.eval([m.parameters() for m in models.values()])
    timed = interleaved(models, tok, prompt, 64, trials)
    for name, r in timed.items():
        print(f"{name:26} {r['decode_tps']:6.2f} tok/s  {[round(x, 1) for x in r['all']]}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("k", nargs="?", type=int, default=384, help="FFN channels kept per layer")
    ap.add_argument("--trials", type=int, default=5)
    a = ap.parse_args()
    main(a.k, a.trials)
