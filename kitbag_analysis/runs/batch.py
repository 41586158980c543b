"""A run of `kitbag batch` / `kitbag report`: units scheduled over worker processes (or a Dask
cluster), the whole bundle staged beside the output folder and published by renames only.

- the output folder is locked for the run (a second run into it exits 2);
- it must be empty, absent or a previous bundle of this tool, which is replaced as a whole;
- the bundle is built in a sibling staging folder (never inside the output folder), so a killed
  run leaves the previous bundle (or nothing) and a staging folder the next run removes;
- the validated study reaches the kernels through a private folder outside it (`private_cache`);
- workers and their kernels die with the run; Ctrl-C or SIGTERM ends them and removes staging.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.errors import UnusableInput
from kitbag_analysis.runs.manifest import MANIFEST, write_index, write_manifest
from kitbag_analysis.runs.private_folder import STUDY_FILE, private_folder
from kitbag_analysis.runs.stamp import TOOL, new_stamp
from kitbag_analysis.runs.unit import NOTEBOOKS, UnitOutcome, record_failure, run_unit
from kitbag_analysis.study.load import excluded, load_study
from kitbag_analysis.study.units import check_unit

STAGING_TAG = "staging"
POLL_SECONDS = 0.2  # how often the run looks up from its workers (Ctrl-C is taken then at the latest)


@dataclass
class BatchResult:
    out_dir: Path
    outcomes: list[UnitOutcome]

    @property
    def failed(self) -> list[UnitOutcome]:
        return [o for o in self.outcomes if o.status != "ok"]


def _sibling_glob(out: Path, tag: str) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.{tag}-*"))


def check_output_folder(out: Path) -> None:
    """Refuse a folder that is neither absent, empty nor a previous bundle of this tool."""
    if out.is_symlink():
        raise UnusableInput(f"{out}: the output folder is a symbolic link; give a real folder.")
    if not out.exists():
        return
    if not out.is_dir():
        raise UnusableInput(f"{out}: exists and is not a folder.")
    if not any(out.iterdir()):
        return
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        ours = manifest.get("tool") == TOOL
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise UnusableInput(
            f"{out}: the folder is not empty and is not a report bundle of this tool; nothing was written. "
            "Choose a new or empty folder (a previous bundle is replaced as a whole)."
        )


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold the output folder's lock (a file beside it) for the run; a second run exits 2."""
    from filelock import FileLock, Timeout

    out.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out.parent / f".{out.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UnusableInput(
            f"{out}: another kitbag run is writing to this folder; wait for it to finish or choose another --out."
        ) from None
    try:
        yield
    finally:
        lock.release()


def run_batch(
    study_dir: str | Path,
    out_dir: str | Path,
    units: list[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[UnitOutcome], None] | None = None,
    runner: Callable[..., UnitOutcome] | None = None,
) -> BatchResult:
    """Every unit (default: each LA of study.toml, then ``all``); one failed unit does not stop
    the others. The bundle (units, index.html, manifest.json) is published whole at the end."""
    study_dir, out = Path(study_dir), Path(out_dir).absolute()
    check_output_folder(out)
    with output_lock(out):
        for leftover in _sibling_glob(out, STAGING_TAG):  # a killed run's staging
            atomic.remove_tree(leftover)
        everyone = load_study(study_dir, apply_exclusions_=False)
        study = excluded(everyone)
        units = units or study.units
        for unit in units:
            check_unit(study, unit)
        rows = {name: len(frame) for name, frame in everyone.frames.items()}
        stamp = new_stamp(study_dir, rows, list(NOTEBOOKS))
        with private_folder(study) as private, atomic.staging_dir(out, STAGING_TAG) as staged:
            stamp_json = json.dumps(stamp)
            jobs = [(str(study_dir), u, str(staged), stamp_json, str(private / STUDY_FILE)) for u in units]
            outcomes = []
            for outcome in _execute(jobs, workers, scheduler, runner or run_unit):
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
            order = {u: k for k, u in enumerate(units)}
            outcomes.sort(key=lambda o: order[o.unit])
            write_index(staged, study, outcomes, stamp)
            write_manifest(staged, stamp, outcomes)
            atomic.publish_dir(staged, out)
    return BatchResult(out, outcomes)


def _worker_init() -> None:
    """Workers die with the run and leave Ctrl-C to it (it ends them itself)."""
    from kitbag_analysis.runs.kernels import die_with_parent

    die_with_parent(signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run ends its workers itself; kernels inherit this
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # spawned while the run held it


def _execute(
    jobs: list[tuple], workers: int | None, scheduler: str | None, runner: Callable[..., UnitOutcome]
) -> Iterator[UnitOutcome]:
    if scheduler:
        yield from _on_dask(jobs, scheduler, runner)
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1:  # in this process: its kernel ends with the run (its sockets do)
        from kitbag_analysis.runs.kernels import shutdown

        try:
            for job in jobs:
                try:
                    yield runner(*job)
                except Exception as exc:  # the runner failed outside the notebook
                    yield record_failure(Path(job[2]), job[1], exc, 0.0)
        finally:
            shutdown()
        return
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)), mp_context=get_context("spawn"), initializer=_worker_init
    )
    try:
        with _holding_sigint():  # workers start with Ctrl-C ignored: the run ends them itself
            futures = {pool.submit(runner, *job): job for job in jobs}
        for future in _completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # the worker process itself died
                yield record_failure(Path(job[2]), job[1], exc, 0.0)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def _completed(futures: Iterable[Future], poll: float = POLL_SECONDS) -> Iterator[Future]:
    """Futures as they complete, waiting in short slices. A signal may be delivered to any of the
    process's threads (rich's, the pool's); a main thread blocked without a timeout would only
    see the Ctrl-C when the next unit finished, so it wakes every ``poll`` seconds to take it."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
        yield from done


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


def _stop(pool: ProcessPoolExecutor) -> None:
    """End every worker now (their kernels follow them: parent-death signal)."""
    processes = list((pool._processes or {}).values())  # noqa: SLF001 - no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(ProcessLookupError, OSError):
            process.kill()
    for process in processes:
        process.join(timeout=5)


def _on_dask(jobs: list[tuple], scheduler: str, runner: Callable[..., UnitOutcome]) -> Iterator[UnitOutcome]:
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    with Client(scheduler) as client:
        futures = {client.submit(runner, *job, pure=False): job for job in jobs}
        for future in dask_completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # the worker itself died
                yield record_failure(Path(job[2]), job[1], exc, 0.0)


__all__ = ["BatchResult", "check_output_folder", "output_lock", "run_batch"]
