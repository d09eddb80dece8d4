"""Decode tok/s of the default slim model (its LoRA layers unfused) vs GRIFFIN's slim model of
the same width, alternating, median of 3 (no arguments; prints JSON).

    OPENBLAS_NUM_THREADS=1 python tools/lora_decode_cost.py
"""

import argparse
import json

import mlx_ifp  # noqa: I001  (before mlx_lm: it loads the optimized BLAS)

import mlx_lm

argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
m, tok = mlx_ifp.load("smollm2-135m-instruct")
p = "Write a short story about a lighthouse keeper."
rows = {
    "ifp (LoRA unfused)": mlx_ifp.select(m, tok, p, keep=0.5)[0],
    "griffin slim": mlx_ifp.select(m, tok, p, keep=0.5, mask_source="griffin")[0],
}
res = {k: [] for k in rows}
for _ in range(3):
    for k, net in rows.items():
        for r in mlx_lm.stream_generate(net, tok, p, max_tokens=48):
            tps = r.generation_tps
        res[k].append(tps)
print(json.dumps({k: sorted(v)[1] for k, v in res.items()}))
