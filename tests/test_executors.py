"""Executors are chosen by name; each yields every unit's outcome, a dead runner as a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitbag_analysis.errors import UnusableInput
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


def _runner(study: str, unit: str, staging: str, stamp: str, private: str) -> UnitOutcome:
    if unit == "broken":
        raise RuntimeError("the runner failed outside its notebook")
    return UnitOutcome(unit, "ok", 0.0)


@pytest.mark.parametrize("executor", [InlineExecutor(), ProcessExecutor(2)], ids=["inline", "processes"])
def test_every_unit_comes_back_a_failure_as_an_error_file(executor, tmp_path: Path) -> None:
    jobs = [("study", unit, str(tmp_path), "{}", "private") for unit in ("bexley", "broken", "all")]
    outcomes = {o.unit: o for o in executor.run(jobs, _runner)}
    assert set(outcomes) == {"bexley", "broken", "all"}
    assert outcomes["bexley"].status == "ok" and outcomes["broken"].status != "ok"
    assert (tmp_path / "broken" / "error.txt").is_file()
