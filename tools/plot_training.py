r"""Loss and mask diversity over training, one line per run, as a figure.

Train loss, validation KL to the source, and the probe's cross-domain Jaccard (collapse shows as
a climb towards 1).

    python tools/plot_training.py docs/results/train_default docs/results/train_arms \
        -o docs/train_curves.png
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from mlx_ifp.common import UsageError, atomic_file, read_json

NUM = r"[\d.]+|nan|-?inf"  # a run gone NaN logs `val CE nan`: a point (drawn as a gap)
VAL = re.compile(rf"step (\d+): val CE ({NUM}), KL to source ({NUM})")
JAC = re.compile(rf"step (\d+): mask Jaccard within (?:{NUM}), across ({NUM})")
STEPS = re.compile(r"^steps (\d+),", re.M)


def from_log(path: Path) -> dict:
    """A stage's state rebuilt from its log (for a run whose trainer_state.json stayed on the
    GPU machine): validation and probe points, the step count; no per-step train loss."""
    text = path.read_text(errors="replace")
    val = [[int(s), float(ce), float(kl)] for s, ce, kl in VAL.findall(text)]
    div = [{"step": int(s), "jaccard_across": float(j)} for s, j in JAC.findall(text)]
    steps = [int(s) for s in STEPS.findall(text)]
    return {"history": [], "val": val, "diversity": div, "step": steps[-1] if steps else 0}


def state(folder: Path, name: str, stage: int | str) -> dict | None:
    path = folder / f"{name}-stage{stage}.trainer_state.json"
    if path.is_file():  # (a bad file: one line naming it, not a traceback)
        return read_json(path, "trainer state")
    log = folder / f"{name}-stage{stage}.log"  # a continuation's log lacks its start step
    return from_log(log) if log.is_file() and stage not in ("2c", "2f") else None


def runs(folders: list[str]) -> dict[str, list[dict]]:
    """{run name: [stage-1, stage-2, continued stage-2 states]} from
    ``*-stage{1,2,2c,2f}.trainer_state.json`` (or the stage's ``.log`` where its state is
    missing)."""
    out: dict[str, list[dict]] = {}
    for folder in map(Path, folders):
        names = {p.name.split("-stage")[0] for p in folder.glob("*-stage[12]*.*")}
        for name in sorted(names):
            states = [s for s in (state(folder, name, n) for n in (1, 2, "2c", "2f")) if s]
            if states:
                out[f"{folder.name}/{name}"] = states
    return out


def curves(states: list[dict]) -> tuple[list, list, list, list]:
    """One run's stages end to end: train-loss steps and values, validation (step, KL) and
    probe (step, cross-domain Jaccard) points, on one step axis."""
    offset, xs, loss, val, jac = 0, [], [], [], []
    for st in states:
        cont = (st.get("config") or {}).get("start_step", 0)
        offset -= cont  # a continuation (stage 2c, 2f) goes on from step `cont` of the stage before
        xs += [offset + cont + i + 1 for i in range(len(st["history"]))]
        loss += st["history"]
        val += [(offset + s, kl) for s, _, kl in st.get("val", [])]
        jac += [(offset + d["step"], d["jaccard_across"]) for d in st.get("diversity", [])]
        offset += st["step"]
    return xs, loss, val, jac


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", help="folders of *-stage{1,2,2c,2f}.trainer_state.json")
    p.add_argument("-o", "--output", required=True, help="figure to write (PNG, or its suffix's)")
    a = p.parse_args()
    try:
        main_checked(a.folders, a.output)
    except UsageError as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(2)


def main_checked(folders: list[str], output: str) -> None:
    from mlx_ifp.evaluation import check_figure

    out = check_figure(output)  # matplotlib, the suffix's format, a place to write: before all
    found = {name: curves(states) for name, states in runs(folders).items()}
    if not found:  # a typo, or a run with no state or log yet: it was an empty figure, "Wrote"
        raise UsageError(f"no training run in {', '.join(folders)} (no *-stage1/2 "
                         "trainer_state.json or .log)")  # fmt: skip
    if not any(loss or val or jac for _, loss, val, jac in found.values()):  # a log at step 0
        raise UsageError(f"nothing to draw yet: {', '.join(found)} logged no loss, validation "
                         "or probe step")  # fmt: skip
    for name, (_, loss, val, jac) in found.items():  # matplotlib leaves them out: gaps
        ys = (loss, [y for _, y in val], [y for _, y in jac])
        bad = [sum(not math.isfinite(y) for y in values) for values in ys]
        if any(bad):
            print(f"Note: {name}: {bad[0]} train loss, {bad[1]} validation and {bad[2]} probe "
                  "points not finite (gaps in its curves)", file=sys.stderr)  # fmt: skip
    import matplotlib.pyplot as plt  # (check_figure chose the Agg backend)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, (xs, loss, val, jac) in found.items():
        axes[0].plot(xs, loss, lw=0.8, label=name)
        for ax, points in ((axes[1], val), (axes[2], jac)):
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", ms=3, label=name)
    titles = ("train loss (KL to the source)", "validation KL to the source (hard masks)",
              "probe: mean cross-domain Jaccard of masks")  # fmt: skip
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step (stage 1, then stage 2, then its continuations)")
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[2].axhline(0.75, color="grey", ls="--", lw=0.8)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    with atomic_file(out) as tmp:  # it was PNG bytes whatever the name (curves.svg)
        fig.savefig(tmp, dpi=110, format=out.suffix.lstrip(".").lower() or "png")
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
