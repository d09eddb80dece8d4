"""The processes of a table of tests, run two at a time before its first test checks any.

While a test waits on a process (``python -m mlx_ifp ...``, a tool's ``--help``) one core of the
two CI has is busy: a table of such tests runs its selected cases' processes two at a time in a
module fixture, and each test then checks its own case's run as before. Each case is still its
own process, with the same arguments, input and checks; all have ended before any is checked.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def selected(request, test: str) -> dict[str, dict]:
    """Case id -> parameters of each case of ``test`` (a test function of the module asking)
    that this run selected (``-k``, ``-m``), in the run's order."""
    return {
        item.callspec.id: item.callspec.params
        for item in request.session.items
        if getattr(item, "module", None) is request.module and item.originalname == test
    }


def run_all(jobs: dict[str, Callable[[], T]], workers: int = 2) -> dict[str, Future[T]]:
    """Key -> the future of its job, done: the jobs (each starts a process and waits on it) run
    ``workers`` at a time; ``.result()`` gives what one returned, or raises what it raised, in
    the test of its case."""
    with ThreadPoolExecutor(workers, thread_name_prefix="parallel") as pool:
        return {key: pool.submit(job) for key, job in jobs.items()}  # (the with waits for all)
