"""Executors are chosen by name; each yields every unit's outcome, a dead runner as a failure."""

from __future__ import annotations

import pytest

from kitbag_analysis.errors import RunFailed, UnusableInput
from kitbag_analysis.runs.executors import (
    EXECUTORS,
    DaskExecutor,
    InlineExecutor,
    ProcessExecutor,
    executor_for,
)
from kitbag_analysis.runs.unit import UnitOutcome


def test_chosen_by_name_or_from_the_options() -> None:
    assert set(EXECUTORS) == {"inline", "processes", "dask"}
    assert isinstance(executor_for("inline"), InlineExecutor)
    assert isinstance(executor_for(workers=1), InlineExecutor)
    assert isinstance(executor_for(workers=2), ProcessExecutor) and executor_for(workers=2).workers == 2
    assert isinstance(executor_for(scheduler="tcp://127.0.0.1:1"), DaskExecutor)
    with pytest.raises(UnusableInput, match="choose one of: inline, processes, dask"):
        executor_for("threads")
    with pytest.raises(UnusableInput, match="scheduler address"):
        executor_for("dask")


def _runner(study: str, unit: str, stamp: str, payload: bytes) -> UnitOutcome:
    if unit == "broken":
        raise OSError(28, "No space left on device")
    return UnitOutcome(unit, "ok", 0.0, files={"payload.bin": payload})


@pytest.mark.parametrize("executor", [InlineExecutor(), ProcessExecutor(2)], ids=["inline", "processes"])
def test_the_payload_travels_with_every_unit(executor) -> None:
    jobs = [("study", unit, "{}") for unit in ("bexley", "all")]
    outcomes = {o.unit: o for o in executor.run(jobs, b"the study", _runner)}
    assert {u: o.files for u, o in outcomes.items()} == {u: {"payload.bin": b"the study"} for u in ("bexley", "all")}


@pytest.mark.parametrize("executor", [InlineExecutor(), ProcessExecutor(2)], ids=["inline", "processes"])
def test_a_lost_unit_fails_the_whole_run(executor) -> None:
    """A runner that raises (a full disk, a dead worker) is not a unit's failure: the run fails."""
    jobs = [("study", unit, "{}") for unit in ("bexley", "broken", "all")]
    with pytest.raises(RunFailed, match="unit broken was lost .*No space left on device"):
        list(executor.run(jobs, b"", _runner))


def test_a_dask_cluster_whose_workers_are_all_lost_fails_the_run(monkeypatch) -> None:
    """Workers joined, then all were lost while the units wait: after the wait the run fails
    (the scheduler keeps such tasks pending for ever). A stand-in client, as the scheduler tells it."""
    import dask.distributed

    from kitbag_analysis.runs import executors

    class Pending:
        def done(self) -> bool:
            return False

    class LostWorkers:
        status = "running"

        def __init__(self, *args: object, **kwargs: object) -> None:
            self.cancelled = False

        def wait_for_workers(self, n: int, timeout: float) -> None:  # one had joined
            return None

        def scatter(self, payload: bytes, broadcast: bool) -> object:
            return payload

        def submit(self, *args: object, **kwargs: object) -> Pending:
            return Pending()

        def nthreads(self) -> dict:  # every worker is gone
            return {}

        def cancel(self, futures: list, force: bool) -> None:
            LostWorkers.cancelled = True

        def close(self, timeout: float) -> None:
            return None

    monkeypatch.setattr(dask.distributed, "Client", LostWorkers)
    monkeypatch.setattr(dask.distributed, "wait", lambda *a, **k: None)
    monkeypatch.setattr(executors, "WORKER_CHECK_SECONDS", 0.01)
    monkeypatch.setattr(executors, "WORKER_WAIT_SECONDS", 0.1)
    with pytest.raises(RunFailed, match="all its workers were lost within 0.1 s"):
        list(DaskExecutor("tcp://127.0.0.1:1").run([("study", "bexley", "{}")], b"", lambda *a: None))
    assert LostWorkers.cancelled  # the run's tasks are cancelled on the cluster
