"""Check a slice's trainer states against the records (CPU, after `slice.sh back`; README.md here).

    python docs/results/train_static_k033/check.py DIR [--pack640 P640_DIR]

DIR: where `slice.sh back`'s logs/states.tgz was unpacked (`tar xzf states.tgz -C DIR`: it holds
tmp/runs/k0.33-<arm>/stage*/trainer_state.json). For each new state found, the settings that shape
training are compared with the record's (the old static control for stage 1, stage 2 and the 640 ->
1280 continuation; the predictor's own continuation for the facts and writing segments, its
predictor block and re-picking aside), and, where the record is the static control's, every
training loss and validation point: equal to the last digit means the same computation (the
device was bit-for-bit deterministic before, docs/anti_collapse.md). --pack640 compares the new
float16 pack at step 640 with the one kept in git (56f8b50), file by file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
R = "docs/results"
RECORDS = {  # (arm, stage folder) -> (record, same arm: compare losses too)
    ("static", "stage1"): (f"{R}/train_k033_general/k0.33-static-stage1.trainer_state.json", 1),
    ("static", "stage2"): (f"{R}/train_k033_general/k0.33-static-stage2.trainer_state.json", 1),
    ("static.c", "stage2"): (f"{R}/train_k033_long/k0.33-static-stage2c.trainer_state.json", 1),
    ("static.f", "stage2"): (f"{R}/train_facts_k033/k0.33-rw25.f-stage2f.trainer_state.json", 0),
    ("static.w3", "stage2-2070"): (
        f"{R}/train_writing_k033/device_logs/s44/k0.33-rw25.w3/trainer_state.json",
        0,
    ),
}
# where the runs may differ: paths, the machine's memory limit, a time limit, checkpoint spacing,
# the arm's predictor block (and the re-picking only a predictor can do)
FREE = {"data", "output", "init_from", "resume", "memory_limit", "max_seconds", "save_every"}
ARM_ONLY = {"predictor", "repick", "repick_share"}
GIT_PACK = "56f8b50:docs/results/train_k033_general/k0.33-static/stage2"


def compare(new: dict, old: dict, same_arm: bool) -> list[str]:
    said = []
    a, b = new["config"], old["config"]
    skip = FREE | (set() if same_arm else ARM_ONLY)
    for key in sorted((set(a) | set(b)) - skip):
        if key in a and key in b and a[key] != b[key]:
            said.append(f"  config {key}: {a[key]!r} here, {b[key]!r} in the record")
        elif key not in b and a.get(key) not in (None, 0, 0.0, False, "", []):
            said.append(f"  config {key}: {a[key]!r} here, absent (a default) in the record")
    if Path(a["data"]).name != Path(b["data"]).name:
        said.append(f"  data {Path(a['data']).parent.name} (record: {Path(b['data']).parent.name})")
    said.append(f"  step {new['step']} (record {old['step']})")
    if same_arm:
        h, g = new["history"], old["history"]
        n = min(len(h), len(g))
        diff = [abs(x - y) for x, y in zip(h[:n], g[:n], strict=True)]
        first = next((i for i, d in enumerate(diff) if d), None)
        where = "equal" if first is None else f"first differs at loss {first + 1} of the segment"
        said.append(f"  losses: {n} compared, {where}, max |diff| {max(diff, default=0):.3g}")
        val_new, val_old = {v[0]: v[1:] for v in new["val"]}, {v[0]: v[1:] for v in old["val"]}
        for s in sorted(set(val_new) & set(val_old)):
            mark = "" if val_new[s] == val_old[s] else "  <- differs"
            said.append(f"  val step {s}: {val_new[s]} here, {val_old[s]} record{mark}")
    return said


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dir", type=Path, help="states.tgz unpacked here")
    ap.add_argument("--pack640", type=Path, help="the new p640 pack's stage2 folder")
    args = ap.parse_args()
    found = 0
    for (arm, stage), (record, same_arm) in RECORDS.items():
        for new_path in sorted(args.dir.rglob(f"k0.33-{arm}/{stage}/trainer_state.json")):
            found += 1
            new = json.loads(new_path.read_text())
            old = json.loads((ROOT / record).read_text())
            print(f"{new_path} against {record}:")
            print("\n".join(compare(new, old, same_arm)))
    if args.pack640:
        for name in ("adapters.safetensors", "predictor.safetensors", "ifp_config.json"):
            git = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{GIT_PACK}/{name}"],
                capture_output=True,
                check=True,
            ).stdout
            here = (args.pack640 / name).read_bytes()
            same = hashlib.sha256(git).digest() == hashlib.sha256(here).digest()
            print(f"p640 {name}: {'the same bytes as' if same else 'DIFFERENT from'} {GIT_PACK}")
            found += 1
    if not found:
        print(f"no trainer states of the segments under {args.dir}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
