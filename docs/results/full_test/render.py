"""The README's full-test table: the fair table's rows with the re-picked and per-task rows of
test_rw25f_full.json beside the one-mask row (python docs/results/full_test/render.py)."""

import copy
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "tools"))
from eval_ifp import render  # noqa: E402

NAMES = {
    "learned static + same LoRA": "learned static + same LoRA (`static.f`, "
    "the same 1,760 stage-2 steps)",
    "dense + LoRA (rw25f arm), unpruned": "dense + LoRA (the shipped run), unpruned",
    "IFP (rw25f) per input": "**IFP (`rw25.f`) per input, one mask**",
    "IFP (rw25f) per task": "IFP (`rw25.f`) per task (description)",
    "IFP (rw25f), mask of another domain's item": "IFP (`rw25.f`), mask of another domain's item",
}
BESIDE = {  # test_rw25f_full.json's rows, placed after the one-mask row
    "IFP re-picked every 16 reply tokens (prompt + reply so far)": "**IFP (`rw25.f`), "
    "re-picked every 16 reply tokens (`generate`'s default)**",
    "IFP per task, 16 validation examples": "IFP (`rw25.f`) per task (16 validation prompts)",
}
fair = json.loads((HERE / "test_fair_full.json").read_text())
tasks = {r["row"]: r for r in json.loads((HERE / "test_rw25f_full.json").read_text())["rows"]}
rows = []
for r in fair["rows"]:
    rows.append({**r, "row": NAMES.get(r["row"], r["row"])})
    if r["row"] == "IFP (rw25f) per input":
        for name, label in BESIDE.items():
            extra = copy.deepcopy(tasks[name])
            rows.append(
                {**extra, "row": label, "keep": r["keep"], "active_params": r["active_params"]}
            )
print(render(rows))
