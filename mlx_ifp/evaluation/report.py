"""Report formatting for ``mlx_ifp eval``: a rich table and a markdown table of the results."""

from __future__ import annotations

HEADER = ["domain", "source", "keep", "active"] + [
    f"{c} ({m})" for m in ("input", "task") for c in ("ppl", "KL", "top1", "gen")
]


def rows_of(report: dict) -> list[list[str]]:
    """One line per (domain, source, keep): per-input then per-task cells (static in both)."""
    out: dict = {}
    for r in report["results"]:
        out.setdefault((r["domain"], r["source"], r["keep"]), {})[r["mode"]] = r
    lines = []
    for (dom, src, keep), by_mode in out.items():
        first = next(iter(by_mode.values()))
        cells = [dom, src, f"{keep:.2f}", f"{first['active_fraction']:.0%}"]
        for mode in ("input", "task"):
            r = by_mode.get(mode) or by_mode.get("static")
            cells += _cells(r) if r else ["-"] * 4
        lines.append(cells)
    return lines


def _cells(r: dict) -> list[str]:
    gen = r.get("exact_match", r.get("pass@1"))
    gen_s = "-" if gen is None else f"{round(gen * r['gen_n'])}/{r['gen_n']}"
    return [f"{r['ppl']:.2f}", f"{r['kl']:.3f}", f"{r['top1']:.1%}", gen_s]


def table(report: dict):
    """The results as a rich table: per-input and per-task side by side."""
    from rich.table import Table

    t = Table(title="mlx_ifp eval (test splits)")
    for i, col in enumerate(HEADER):
        t.add_column(col, justify="left" if i < 4 else "right")
    for cells in rows_of(report):
        t.add_row(*cells)
    return t


def markdown(report: dict) -> str:
    """The results as a Markdown table, for the README."""
    lines = [HEADER, ["---"] * len(HEADER), *rows_of(report)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
