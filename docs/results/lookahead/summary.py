"""Per-domain KL / NLL of the lookahead report's rows and the share of the per input ->
re-picked KL gain each one-mask lookahead row recovers: (per input - row) / (per input -
re-picked). Run from this folder: python summary.py valid_k05.json"""

import json
import sys

rep = json.load(open(sys.argv[1]))
rows = {r["row"]: r for r in rep["rows"]}
pi = rows["IFP per input"]
rp = next(r for n, r in rows.items() if n.startswith("IFP re-picked every 16"))
las = [r for n, r in rows.items() if "dense draft" in n]
doms = list(pi["domains"]) + ["mean"]


def val(r, d, key):
    return r[key] if d == "mean" else r["domains"][d][key]


for key in ("kl", "nll"):
    print(f"\n{key.upper()}: | row | " + " | ".join(doms) + " |")
    for r in [pi, rp, *las]:
        print(f"| {r['row']} | " + " | ".join(f"{val(r, d, key):.3f}" for d in doms) + " |")
    for r in las:
        share = [
            (val(pi, d, key) - val(r, d, key)) / (val(pi, d, key) - val(rp, d, key)) for d in doms
        ]
        cells = " | ".join(f"{s:.0%}" for s in share)
        print(f"| share of the {key} gain, {r['row']} | {cells} |")
