"""Evaluation: scores (``metrics``), sandbox (``sandbox``), runner (``run``), tables + plots."""

from .plots import check_figure, markdown, overlap_sidecar, plot_overlap, plot_quality, table
from .run import (
    MODES,
    EvalConfig,
    adapter_folder,
    built_domains,
    check_adapter,
    check_groups,
    check_mask_files,
    check_repick,
    check_rows,
    evaluate,
    instructions,
    keep_channels,
    mask_overlap,
)

__all__ = [
    "MODES",
    "EvalConfig",
    "adapter_folder",
    "built_domains",
    "check_adapter",
    "check_groups",
    "check_mask_files",
    "check_repick",
    "check_rows",
    "check_figure",
    "evaluate",
    "instructions",
    "keep_channels",
    "mask_overlap",
    "markdown",
    "overlap_sidecar",
    "plot_overlap",
    "plot_quality",
    "table",
]
