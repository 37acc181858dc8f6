"""Where cells run: engines behind one interface.

* :class:`LocalEngine` (the default): a pool of worker processes on this machine, one
  per CPU it may use. Nothing to install.
* :class:`RayEngine`: Ray tasks, one per cell, on a local Ray instance started for the
  sweep (``ray.init()``) or on an existing cluster (``address``). Needs
  ``pip install 'servicecidr[ray]'`` here and servicecidr, same version, on every node.

An engine runs tasks and yields ``(cell, outcome)`` pairs in the order they finish; it
keeps no results of its own, so the caller decides what is durable. Both call the same
:func:`~servicecidr.sweep.cells.run_cell`, so a cell gives the same row on both. We do
not schedule anything ourselves: the process pool and Ray do.

A worker that dies under a cell (killed, out of memory, a crash in native code) is not
retried forever: the local engine reruns the cells that were in flight one at a time to
find the one that kills its worker, and Ray tasks run with ``max_retries=0``; that cell's
row says ``WorkerDied`` and the sweep goes on.
"""

from __future__ import annotations

import abc
import importlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ClassVar

from servicecidr.errors import InvalidInputError
from servicecidr.sweep.cells import run_cell

__all__ = [
    "ENGINES",
    "RAY_HINT",
    "WORKER_DIED",
    "Engine",
    "LocalEngine",
    "RayEngine",
    "default_workers",
    "make_engine",
]

RAY_HINT = "the ray engine needs Ray: pip install 'servicecidr[ray]' (or ray==2.60.0)"
#: The error of a cell whose worker process died (the same text on every engine).
WORKER_DIED = (
    "WorkerDied: the worker process running this cell exited without a result "
    "(killed, out of memory, or a crash in native code)"
)

Task = tuple[int, dict[str, Any]]
Outcome = tuple[int, dict[str, Any]]


def default_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def died(detail: str) -> dict[str, Any]:
    """The outcome of a cell whose worker died."""
    return {
        "row": {"wall_s": None, "error": WORKER_DIED},
        "traceback": detail,
        "timeseries": None,
    }


class Engine(abc.ABC):
    """Runs cells. ``start()``, then ``run(tasks)`` (an iterator of outcomes as cells
    finish; ``running`` tells how many are in flight), then ``close()``. Also a context
    manager: ``with RayEngine() as eng:`` keeps one pool or Ray instance for several
    sweeps."""

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self.running = 0

    @property
    @abc.abstractmethod
    def slots(self) -> int:
        """How many cells can run at once."""

    @property
    @abc.abstractmethod
    def started(self) -> bool:
        """Between :meth:`start` and :meth:`close`."""

    @abc.abstractmethod
    def start(self) -> None:
        """Get ready (start a pool, connect to a cluster)."""

    @abc.abstractmethod
    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """Run every task; yield ``(cell, outcome)`` as each finishes."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop what :meth:`start` started (cells still running are abandoned)."""

    def describe(self) -> str:
        """One line: which engine, how many slots."""
        return f"{self.name}, {self.slots} at once"

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _version() -> str:
    """The servicecidr version a worker runs (the probe every engine runs first)."""
    from servicecidr.version import __version__

    return __version__


def _watch_parent(parent: int) -> None:
    """In a pool worker: exit when the sweep's process is gone. A sweep killed with
    SIGKILL cannot stop its workers; without this they would live on, idle, holding
    its output pipes open."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="servicecidr-sweep-parent-watch", daemon=True).start()


# ------------------------------------------------------------------------- local


class LocalEngine(Engine):
    """A pool of ``workers`` processes (default: the CPUs this process may use).

    Workers are started with ``spawn`` (a fresh interpreter: nothing of the parent's
    state, threads or open files is inherited) and run many cells each.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        super().__init__()
        if workers is not None and workers < 1:
            raise InvalidInputError(f"sweep: workers must be at least 1, got {workers}")
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None

    @property
    def slots(self) -> int:
        return self.workers

    @property
    def started(self) -> bool:
        return self._pool is not None

    def describe(self) -> str:
        return f"local, {self.workers} worker process{'es' if self.workers != 1 else ''}"

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )

    def start(self) -> None:
        if self._pool is not None:
            return
        pool = self._new_pool()
        try:
            # A worker that cannot start (a __main__ that cannot be imported again, as
            # with `python - < script`) would fail every cell: fail here, once, instead.
            pool.submit(_version).result()
        except BrokenProcessPool as e:
            pool.shutdown(wait=True, cancel_futures=True)
            raise InvalidInputError(
                "sweep: the local worker processes cannot start (they import the main "
                "module again, as multiprocessing's spawn does): run the sweep from the "
                "servicecidr command, a module, or a script file whose sweep runs under "
                "`if __name__ == '__main__':`"
            ) from e
        self._pool = pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.running = 0

    def _restart(self) -> None:
        assert self._pool is not None
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._new_pool()

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        self.start()
        queue: deque[Task] = deque(tasks)
        # Cells that were in flight when a worker died: they run again one at a time,
        # so a cell that kills its worker is told from the cells that were beside it.
        suspects: deque[Task] = deque()
        inflight: dict[Future[dict[str, Any]], Task] = {}
        try:
            while queue or suspects or inflight:
                assert self._pool is not None
                # One cell queued beyond the workers: a worker that finishes starts its
                # next cell while this process records the last one (an fsync).
                source, limit = (suspects, 1) if suspects else (queue, self.workers + 1)
                broken = False
                while source and len(inflight) < limit:
                    t = source.popleft()
                    try:
                        inflight[self._pool.submit(run_cell, t[1])] = t
                    except BrokenProcessPool:
                        # A worker died while idle (the OOM killer, a kill -9).
                        source.appendleft(t)
                        broken = True
                        break
                if broken and not inflight:
                    self._restart()
                    continue
                self.running = min(len(inflight), self.workers)
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                lost: list[Task] = []
                for f in done:
                    t = inflight.pop(f)
                    try:
                        outcome = f.result()
                    except BrokenProcessPool:
                        lost.append(t)
                        continue
                    yield t[0], outcome
                if not lost:
                    continue
                # The pool is dead: every future still in flight fails the same way
                # (or finished just before).
                for f, t in list(inflight.items()):
                    try:
                        outcome = f.result()
                    except BrokenProcessPool:
                        lost.append(t)
                        continue
                    yield t[0], outcome
                inflight.clear()
                self._restart()
                if len(lost) == 1 and limit == 1:
                    # It ran alone: it is the one whose worker died.
                    yield lost[0][0], died("the local worker process died (BrokenProcessPool)")
                else:
                    suspects.extend(sorted(lost, key=lambda t: t[0]))
        finally:
            if inflight and self._pool is not None:
                # Interrupted: do not wait for cells nobody will read.
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            self.running = 0


# ------------------------------------------------------------------------- Ray


class RayEngine(Engine):
    """Cells as Ray tasks (``num_cpus=1``, ``max_retries=0``), gathered as they finish.

    Args:
        address: an existing cluster (``ray://host:10001``, ``host:6379`` or ``auto``);
            ``None`` starts a Ray instance on this machine for the sweep and stops it
            after (bound to the loopback address: nothing listens outside).
        num_cpus: CPUs of a local instance (default: all).
        object_store_memory: bytes of a local instance's object store (default: Ray's).
        window: tasks submitted ahead of the results (default: twice the cluster CPUs).

    When Ray is already initialized in this process, that instance is used and left
    running.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        object_store_memory: int | None = None,
        window: int | None = None,
    ) -> None:
        super().__init__()
        self.address = address
        self.num_cpus = num_cpus
        self.object_store_memory = object_store_memory
        self.window = window
        self._cpus = 0
        self._owned = False
        self._ray: Any = None

    @property
    def slots(self) -> int:
        return self._cpus or (self.num_cpus or default_workers())

    @property
    def started(self) -> bool:
        return self._ray is not None

    def describe(self) -> str:
        where = self.address or "a local Ray instance"
        return f"ray ({where}), {self.slots} CPUs"

    def start(self) -> None:
        if self._ray is not None:
            return
        if self.address is None and "ray" not in sys.modules:
            # A local instance for this sweep only: no usage report, and every Ray
            # process bound to the loopback address (Ray's own switch for single-machine
            # clusters; it is read when ray is imported).
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            ray: Any = importlib.import_module("ray")
        except ImportError as e:
            raise InvalidInputError(f"sweep: {RAY_HINT}") from e
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "logging_level": logging.ERROR,
                "log_to_driver": False,
            }
            if self.address is None:
                if self.num_cpus is not None:
                    kwargs["num_cpus"] = self.num_cpus
                if self.object_store_memory is not None:
                    kwargs["object_store_memory"] = self.object_store_memory
            try:
                # "local": a new instance even where `ray start` left a cluster that a
                # plain ray.init() would join; --address auto joins that one.
                ray.init(address=self.address or "local", **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as e:
                where = self.address or "a local instance"
                raise InvalidInputError(f"sweep: cannot start Ray ({where}): {e}") from e
            self._owned = True
        self._ray = ray
        self._cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._check_workers()

    def _check_workers(self) -> None:
        from servicecidr.version import __version__

        ray = self._ray
        probe = ray.remote(num_cpus=0, max_retries=0)(_version)
        try:
            theirs = ray.get(probe.remote(), timeout=120)
        except Exception as e:
            self.close()
            raise InvalidInputError(
                "sweep: the Ray workers cannot run servicecidr cells (install servicecidr "
                f"{__version__} on every node): {type(e).__name__}: {e}"
            ) from e
        if theirs != __version__:
            self.close()
            raise InvalidInputError(
                f"sweep: the Ray workers have servicecidr {theirs}, this machine "
                f"{__version__}: install the same version on every node"
            )

    def close(self) -> None:
        if self._ray is not None and self._owned:
            self._ray.shutdown()
        self._ray = None
        self._owned = False
        self.running = 0

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        self.start()
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=0)(run_cell)
        window = self.window or 2 * self._cpus
        queue: deque[Task] = deque(tasks)
        pending: dict[Any, int] = {}
        try:
            while queue or pending:
                while queue and len(pending) < window:
                    cell, task = queue.popleft()
                    pending[remote.remote(task)] = cell
                self.running = min(len(pending), self._cpus)
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                if ready:
                    # Take everything that is ready, not just the first.
                    ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
                for ref in ready:
                    cell = pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        outcome = died(f"{type(e).__name__}: {e}")
                    yield cell, outcome
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            self.running = 0


ENGINES = ("local", "ray")


def make_engine(name: str, *, workers: int | None = None, address: str | None = None) -> Engine:
    """An engine by name: ``local`` (``workers`` processes) or ``ray`` (``address`` of a
    cluster, else a local instance with ``workers`` CPUs)."""
    if name == "local":
        if address is not None:
            raise InvalidInputError("sweep: --address is for --engine ray")
        return LocalEngine(workers)
    if name == "ray":
        return RayEngine(address, num_cpus=workers if address is None else None)
    raise InvalidInputError(f"sweep: unknown engine {name!r}; engines: {', '.join(ENGINES)}")
