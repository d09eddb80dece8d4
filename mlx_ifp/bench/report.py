"""Tables and the decode-speed plot for ``mlx_ifp bench`` results (see ``mlx_ifp.bench.run``)."""

from __future__ import annotations

from pathlib import Path

from ..common import atomic_file

NAMES = {
    "b_masked": "(b) masked, not sliced",
    "c_slim": "(c) slim, materialised",
    "d_cached": "(d) slim, cache hit",
    "e_mlx_lm": "(e) exported, mlx_lm",
    "e_mlx_ifp": "(e) exported, mlx_ifp",
    "f_same_shape": "(f) dense, slim shape",
    "g_q4_slim": "(g) slim from 4-bit",
    "h_prefill": "(h) mask read off the dense prefill",
}
TARGETS = {
    "slim_vs_same_shape": ("slim / same-shape dense decode", ">= 0.97"),
    "slim_vs_same_shape_interleaved": ("slim / same-shape dense, interleaved", ">= 0.97"),
    "speedup_vs_source": ("slim / source decode", ""),
    "ideal_speedup": ("ideal (weight bytes read per token)", ""),
    "speedup_of_ideal": ("speed-up / ideal", ">= 0.9 (CPU), 0.8 (GPU)"),
    "speedup_interleaved": ("slim / source decode, interleaved", ""),
    "speedup_of_ideal_interleaved": ("speed-up / ideal, interleaved", ">= 0.9 (CPU), 0.8 (GPU)"),
    "select_slice_of_prefill": ("(select + slice) / source prefill", "<= 0.10"),
    "prefill_select_slice_overhead": ("(h) select + slice added to the prefill", "<= 0.10"),
    "cache_hit_ms": ("cache hit (ms)", "< 1"),
    "mlx_ifp_vs_mlx_lm": ("mlx_ifp / mlx_lm decode, same folder", ">= 0.98"),
    "resident_vs_allowed": ("active mem / (source + slim FFN)", "<= 1.05"),
}


def _f(x, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def _tps(v: dict) -> str:
    """Decode tok/s: the median, ± the standard deviation over the trials where there are two."""
    std = v.get("decode_tps_std")
    return _f(v.get("decode_tps")) + ("" if std is None else f" ± {std:.1f}")


def rows(result: dict) -> list[list[str]]:
    """One row per (keep, variant): keep, k, variant, select, slice, prefill, TTFT, tok/s, peak."""
    out = []
    for name, r in (
        ("(a) dense source", result.get("dense")),
        ("4-bit source", result.get("q4_dense")),
    ):
        if r:
            ms = r["prefill_s"] * 1e3
            out.append(["1", str(result["d_ffn"]), name, "-", "-", _f(ms), _f(ms),
                        _tps(r), _f(r["peak_gb"], ".3f")])  # fmt: skip
    for run in result["runs"]:
        for key, v in run["variants"].items():
            sel = v.get("select_s", 0.0) * 1e3 if key == "c_slim" else None
            sli = v.get("slice_s", 0.0) * 1e3 if "slice_s" in v else None
            hit = v.get("hit_s", 0.0) * 1e3 if "hit_s" in v else None
            pre = v["prefill_s"] * 1e3 if "prefill_s" in v else None
            if key == "h_prefill":  # selection rides on the dense prefill
                sel = v["select_s"] * 1e3
                pre = v["prefill_select_slice_s"] * 1e3 - sel - sli
            ttft = None if pre is None else pre + (sel or 0) + (sli or 0) + (hit or 0)
            out.append([str(run["keep"]), str(run["k"]), NAMES.get(key, key),
                        _f(sel if hit is None else hit, ".2f"), _f(sli), _f(pre), _f(ttft),
                        _tps(v), _f(v.get("peak_gb"), ".3f")])  # fmt: skip
    return out


HEADER = ["keep", "k", "variant", "select/hit ms", "slice ms", "prefill ms", "TTFT ms",
          "decode tok/s", "peak GB"]  # fmt: skip


def markdown(result: dict) -> str:
    """The variant table and the ratio table as Markdown."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(result)]
    lines += ["", "| keep | ratio | value | target |", "|---|---|---|---|"]
    for run in result["runs"]:
        for key, value in run["ratios"].items():
            label, target = TARGETS.get(key, (key, ""))
            lines.append(f"| {run['keep']} | {label} | {_f(value, '.3f')} | {target} |")
    return "\n".join(lines)


def alternated(result: dict) -> bool:
    """Whether a variant ran in alternating trials: (a), (c) and (f), (e)'s two sides or (h)."""
    alone = {"e_mlx_lm", "h_prefill"}
    return any("interleaved" in run or alone & run["variants"].keys() for run in result["runs"])


def print_tables(result: dict, stderr: bool = False) -> None:
    """Rich tables on the terminal (``stderr``: there, when the JSON goes to stdout)."""
    from rich.console import Console
    from rich.table import Table

    title = (
        f"{result['model']} on {result['device']} ({result['dtype']}, {result['blas']}), "
        f"prompt {result['prompt_tokens']}, gen {result['gen_tokens']}, "
        f"median of {result['trials']}"
    )
    spread = any("±" in r[7] for r in rows(result))  # (e): alternating trials, even of 1
    if result.get("alternating_trials", 0) > result["trials"] and alternated(result):
        title += f", alternating trials {result['alternating_trials']}"  # at least 3
    title += ", decode tok/s ± its std dev" if spread else ""
    t = Table(title=title)
    for h in HEADER:
        t.add_column(h, justify="left" if h == "variant" else "right")
    for r in rows(result):
        t.add_row(*r)
    width = max(Console(stderr=stderr).width, 120)  # narrow pipes would wrap every cell
    console = Console(width=width, stderr=stderr)
    console.print(t)
    rt = Table(title="targets")
    for h in ("keep", "ratio", "value", "target"):
        rt.add_column(h)
    for run in result["runs"]:
        for key, value in run["ratios"].items():
            label, target = TARGETS.get(key, (key, ""))
            rt.add_row(str(run["keep"]), label, _f(value, ".3f"), target)
    console.print(rt)


def plot(result: dict, path: str | Path) -> Path:
    """Decode tok/s against keep ratio, one line per variant, the dense source as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    runs = sorted(result["runs"], key=lambda r: r["k"])
    keeps = [r["k"] / result["d_ffn"] for r in runs]
    for key in ("b_masked", "c_slim", "d_cached", "f_same_shape", "e_mlx_lm", "g_q4_slim"):
        ys = [r["variants"].get(key, {}).get("decode_tps") for r in runs]
        pts = [(x, y) for x, y in zip(keeps, ys, strict=True) if y is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=NAMES[key])
    dense = result.get("dense")
    if dense:
        ax.axhline(dense["decode_tps"], color="gray", ls="--", label="(a) dense source")
        ideal = [dense["decode_tps"] * r["ideal_ratio"] for r in runs]
        ax.plot(keeps, ideal, color="gray", ls=":", label="ideal (bytes ratio)")
    ax.set_xlabel("kept fraction of FFN channels")
    ax.set_ylabel("decode tokens/s")
    ax.set_title(f"{result['model']}, {result['device']}, {result['dtype']}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
