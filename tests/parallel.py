"""Processes that tests check, run beside other work: the two cores CI has both busy.

While a test waits on a process (``python -m mlx_ifp ...``, a tool's ``--help``) one core of the
two is busy: a table of such tests runs its selected cases' processes two at a time in a module
fixture (``run_all``; all have ended before any is checked), and a long command can start as its
module does, beside the module's other tests (``ahead``). Each is still its own process, with
the same arguments, input and checks.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def selected(request, test: str) -> dict[str, dict]:
    """Case id -> parameters of each case of ``test`` (a test function of the module asking)
    that this run selected (``-k``, ``-m``), in the run's order; a test without parameters is
    one case, its name -> {}."""
    cases = {}
    for item in request.session.items:
        if getattr(item, "module", None) is request.module and item.originalname == test:
            spec = getattr(item, "callspec", None)
            cases[spec.id if spec else item.name] = spec.params if spec else {}
    return cases


def run_all(jobs: dict[str, Callable[[], T]], workers: int = 2) -> dict[str, Future[T]]:
    """Key -> the future of its job, done: the jobs (each starts a process and waits on it) run
    ``workers`` at a time; ``.result()`` gives what one returned, or raises what it raised, in
    the test of its case."""
    with ThreadPoolExecutor(workers, thread_name_prefix="parallel") as pool:
        return {key: pool.submit(job) for key, job in jobs.items()}  # (the with waits for all)


@contextmanager
def ahead(job: Callable[[], T]) -> Iterator[Future[T]]:
    """The future of ``job`` (it starts a process and waits on it), begun now in a thread of its
    own: the tests until the one that checks it run beside it; waited for at the end."""
    with ThreadPoolExecutor(1, thread_name_prefix="ahead") as pool:
        yield pool.submit(job)
