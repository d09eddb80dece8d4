"""Old module paths (flat modules of earlier releases, and modules merged since) still import,
with a DeprecationWarning naming the new home, and give the same objects."""

import importlib
import sys

import mlx_ifp  # noqa: F401  (installs the finder)
from mlx_ifp.compat import MOVED

import pytest


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_old_path_imports_with_a_warning(old):
    sys.modules.pop(f"mlx_ifp.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"mlx_ifp.{old} is deprecated"):
        module = importlib.import_module(f"mlx_ifp.{old}")
    with pytest.raises(AttributeError, match="has no"):
        module.no_such_name  # noqa: B018


@pytest.mark.parametrize(
    "old,name,new",
    [
        ("ffn", "d_ffn", "core.ffn"),
        ("errors", "UsageError", "common"),
        ("finetune", "finetune", "train.loop"),
        ("core.softtopk", "soft_topk", "core.mask"),
        ("train.config", "FinetuneConfig", "train.checkpoint"),
        ("convert.gguf_file", "export_gguf", "convert.exporters"),  # named by docs/gguf.md once
        ("sources.predictor.files", "load_predictor", "sources.predictor"),
    ],
)
def test_old_paths_give_the_same_objects(old, name, new):
    sys.modules.pop(f"mlx_ifp.{old}", None)
    with pytest.warns(DeprecationWarning):
        got = getattr(importlib.import_module(f"mlx_ifp.{old}"), name)
    assert got is getattr(importlib.import_module(f"mlx_ifp.{new}"), name)
