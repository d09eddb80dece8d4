"""Where a loaded model came from (name, folder, config, source fingerprint).

``mlx_ifp.load`` records it on the model; export, mask files and predictors read it back.
"""

from __future__ import annotations

from ..common import UsageError

ATTRIBUTE = "_ifp_origin"  # kept off the module tree: not a parameter, never saved


def record_origin(model, info: dict) -> None:
    """Attach ``info`` (model, path, config, fingerprint, adapter_path) to ``model``."""
    object.__setattr__(model, ATTRIBUTE, dict(info))


def origin(model, required: bool = True) -> dict:
    """What ``record_origin`` attached ({} when absent and not ``required``)."""
    found = getattr(model, ATTRIBUTE, None)
    if found is None:
        if required:
            raise UsageError("this model was not loaded with mlx_ifp.load (no config to export)")
        return {}
    return found
