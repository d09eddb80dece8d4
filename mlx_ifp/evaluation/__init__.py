"""Evaluation against fair baselines: teacher-forced scores (``metrics``), generation scored in
a sandbox (``sandbox``), the per-domain runner and its tables (``run``), and plots (``plots``)."""

from .run import MODES, EvalConfig, built_domains, evaluate, instructions, markdown, table

__all__ = ["MODES", "EvalConfig", "built_domains", "evaluate", "instructions", "markdown", "table"]
