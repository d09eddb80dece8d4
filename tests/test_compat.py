"""Old module paths (flat modules of earlier releases, and modules merged since) still import,
with a DeprecationWarning naming the new home, and give the same objects."""

import importlib
import sys
import types

import mlx_ifp  # noqa: F401  (installs the finder)
from mlx_ifp.compat import MOVED

import pytest


def forget(old: str, monkeypatch) -> None:
    """Import ``mlx_ifp.<old>`` afresh; the test's end restores sys.modules and the attribute
    the import sets on the parent package."""
    parent, _, last = f"mlx_ifp.{old}".rpartition(".")
    package = importlib.import_module(parent)  # (mlx_ifp.serve is imported only on demand)
    for table, key in ((sys.modules, f"mlx_ifp.{old}"), (vars(package), last)):
        monkeypatch.setitem(table, key, None)  # remembers the entry (or its absence) ...
        del table[key]  # ... and removes it, without the package's __getattr__


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_old_path_imports_with_a_warning(old, monkeypatch):
    forget(old, monkeypatch)
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
        ("convert.gguf_file", "export_gguf", "convert.exporters"),  # named by docs/gguf.md once
        ("sources.predictor.files", "load_predictor", "sources.predictor"),
    ],
)
def test_old_paths_give_the_same_objects(old, name, new, monkeypatch):
    forget(old, monkeypatch)
    with pytest.warns(DeprecationWarning):
        got = getattr(importlib.import_module(f"mlx_ifp.{old}"), name)
    assert got is getattr(importlib.import_module(f"mlx_ifp.{new}"), name)


def test_no_old_path_shadows_a_name_of_its_package():
    """Importing ``mlx_ifp.a.b`` sets attribute ``b`` of package ``a``: it must not replace a
    public function or class of that package (``core.origin`` would)."""
    for old in MOVED:
        parent, _, last = f"mlx_ifp.{old}".rpartition(".")
        value = vars(importlib.import_module(parent)).get(last)
        assert value is None or isinstance(value, types.ModuleType), old


def test_a_star_import_of_an_old_path_gives_the_new_names(monkeypatch):
    """``from mlx_ifp.mask import *`` imported nothing: the stand-in module had no names."""
    forget("mask", monkeypatch)
    scope: dict = {}
    with pytest.warns(DeprecationWarning):
        exec("from mlx_ifp.mask import *", scope)
    from mlx_ifp.core import mask

    assert scope["Budget"] is mask.Budget and scope["topk_indicator"] is mask.topk_indicator
    assert not any(name.startswith("_") for name in scope if name != "__builtins__")
