"""Evaluation: scores (``metrics``), sandbox (``sandbox``), runner + tables (``run``), plots."""

from .plots import check_figure, plot_overlap, plot_quality
from .run import (
    MODES,
    EvalConfig,
    adapter_folder,
    built_domains,
    check_adapter,
    check_groups,
    check_mask_files,
    evaluate,
    instructions,
    keep_channels,
    markdown,
    mask_overlap,
    table,
)

__all__ = [
    "MODES",
    "EvalConfig",
    "adapter_folder",
    "built_domains",
    "check_adapter",
    "check_groups",
    "check_mask_files",
    "check_figure",
    "evaluate",
    "instructions",
    "keep_channels",
    "mask_overlap",
    "markdown",
    "plot_overlap",
    "plot_quality",
    "table",
]
