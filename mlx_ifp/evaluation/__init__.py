"""Evaluation against fair baselines: teacher-forced scores (``metrics``), generation scored in
a sandbox (``sandbox``), the per-domain runner (``run``), tables (``report``) and plots."""

from .report import markdown, table
from .run import MODES, EvalConfig, built_domains, evaluate, instructions

__all__ = ["MODES", "EvalConfig", "built_domains", "evaluate", "instructions", "markdown", "table"]
