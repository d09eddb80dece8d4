"""Mask source ``predictor``: a trained predictor scores the prompt (or task) tokens."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from ...common import UsageError
from ..base import MaskSource
from ..registry import register_source
from .files import load_predictor, read_config
from .model import Predictor, griffin_running


class PredictorSource(MaskSource):
    """Mask source ``predictor``: the trained predictor scores the prompt (or task) tokens."""

    name = "predictor"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._pred: Predictor | None = None
        self._for: int | None = None

    def key(self) -> str:
        return f"predictor({self.path})"

    def predictor(self, model: nn.Module) -> Predictor:
        if self._pred is None or self._for != id(model):
            self._pred = load_predictor(self.path, model)
            self._for = id(model)
        return self._pred

    def trained_k(self) -> int | None:
        """The channels per layer the predictor was trained to keep (None if not recorded)."""
        cfg = read_config(self.path)
        k = cfg.get("k") or (cfg.get("predictor") or {}).get("k")
        return k if isinstance(k, int) and not isinstance(k, bool) and k > 0 else None

    def running(self, model):
        """For a predictor that reads the prompt's GRIFFIN statistics (``head: griffin``): the
        source model's statistics over the text so far, through the trained map."""
        return griffin_running(self.predictor(model), model) if self._reads_griffin(model) else None

    def repicks_by_default(self, model):
        return self._reads_griffin(model)

    def _reads_griffin(self, model) -> bool:
        return self.predictor(model).config.head == "griffin"

    def scores(self, model, tokens):
        tokens = mx.array(tokens, dtype=mx.int32).reshape(1, -1)
        if tokens.size == 0:
            raise UsageError("cannot select channels for an empty text")
        return self.predictor(model)(tokens)[0]


def _factory(path=None, adapter=None, adapter_path=None, **_):
    where = path or adapter or adapter_path
    if not where:
        raise UsageError("the predictor mask source needs the adapter folder (--adapter DIR)")
    return PredictorSource(where)


register_source("predictor", _factory)
