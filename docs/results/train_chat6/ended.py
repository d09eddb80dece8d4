"""Does a greedy reply end? rw25.c5 against rw25.c6, re-picked as `generate` runs them.

    python docs/results/train_chat6/ended.py C5_DIR C6_DIR [N] [MAX_TOKENS]

N (16) of set 5's validation prompts whose dense reply ended before 128 tokens, N / 4 per group,
each answered greedily up to MAX_TOKENS (160). C5_DIR: `git show 801a17d:mlx_ifp/weights/
smollm2-135m-instruct/<file>` for its four files; C6_DIR: the shipped folder since b9956eb.
A check after the choice (fifty-fifth session), not part of the rule.
"""

import gzip
import json
import sys
from pathlib import Path

import mlx_ifp
from mlx_ifp.sources import PredictorSource

c5, c6 = sys.argv[1:3]
n, most = (int(x) for x in (sys.argv[3:] + ["16", "160"])[:2])
valid = Path(__file__).parents[1] / "train_chat5/answers/valid.jsonl.gz"
rows = [r for r in map(json.loads, gzip.open(valid)) if not r.get("truncated")]
groups = ("math", "code", "knowledge", "writing")
rows = [r for g in groups for r in [x for x in rows if x["group"] == g][: n // 4]]
arms = {}
for name, folder in (("c5", c5), ("c6", c6)):
    model, tok = mlx_ifp.load("smollm2-135m-instruct", adapter_path=folder)
    arms[name] = (model, mlx_ifp.Pruner(model, tok, source=PredictorSource(folder), keep=0.5))
seen = {name: [] for name in arms}
for r in rows:
    for name, (model, pruner) in arms.items():
        *_, last = mlx_ifp.stream_generate(model, tok, r["prompt"], most, pruner=pruner)
        seen[name].append((last.generation_tokens, last.finish_reason == "stop"))
        print(r["group"], name, *seen[name][-1], flush=True)
for name, v in seen.items():
    ended, mean = sum(e for _, e in v), sum(t for t, _ in v) / len(v)
    print(f"{name:4} ended {ended}/{len(v)} mean tokens {mean:.1f}")
