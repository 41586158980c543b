"""Where a run's units execute, chosen by name as papermill chooses its engines.

- ``inline``: one after another in this process (its kernel ends with the run);
- ``processes``: a pool of spawned worker processes on this machine (the default);
- ``dask``: the tasks of a Dask cluster, by its scheduler address.

Every executor takes the same jobs, the run's payload (the pickled study and pattern: it travels
with the tasks, so a worker needs no shared disk) and the same unit runner, and yields each
unit's outcome as it completes. A unit whose worker, kernel or cluster was lost fails the whole
run (`RunFailed`): nothing is published. Ctrl-C or SIGTERM (a `BaseException` in the run) ends
every worker of the run, or cancels every task of the cluster, before it propagates.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import ClassVar

from kitbag_analysis.errors import KitbagError, RunFailed, UnusableInput
from kitbag_analysis.runs.private_folder import remove_stale
from kitbag_analysis.runs.unit import UnitOutcome

POLL_SECONDS = 0.2  # how often the run looks up from its workers (Ctrl-C is taken then at the latest)
# A Dask cluster with no worker for this long cannot run the units (none joined, or all were lost):
# the run fails rather than wait for ever.
WORKER_WAIT_SECONDS = 60.0
WORKER_CHECK_SECONDS = 5.0  # how often a run on a cluster asks the scheduler whether it has workers
Job = tuple  # (study_dir, unit, stamp_json): with the payload, the arguments of a unit runner
Runner = Callable[..., UnitOutcome]


def _lost(job: Job, exc: BaseException) -> KitbagError:
    """A runner that raised: the run fails as a whole (a unit's own failure comes back as an outcome)."""
    if isinstance(exc, KitbagError):
        return exc
    text = (str(exc).strip() or "no reason given").splitlines()[0][:300]
    return RunFailed(
        f"unit {job[1]} was lost ({type(exc).__name__}: {text}); the run failed as a whole and "
        "nothing was published (a previous bundle is kept)."
    )


class Executor(ABC):
    """Runs units and yields their outcomes as they complete."""

    name: ClassVar[str]

    @abstractmethod
    def run(self, jobs: list[Job], payload: bytes, runner: Runner) -> Iterator[UnitOutcome]: ...


class InlineExecutor(Executor):
    """Every unit in this process, one after another."""

    name = "inline"

    def run(self, jobs: list[Job], payload: bytes, runner: Runner) -> Iterator[UnitOutcome]:
        from kitbag_analysis.runs.kernels import shutdown
        from kitbag_analysis.runs.private_folder import remove_own

        try:
            for job in jobs:
                try:
                    outcome = runner(*job, payload)
                except Exception as exc:
                    raise _lost(job, exc) from None
                yield outcome
        finally:
            shutdown()
            remove_own()


def _worker_init() -> None:
    """Workers die with the run and leave Ctrl-C to it (it ends them itself)."""
    from kitbag_analysis.runs.kernels import die_with_parent

    die_with_parent(signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run ends its workers itself; kernels inherit this
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # spawned while the run held it


@contextlib.contextmanager
def _holding_sigint() -> Iterator[None]:
    """Worker processes are spawned with SIGINT blocked: they inherit the mask across exec and
    ignore Ctrl-C first thing (`_worker_init`), so a Ctrl-C never reaches a half-started worker.
    Only this thread blocks it: a Ctrl-C meanwhile reaches the run through another thread, and
    the run takes it at once (never ignored, never lost)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def completed(futures: Iterable[Future], poll: float = POLL_SECONDS) -> Iterator[Future]:
    """Futures as they complete, waiting in short slices. A signal may be delivered to any of the
    process's threads (rich's, the pool's); a main thread blocked without a timeout would only
    see the Ctrl-C when the next unit finished, so it wakes every ``poll`` seconds to take it."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
        yield from done


class ProcessExecutor(Executor):
    """A pool of spawned worker processes, each keeping one kernel for its units."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def run(self, jobs: list[Job], payload: bytes, runner: Runner) -> Iterator[UnitOutcome]:
        context = multiprocessing.get_context("spawn")
        size = min(self.workers, len(jobs))
        pool = ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_worker_init)
        try:
            with _holding_sigint():  # workers start with Ctrl-C ignored: the run ends them itself
                futures = {pool.submit(runner, *job, payload): job for job in jobs}
            for future in completed(futures):
                try:
                    outcome = future.result()
                except Exception as exc:  # the runner raised, or its worker process died
                    raise _lost(futures[future], exc) from None
                yield outcome
        except BaseException:
            self._stop(pool)
            remove_stale()  # the killed workers' private folders
            raise
        pool.shutdown(wait=True)
        remove_stale()  # a worker's exit runs no atexit: its private folder goes here

    @staticmethod
    def _stop(pool: ProcessPoolExecutor) -> None:
        """End every worker now (their kernels follow them: parent-death signal). The workers are
        this process's multiprocessing children (the run starts no other)."""
        pool.shutdown(wait=False, cancel_futures=True)
        workers = multiprocessing.active_children()
        for process in workers:
            with contextlib.suppress(ProcessLookupError, OSError):
                process.kill()
        for process in workers:
            process.join(timeout=5)


class DaskExecutor(Executor):
    """The tasks of a Dask cluster (``scheduler`` is its address, e.g. ``tcp://host:8786``)."""

    name = "dask"

    def __init__(self, scheduler: str) -> None:
        if not scheduler:
            raise UnusableInput("the dask executor needs a scheduler address (--scheduler tcp://HOST:PORT).")
        self.scheduler = scheduler

    def run(self, jobs: list[Job], payload: bytes, runner: Runner) -> Iterator[UnitOutcome]:
        from dask.distributed import Client, wait

        with _holding_sigint():  # the client's threads start with Ctrl-C held: the run takes it
            client = Client(self.scheduler, timeout=30)
        futures: dict = {}
        run = uuid.uuid4().hex  # names this run's tasks on the workers (to stop their kernels)
        try:
            self._workers_join(client)
            shared = client.scatter(payload, broadcast=False)  # the study travels through the cluster
            futures = {client.submit(_dask_task, runner, run, *job, shared, pure=False): job for job in jobs}
            pending = set(futures)
            checked = seen = time.monotonic()
            while pending:
                if time.monotonic() - checked >= WORKER_CHECK_SECONDS:
                    checked = time.monotonic()
                    seen = checked if self._has_workers(client) else seen
                    if checked - seen >= WORKER_WAIT_SECONDS:
                        raise RunFailed(self._no_worker("all its workers were lost"))
                with contextlib.suppress(TimeoutError):  # short slices: Ctrl-C is taken at once
                    wait(list(pending), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
                done = {f for f in pending if f.done()}
                pending -= done
                for future in done:
                    try:
                        outcome = future.result()
                    except Exception as exc:  # the task, its worker or the cluster was lost
                        raise _lost(futures[future], exc) from None
                    yield outcome
                if client.status in ("closed", "closing"):
                    raise RunFailed(self._lost())
        except BaseException:
            with contextlib.suppress(Exception):
                client.cancel(list(futures), force=True)
            with contextlib.suppress(Exception):  # a running task's notebook stops too, not only the queue
                client.run(_stop_run, run, wait=True)
            raise
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=5)

    def _workers_join(self, client) -> None:  # noqa: ANN001 - a dask.distributed.Client
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except TimeoutError:
            raise RunFailed(self._no_worker("no worker joined")) from None

    def _has_workers(self, client) -> bool:  # noqa: ANN001 - a dask.distributed.Client
        try:
            return bool(client.nthreads())
        except Exception:  # the scheduler cannot be asked: the cluster is gone
            raise RunFailed(self._lost()) from None

    def _lost(self) -> str:
        return f"the Dask cluster at {self.scheduler} was lost; nothing was published."

    def _no_worker(self, what: str) -> str:
        return (
            f"the Dask cluster at {self.scheduler} has no worker to run the units ({what} within "
            f"{WORKER_WAIT_SECONDS:g} s); nothing was published. Start workers (dask worker {self.scheduler}) "
            "and run it again."
        )


_RUNNING: set[str] = set()  # on a Dask worker: the runs whose tasks it is running
_STOPPED: set[str] = set()  # ... and the runs stopped (a task of one that starts late runs nothing)


def _dask_task(runner: Runner, run: str, *args: object) -> UnitOutcome:
    """One unit as a Dask task of run ``run``: its kernel ends with the task (no kernel outlives
    its task), or at once when the run is stopped (`_stop_run`)."""
    from kitbag_analysis.runs.kernels import allow, shutdown

    if run in _STOPPED:
        raise RunFailed("the run was stopped before this unit started")
    _RUNNING.add(run)
    allow()
    try:
        return runner(*args)
    finally:
        _RUNNING.discard(run)
        shutdown()


def _stop_run(run: str) -> bool:
    """On every worker (``client.run``), when run ``run`` is stopped: kill the kernel of a task of
    it this worker is running, so its notebook fails now (a running Dask task cannot be cancelled)."""
    from kitbag_analysis.runs.kernels import kill_now

    _STOPPED.add(run)
    if run not in _RUNNING:
        return False
    kill_now()
    return True


EXECUTORS: dict[str, type[Executor]] = {e.name: e for e in (InlineExecutor, ProcessExecutor, DaskExecutor)}


def executor_for(name: str | None = None, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor named ``name``; without a name, dask when a scheduler is given, inline for one
    worker, processes otherwise."""
    name = name or ("dask" if scheduler else "inline" if workers == 1 else "processes")
    if name not in EXECUTORS:
        raise UnusableInput(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}.")
    if name == "dask":
        return DaskExecutor(scheduler or "")
    if name == "processes":
        return ProcessExecutor(workers)
    return InlineExecutor()


__all__ = ["EXECUTORS", "DaskExecutor", "Executor", "InlineExecutor", "ProcessExecutor", "executor_for"]
