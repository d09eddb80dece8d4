"""An ``eval`` report shown: its rich and Markdown tables; plots (PNG or the file suffix's format,
matplotlib Agg): mask overlap between domains per layer group (``run.mask_overlap``), and quality
versus active parameters."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import numpy as np

from ..core import UsageError, atomic_file, check_writable

HEADER = ["domain", "source", "keep", "k", "active"] + [
    f"{c} ({m})" for m in ("input", "task") for c in ("ppl", "KL", "top1", "gen")
]


def rows_of(report: dict) -> list[list[str]]:
    """One line per (domain, source, k), not rounded keep: per-input then per-task cells (a
    re-picked per-input row: "(repick N)" after the source)."""
    out: dict = {}
    for r in report["results"]:
        out.setdefault((r["domain"], r["source"], r["k"]), {})[r["mode"]] = r
    lines = []
    for (dom, src, k), by_mode in out.items():
        first = next(iter(by_mode.values()))
        if n := by_mode.get("input", {}).get("repick"):  # its per-input cells: re-picked
            src = f"{src} (repick {n})"
        cells = [dom, src, f"{first['keep']:.2f}", str(k), f"{first['active_fraction']:.0%}"]
        for mode in ("input", "task"):
            r = by_mode.get(mode) or by_mode.get("static")
            cells += _cells(r) if r else ["-"] * 4
        lines.append(cells)
    return lines


def _cells(r: dict) -> list[str]:
    gen = r.get("exact_match", r.get("pass@1"))
    gen_s = "-" if gen is None else f"{round(gen * r['gen_n'])}/{r['gen_n']}"
    ppl, kl, top1 = (plus_minus(r, *k) for k in (("ppl", ".2f"), ("kl", ".3f"), ("top1", ".1%")))
    return [f"{r['ppl']:.2f}{ppl}", f"{r['kl']:.3f}{kl}", f"{r['top1']:.1%}{top1}", gen_s]


def table(report: dict):
    """The results as a rich table: per-input and per-task side by side."""
    from rich.table import Table

    t = Table(title="mlx_ifp eval (test splits)")
    for i, col in enumerate(HEADER):
        t.add_column(col, justify="left" if i < 5 else "right")
    for cells in rows_of(report):
        t.add_row(*cells)
    return t


def markdown(report: dict) -> str:
    """The results as a Markdown table, for the README."""
    lines = [HEADER, ["---"] * len(HEADER), *rows_of(report)]
    cell = lambda c: str(c).replace("|", "\\|").replace("\n", " ")  # noqa: E731  (| in a name)
    return "\n".join("| " + " | ".join(map(cell, cells)) + " |" for cells in lines)


def plus_minus(row: dict, key: str, spec: str) -> str:
    """A table cell's second line: ``±`` half the width of ``row``'s ``<key>_ci`` (ppl: of
    exp's), formatted by ``spec``; "" without one (a report from before the intervals)."""
    ci = row.get(f"{key}_ci")
    ok = isinstance(ci, list) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci)
    return f"\n±{(ci[1] - ci[0]) / 2:{spec}}" if ok and math.isfinite(ci[1] - ci[0]) else ""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UsageError(
            "plots need matplotlib, not installed here: pip install matplotlib"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # .eps / .ps draw the grid's alpha opaque, and matplotlib said so on stderr at every save
    logging.getLogger("matplotlib.backends.backend_ps").addFilter(_no_alpha_note)  # (once)
    return plt


def _no_alpha_note(record: logging.LogRecord) -> bool:
    return "does not support transparency" not in record.getMessage()


def check_figure(path: str | Path) -> Path:
    """Refuse, before any work, a figure that cannot be written: no matplotlib, a format it
    does not write (from the suffix; none: PNG) or a location ``check_writable`` refuses."""
    plt = _pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    path = check_writable(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    formats = FigureCanvasBase.get_supported_filetypes()
    if fmt not in formats:
        raise UsageError(f"cannot write a .{fmt} figure (choose from .{', .'.join(formats)})")
    # matplotlib writes .pgf through TeX: without it, a RuntimeError traceback after the work
    if fmt == "pgf" and not shutil.which(tex := plt.rcParams["pgf.texsystem"]):
        raise UsageError(
            f"cannot write a .pgf figure: matplotlib writes it through TeX ({tex}), which is not "
            "installed here (choose .pdf or .svg)"
        )
    return path


def plot_overlap(result: dict, path: str | Path) -> Path:
    """A heatmap per layer group, like the paper's Figure 3, on one colour scale (0.4 to 1) so
    that heatmaps of different sources compare by eye."""
    plt = _pyplot()
    mats = np.array(result["overlap"])
    doms = result["domains"]
    fig, axes = plt.subplots(1, len(mats), figsize=(3.6 * len(mats) + 1, 3.6), squeeze=False)
    lo, hi = min(0.4, float(mats.min())), 1.0
    for g, (ax, mat, title) in enumerate(zip(axes[0], mats, result["groups"], strict=True)):
        im = ax.imshow(mat, vmin=lo, vmax=hi, cmap="viridis")
        ax.set_xticks(range(len(doms)), doms, rotation=45, ha="right")
        ax.set_yticks(range(len(doms)), doms if g == 0 else [])
        ax.set_title(title)
        for i in range(len(doms)):
            for j in range(len(doms)):
                color = "black" if mat[i, j] > (lo + hi) / 2 else "white"
                ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", color=color, size=9)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="mask overlap |A∩B|/k")
    upto = "up to " if len(set(result.get("n_per_domain", {}).values())) > 1 else ""
    fig.suptitle(
        f"{result['source']} per-input masks at keep {result['keep']:.2f} "
        f"({upto}{result['n']} test prompts per domain)"
    )
    return _save(fig, path)


METRICS = {
    "ppl": "perplexity of reference (lower is better)",
    "nll": "NLL of reference per token (lower is better)",
    "kl": "KL to dense per token (lower is better)",
    "top1": "top-1 agreement with dense",
    "exact_match": "GSM8K exact match",
    "pass@1": "HumanEval pass@1",
}


def plot_quality(report: dict, path: str | Path, metric: str = "ppl") -> Path:
    """Quality vs active parameters across keep ratios: one line per source (and mode)."""
    if metric not in METRICS:
        raise UsageError(f"unknown metric {metric!r} (choose from {', '.join(METRICS)})")
    plt = _pyplot()
    results = report.get("results") if isinstance(report, dict) else None
    if not isinstance(results, list):
        raise UsageError("the report is not the JSON of `mlx_ifp eval -o` (no 'results' list)")
    always = metric in ("ppl", "nll", "kl", "top1")  # every row's: null is eval's NaN or inf
    rows = [r for r in results if isinstance(r, dict) and (always or r.get(metric) is not None)]
    rows = [{**r, metric: math.nan} if r[metric] is None else r for r in rows if metric in r]
    if not rows:
        raise UsageError(f"the report has no {metric!r} results")
    keys = ("domain", "source", "mode", "active_fraction")
    if not all(all(k in r for k in keys) for r in rows):
        raise UsageError(
            f"the report's rows lack one of {', '.join(keys)}: not from `mlx_ifp eval`"
        )
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    for r in rows:  # a hand-edited "3.0" was drawn as a category, a list or None a traceback
        if not (number(r[metric]) and number(r["active_fraction"])) or not all(
            isinstance(r[k], str) for k in keys[:3]
        ):
            raise UsageError(
                f"a row of the report ({', '.join(f'{k} {r[k]!r}' for k in keys[:3])}) needs "
                f"numbers for {metric} and active_fraction and texts for domain, source and mode"
            )
    drawn = lambda r: bool(np.isfinite(r[metric]) and np.isfinite(r["active_fraction"]))  # noqa: E731
    if not any(map(drawn, rows)):  # a diverged model's NaN: it was an empty figure, "Wrote"
        raise UsageError(f"the report's {metric} values are all NaN or infinite: nothing to draw")
    doms = list(dict.fromkeys(r["domain"] for r in rows))

    def name(r: dict) -> str:  # a re-picked row's line says so
        again = f", repick {r['repick']}" if r.get("repick") else ""
        return r["source"] + ("" if r["mode"] == "static" else f" per-{r['mode']}") + again

    # one colour per line in every panel, a line missing from one (its NaN) shifting none
    labels = sorted({name(r) for r in rows if r["source"] != "full"})
    colour = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    fig, axes = plt.subplots(1, len(doms), figsize=(4.2 * len(doms), 3.8), squeeze=False)
    for ax, dom in zip(axes[0], doms, strict=True):
        mine = [r for r in rows if r["domain"] == dom and drawn(r)]
        lost = sum(r["domain"] == dom for r in rows) - len(mine)  # said, not gaps in silence
        dense = [r for r in mine if r["source"] == "full"]
        lines: dict = {}
        for r in mine:
            if r["source"] != "full":
                lines.setdefault(name(r), []).append(r)
        for label, pts in sorted(lines.items()):
            pts = sorted(pts + dense, key=lambda r: r["active_fraction"])
            style = "--" if label.endswith("per-task") else "-"
            ax.plot(
                [p["active_fraction"] for p in pts],
                [p[metric] for p in pts],
                style,
                marker="o",
                label=label,
                color=colour[label],
            )
            _error_bars(ax, lines[label], metric, colour[label])
        for r in dense:
            ax.plot(r["active_fraction"], r[metric], "k*", markersize=12, label="dense")
            _error_bars(ax, [r], metric, "k")
        ax.set_title(dom + (f" ({lost} NaN/inf not drawn)" if lost else ""))
        ax.set_xlabel("active parameters (fraction of the whole model's)")
        if metric == "ppl":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(METRICS[metric])
    legend: dict = {}  # every domain's lines, each label once (the first's alone: its NaN lost)
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend, loc="lower center", ncol=min(len(legend), 6), fontsize=8)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return _save(fig, path)


def _error_bars(ax, points: list[dict], metric: str, colour: str) -> None:
    """The 95% intervals (``<metric>_ci``, an eval report's since the fifty-second session) of
    the points that carry two finite numbers there, as error bars; none for the others."""
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    ok = lambda ci: isinstance(ci, list) and len(ci) == 2 and all(map(number, ci))  # noqa: E731
    pts = [p for p in points if ok(p.get(f"{metric}_ci")) and np.isfinite(p[f"{metric}_ci"]).all()]
    if pts:
        y = np.array([p[metric] for p in pts], dtype=float)
        lo, hi = np.array([p[f"{metric}_ci"] for p in pts], dtype=float).T
        x = [p["active_fraction"] for p in pts]
        yerr = np.maximum([y - lo, hi - y], 0)
        ax.errorbar(x, y, yerr=yerr, fmt="none", ecolor=colour, capsize=3, alpha=0.6)


def _save(fig, path) -> Path:
    """Write the figure atomically (a temporary file renamed over ``path``), then close it."""
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    _pyplot().close(fig)
    return path


def overlap_sidecar(output: str) -> Path:
    """Where ``plot overlap`` writes its numbers, beside the figure ``output``: checked
    writable, and refused if a file there is not such numbers (e.g. an ``eval -o`` report)."""
    sidecar = check_writable(Path(output).expanduser().with_suffix(".json"))
    if sidecar.exists() and not _overlap_numbers(sidecar):
        raise UsageError(
            f"{sidecar} exists and is not an overlap plot's numbers, which `plot overlap` "
            "writes beside the figure: choose another --output name"
        )
    return sidecar


def _overlap_numbers(path: Path) -> bool:
    """Whether ``path`` holds what ``plot overlap`` writes beside its figure."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(value, dict) and {"overlap", "groups", "domains"} <= value.keys()
