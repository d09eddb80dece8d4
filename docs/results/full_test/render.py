"""The README's full-test table: the fair table's rows with the re-picked and per-task rows of the
predictor's own scores beside the one-mask row.

    python docs/results/full_test/render.py [f|w|w2|w3|c4|c5|c6]   (rw25.f, rw25.w, ..., rw25.c6)
"""

import copy
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "tools"))
from eval_ifp import render  # noqa: E402

ARM = sys.argv[1] if len(sys.argv) > 1 else "f"
STEPS = {
    "f": "1,760",
    "w": "2,240",
    "w2": "2,720",
    "w3": "3,080",
    "c4": "3,440",
    "c5": "3,800",
    "c6": "4,160",
}
STEPS = STEPS[ARM]  # stage 2
FAIR = {"f": "test_fair_full.json"}.get(ARM, f"test_fair_{ARM}_full.json")
own, name = f"rw25{ARM}", f"`rw25.{ARM}`"
row_arm = {"w2": "rw25w"}.get(ARM, own)  # the arm's name in the fair rows (score_only.sh's folder)
NAMES = {
    "learned static + same LoRA": f"learned static + same LoRA (`static.{ARM}`, "
    f"the same {STEPS} stage-2 steps)",
    f"dense + LoRA ({row_arm} arm), unpruned": "dense + LoRA (the shipped run), unpruned",
    f"IFP ({row_arm}) per input": f"**IFP ({name}) per input, one mask**",
    f"IFP ({row_arm}) per task": f"IFP ({name}) per task (description)",
    f"IFP ({row_arm}), mask of another domain's item": (
        f"IFP ({name}), mask of another domain's item"
    ),
}
BESIDE = {  # the predictor's own rows, placed after the one-mask row
    "IFP re-picked every 16 reply tokens (prompt + reply so far)": f"**IFP ({name}), "
    "re-picked every 16 reply tokens (`generate`'s default)**",
    "IFP per task, 16 validation examples": f"IFP ({name}) per task (16 validation prompts)",
}
fair = json.loads((HERE / FAIR).read_text())
tasks = {r["row"]: r for r in json.loads((HERE / f"test_{own}_full.json").read_text())["rows"]}
rows = []
for r in fair["rows"]:
    rows.append({**r, "row": NAMES.get(r["row"], r["row"])})
    if r["row"] == f"IFP ({row_arm}) per input":
        for key, label in BESIDE.items():
            extra = copy.deepcopy(tasks[key])
            rows.append(
                {**extra, "row": label, "keep": r["keep"], "active_params": r["active_params"]}
            )
print(render(rows))
