"""Fair queueing of generations onto one worker thread (one generation at a time per device).

MLX is not thread-safe across concurrent streams, so every model call of the server runs on a
single worker thread, one job at a time, start to finish. Jobs wait in one FIFO per client;
the worker takes the clients in turn (round robin), so a client with many queued requests
cannot starve one with a single request. A job's output goes back to the asyncio side through
its own ``asyncio.Queue`` (``loop.call_soon_threadsafe``). Cancelling a job (client gone,
timeout) stops it before its next token (its prompt between two prefill chunks: ``Job.check``),
or drops it from the queue if it has not started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

log = logging.getLogger("mlx_ifp.serve")

#: what a job's queue receives: ("item", value), ("done", None), ("error", exception)
Event = tuple[str, Any]


def _below_500(e: Exception) -> bool:
    """An error with an HTTP status under 500 (an ``APIError``'s 4xx) is the client's doing."""
    status = getattr(e, "status", None)
    return isinstance(status, int) and status < 500


class QueueFull(Exception):
    """The server takes no more requests: its queue is at the limit, or it is shutting down."""


class Cancelled(Exception):
    """Raised on the worker by ``Job.check`` once its job is cancelled: the work stops there."""


class Job:
    """One generation: a function returning an iterator, run on the worker thread."""

    def __init__(self, client: str, work: Callable[[], Iterator], loop: asyncio.AbstractEventLoop):
        self.client, self.work, self.loop = client, work, loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.cancelled = threading.Event()
        self.started = threading.Event()
        self.submitted = time.perf_counter()

    def cancel(self) -> None:
        """Stop the job before its next step (or before it starts)."""
        self.cancelled.set()

    def check(self, *_) -> None:
        """Raise ``Cancelled`` if the job is cancelled: as the generation's
        ``prompt_progress_callback`` it stops a long prompt between two prefill chunks."""
        if self.cancelled.is_set():
            raise Cancelled

    def emit(self, kind: str, value: Any = None) -> None:
        """Hand an event to the asyncio side (from the worker thread)."""
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, value))
        except RuntimeError:  # the event loop is closed: nobody is listening
            self.cancel()

    async def next(self, deadline: float) -> Event:
        """The next event (asyncio side), or ("timeout", None) once ``deadline`` (monotonic) has
        passed. A job that ends before its last piece was dropped by the worker (the server
        stops): an error."""
        try:
            wait = max(deadline - time.monotonic(), 0)
            kind, value = await asyncio.wait_for(self.queue.get(), wait)
        except asyncio.TimeoutError:
            self.cancel()
            return "timeout", None
        return (
            ("error", QueueFull("the server is shutting down")) if kind == "done" else (kind, value)
        )

    async def watch(self, receive: Callable) -> None:
        """Cancel the job when the client goes away (ASGI ``receive``; the body read already)."""
        while (await receive())["type"] != "http.disconnect":
            pass
        self.cancel()
        self.queue.put_nowait(("disconnect", None))


class Scheduler:
    """Round robin over per-client FIFOs, one worker thread running one job at a time."""

    def __init__(self, max_queue: int = 64, client_error: Callable | None = None):
        self.max_queue = max_queue
        self.client_error = client_error or _below_500  # the client's doing: answered, not logged
        self._queues: OrderedDict[str, deque[Job]] = OrderedDict()
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._current: Job | None = None  # the job the worker runs
        # /health's counters: the worker and the request side (pending) both count, under _cond
        self.stats = {"done": 0, "cancelled": 0, "failed": 0, "running": 0}

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is None:
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="mlx_ifp-serve", daemon=True)
            self._thread.start()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The worker runs inside (an app's lifespan). A forced quit (a second Ctrl-C) skips the
        lifespan's shutdown and asyncio cancels it instead: the worker is stopped all the same,
        quietly (re-raised, the cancel was a traceback in the server's log)."""
        self.start()
        try:
            yield
        except asyncio.CancelledError:  # only a stopping event loop cancels a lifespan
            pass
        finally:
            await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Stop the worker; the job it runs and those queued are cancelled."""
        with self._cond:
            self._stop = True
            if self._current is not None:  # its request is gone with the server
                self._current.cancel()
            for q in self._queues.values():
                for job in q:
                    job.cancel()
                    job.emit("error", QueueFull("the server is shutting down"))
            self._queues.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            # MLX tears down a thread's streams just after the thread ends; a process exiting
            # in that window aborts ("terminate called without an active exception")
            time.sleep(0.25)

    def pending(self) -> int:
        """Jobs waiting (not yet started); cancelled ones (their client gone, timed out) are
        dropped here, so they neither count nor hold a place in the queue."""
        with self._cond:  # the worker takes clients out and puts them back
            for client, q in list(self._queues.items()):
                if any(job.cancelled.is_set() for job in q):
                    kept = deque(job for job in q if not job.cancelled.is_set())
                    self._count("cancelled", len(q) - len(kept))
                    if kept:
                        self._queues[client] = kept
                    else:
                        del self._queues[client]
            return sum(len(q) for q in self._queues.values())

    def counts(self) -> dict:
        """/health's numbers, read at one moment: ``queued`` (``pending``) and ``stats``."""
        with self._cond:
            return {"queued": self.pending(), **self.stats}

    def _count(self, name: str, value: int = 1) -> None:
        """Add ``value`` to a counter: ``+=`` is no atomic step between threads."""
        with self._cond:
            self.stats[name] += value

    def submit(self, job: Job) -> Job:
        """Queue a job behind the same client's earlier ones; ``QueueFull`` if at the limit."""
        with self._cond:
            if self._stop:
                raise QueueFull("the server is shutting down")
            if self.pending() >= self.max_queue:
                raise QueueFull(f"{self.max_queue} requests are already queued")
            self._queues.setdefault(job.client, deque()).append(job)
            self._cond.notify()
        return job

    def _next(self) -> Job | None:
        """The oldest job of the next client in turn; that client then goes to the back."""
        with self._cond:
            while not self._stop and not self._queues:
                self._cond.wait()
            if self._stop:
                return None
            client, q = next(iter(self._queues.items()))
            job = q.popleft()
            del self._queues[client]
            if q:
                self._queues[client] = q  # back of the line
            self._current = job
            return job

    def _run(self) -> None:
        while (job := self._next()) is not None:
            self._run_job(job)

    def _run_job(self, job: Job) -> None:
        if job.cancelled.is_set():
            self._count("cancelled")
            return
        job.started.set()
        with self._cond:
            self.stats["running"] = 1
        items = None
        try:
            items, finished = job.work(), True
            for item in items:  # checked before handing out: the last item ends the job
                if job.cancelled.is_set():
                    finished = False
                    break
                job.emit("item", item)
            self._count("done" if finished else "cancelled")
            job.emit("done")
        except Cancelled:  # stopped mid-prompt (``Job.check``): nobody waits for its answer
            self._count("cancelled")
            job.emit("done")
        except Exception as e:  # handed to the request; the worker goes on
            if not self.client_error(e):
                log.exception("generation failed")
            self._count("failed")
            job.emit("error", e)
        finally:
            if items is not None and hasattr(items, "close"):
                items.close()
            with self._cond:
                self.stats["running"] = 0
                self._current = None
