"""Evaluation: scores (``metrics``), sandbox (``sandbox``), runner + tables (``run``), plots."""

from .run import MODES, EvalConfig, built_domains, evaluate, instructions, markdown, table

__all__ = ["MODES", "EvalConfig", "built_domains", "evaluate", "instructions", "markdown", "table"]
