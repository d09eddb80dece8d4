"""The keep-0.33 fair tables on every test item (README.md here, fifty-fourth session): the fair
rows (`scores/test_fair_k033s_full.json`) with the shipped predictor's re-picked and per-task rows
(`scores/test_k033w_full_s.json`) placed after its one-mask row.

    python docs/results/train_static_k033/render.py
"""

import copy
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "tools"))
from eval_ifp import render  # noqa: E402

NAMES = {
    "learned static + same LoRA": "learned static + same LoRA (`static.w3`, the same 2,070 "
    "stage-2 steps)",
    "dense + LoRA (rw25w3 arm), unpruned": "dense + LoRA (the shipped run), unpruned",
    "IFP (rw25w3) per input": "**IFP (keep-0.33 default) per input, one mask**",
    "IFP (rw25w3) per task": "IFP (keep-0.33 default) per task (description)",
    "IFP (rw25w3), mask of another domain's item": "IFP (keep-0.33 default), mask of another "
    "domain's item",
}
BESIDE = {
    "IFP re-picked every 16 reply tokens (prompt + reply so far)": "**IFP (keep-0.33 default), "
    "re-picked every 16 reply tokens (`generate`'s default)**",
    "IFP per task, 16 validation examples": "IFP (keep-0.33 default) per task (16 validation "
    "prompts)",
}
fair = json.loads((HERE / "scores/test_fair_k033s_full.json").read_text())
own = json.loads((HERE / "scores/test_k033w_full_s.json").read_text())["rows"]
tasks = {r["row"]: r for r in own}
rows = []
for r in fair["rows"]:
    rows.append({**r, "row": NAMES.get(r["row"], r["row"])})
    if r["row"] == "IFP (rw25w3) per input":
        for key, label in BESIDE.items():
            extra = copy.deepcopy(tasks[key])
            rows.append(
                {**extra, "row": label, "keep": r["keep"], "active_params": r["active_params"]}
            )
print(render(rows))
