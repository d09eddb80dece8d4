"""The learning rate that sweep.sh's lanes chose, by the rule written before the sweep: among the
lanes that never warned of diverging, the lowest validation KL at the last step every lane
was validated at. Prints the rate (and a table on stderr); exit 2 if no lane qualifies.
A lane that ended in an error (out of memory) before its first validation after step 0 says
nothing about its rate and is left out (added after the twenty-fifth session's sweep, where the
1e-4 lane died so and the rule as first written chose nothing; the run then took 2.5e-5, which
this amended rule also picks).

    python3 docs/results/train_q15/pick_rate.py [/tmp/runs]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

VAL = re.compile(r"step (\d+): val CE [\d.naif]+, KL to source ([\d.naif]+)")


def readings(log: Path) -> tuple[dict[int, float], bool, bool]:
    """{step: validation KL} from a ``finetune`` log, whether it warned of diverging, and
    whether it ended in an error."""
    text = log.read_text(errors="replace").replace("\r", "\n")
    return {int(s): float(v) for s, v in VAL.findall(text)}, "diverging" in text, "Error:" in text


def main() -> int:
    runs = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/runs")
    lanes = {}
    for log in sorted(runs.glob("k0.5-static.lr*/stage2.log")):
        rate = log.parent.name.split(".lr", 1)[1]
        vals, warned, failed = readings(log)
        if failed and max(vals, default=0) == 0:
            print(f"{rate}: died before any reading after step 0: left out", file=sys.stderr)
            continue
        lanes[rate] = vals, warned
    if not lanes:
        print(f"no sweep lanes under {runs}", file=sys.stderr)
        return 2
    common = max(set.intersection(*(set(v) for v, _ in lanes.values())), default=0)
    for rate, (vals, warned) in lanes.items():
        print(f"{rate}: KL at step {common} {vals.get(common)}, warned {warned}", file=sys.stderr)
    ok = {r: v[common] for r, (v, warned) in lanes.items() if not warned and common in v}
    if not ok or common == 0:
        print("no lane qualifies (each warned, or none got past step 0)", file=sys.stderr)
        return 2
    print(min(ok, key=ok.get))
    return 0


if __name__ == "__main__":
    sys.exit(main())
