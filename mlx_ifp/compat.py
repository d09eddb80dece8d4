"""The flat module paths of earlier releases (``mlx_ifp.ffn``, ``mlx_ifp.finetune``, ...), kept
importable with a ``DeprecationWarning`` that names the new home of each."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

#: old module -> the modules that now hold its names (searched in order)
MOVED: dict[str, tuple[str, ...]] = {
    "ffn": ("core.ffn", "core.slicing"),
    "mask": ("core.mask",),
    "softtopk": ("core.mask",),
    "blas": ("models.blas",),
    "embedded": ("models.embedded",),
    "gguf": ("models.gguf",),
    "predictor": ("sources.predictor",),
    "prompt": ("core.prompt",),
    "finetune": ("train.loop", "train.checkpoint", "train.objective"),
    "batches": ("train.batches",),
    "checkpoint": ("train.checkpoint",),
    "train_ui": ("train.loop",),
    "corpora": ("data.readers",),
    "evaluate": ("evaluation.run", "evaluation.metrics"),
    "execute": ("evaluation.sandbox",),
    "eval_report": ("evaluation.run",),
    "plots": ("evaluation.plots", "evaluation.run"),
    "bench_models": ("bench.models",),
    "bench_report": ("bench.models",),
    "errors": ("common",),
    "paths": ("common",),
    "progress": ("common",),
    # modules of the stage folders that were merged by concept (not core.origin: that name is
    # now the function ``mlx_ifp.core.origin``, which a stand-in module would shadow)
    "core.adapters": ("core.ffn",),
    "core.counting": ("core.ffn",),
    "core.budget": ("core.mask",),
    "core.softtopk": ("core.mask",),
    "inference.prompt": ("core.prompt",),
    "sources.griffin": ("sources.base",),
    "sources.registry": ("sources", "sources.base"),  # make_source: the checked one
    "sources.simple": ("sources.static",),
    "sources.predictor.files": ("sources.predictor",),
    "sources.predictor.source": ("sources.predictor",),
    "train.llm": ("train.objective",),
    "train.probe": ("train.objective",),
    "train.progress": ("train.loop",),
    "evaluation.report": ("evaluation.run",),
    "bench.report": ("bench.models",),
    "serve.stops": ("serve.registry",),
    "convert.gguf_file": ("convert.exporters",),
    "convert.mlx_lm_folder": ("convert", "convert.exporters"),
}


#: names gone from the new modules, as the old paths still give them: old name -> new name
RENAMED = {"hard_topk_indices": "topk_indices"}  # (the same rule; folded in the 57th session)


class MovedModule(types.ModuleType):
    """Stands in for an old module: attribute look-ups go to the new modules."""

    def __init__(self, old: str):
        super().__init__(f"mlx_ifp.{old}")
        self.__targets = [f"mlx_ifp.{t}" for t in MOVED[old]]

    def __getattr__(self, attr: str):
        if attr == "__all__":  # ``from mlx_ifp.mask import *``: the new modules' public names
            names = []
            for target in self.__targets:
                module = importlib.import_module(target)
                public = [n for n in vars(module) if not n.startswith("_")]
                names += getattr(module, "__all__", public)
            return list(dict.fromkeys(names))
        if attr.startswith("__"):
            raise AttributeError(attr)
        attr = RENAMED.get(attr, attr)
        for target in self.__targets:
            module = importlib.import_module(target)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"{self.__name__} (now {', '.join(self.__targets)}) has no {attr!r}")


#: modules whose frames stand between an old path's warning and the code that named the path
_MACHINERY = ("importlib", "mlx_ifp", __name__)


def _importer():
    """The frame of the code that named an old path: the import statement or attribute access,
    past the import machinery's frames (their number varies)."""
    frame = sys._getframe(2)  # warn_moved's caller
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module not in _MACHINERY and not module.startswith("importlib."):
            return frame
        frame = frame.f_back
    return None


def warn_moved(old: str) -> None:
    """Warn once (the stand-in is made once) at the line that named ``mlx_ifp.<old>``: a warning
    attributed to the import machinery (``sys:1``) is hidden by Python's default filters, which
    show a DeprecationWarning only for code in ``__main__``. No ``__warningregistry__`` is left
    in the importer's namespace (``from mlx_ifp.mask import *`` brings no private names)."""
    new = ", ".join(f"mlx_ifp.{t}" for t in MOVED[old])
    message = f"mlx_ifp.{old} is deprecated: import from {new}"
    frame = _importer()
    if frame is None:
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return
    where = (frame.f_code.co_filename, frame.f_lineno, frame.f_globals.get("__name__", ""))
    warnings.warn_explicit(message, DeprecationWarning, *where)


def moved(old: str) -> MovedModule:
    """The stand-in for ``mlx_ifp.<old>`` (created once, with a warning)."""
    name = f"mlx_ifp.{old}"
    if name not in sys.modules:
        warn_moved(old)
        sys.modules[name] = MovedModule(old)
    return sys.modules[name]


class MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Lets ``import mlx_ifp.ffn`` and ``from mlx_ifp.ffn import x`` find the stand-ins."""

    def find_spec(self, fullname, path=None, target=None):
        old = fullname.removeprefix("mlx_ifp.")
        if fullname.startswith("mlx_ifp.") and old in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        old = spec.name.removeprefix("mlx_ifp.")
        warn_moved(old)
        return MovedModule(old)

    def exec_module(self, module) -> None:
        pass


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedFinder())
