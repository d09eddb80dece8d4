"""``mlx_ifp serve``: an OpenAI-compatible HTTP server with per-task slim models.

Modules: ``schemas`` (request parsing and validation, OpenAI's error shape), ``registry`` (the
resident model, its named tasks, the memory-bounded caches of slim models, stop strings),
``scheduler`` (fair queueing; one generation at a time on the device, in a worker thread),
``app`` (the Starlette routes); the typer command is ``mlx_ifp.cli.serve``. Needs the ``serve``
extra (``pip install 'mlx-ifp[serve]'``); ``import mlx_ifp`` never imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import Registry, read_tasks, template_args
from .scheduler import Scheduler
from .schemas import Limits

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app

__all__ = ["Limits", "Registry", "Scheduler", "create_app", "read_tasks", "template_args"]


def __getattr__(name: str):
    """``create_app`` is imported on first use: it is the one piece that needs starlette."""
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
