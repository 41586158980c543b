"""A unit of a `kitbag monitor` run: its monitoring page and files written whole into the staged
bundle (or ``error.txt``), from the cut study and the monitoring state the run prepared once in
its private folder; and the bundle's index, which leads with the ratings."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import tempfile
import time
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.errors import RunFailed
from kitbag_analysis.pages import monitoring as pm
from kitbag_analysis.pages.html import TEMPLATES
from kitbag_analysis.runs.manifest import INDEX, MANIFEST
from kitbag_analysis.runs.private_folder import process_folder
from kitbag_analysis.runs.unit import ERROR_FILE, UnitOutcome, failed
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import restrict, unit_name

MONITORING_TEMPLATES = (TEMPLATES / "monitoring.html.j2", TEMPLATES / "monitoring_index.html.j2")


def prepare_monitoring(study: Study, stamp: dict) -> dict:
    """Every unit's monitoring and the pattern over all of them, once per run (refused here,
    before any unit runs, when no safe pattern exists): the run's payload."""
    state = pm.monitoring(study, dt.date.fromisoformat(stamp["as_of"]))
    return {"study": study, "pattern": state.pattern, "monitoring": state}


def run_monitoring_unit(study_dir: str, unit: str, audit_stamp: str, payload: bytes) -> UnitOutcome:
    """One unit's monitoring.html, results.json, release.json and sdc/, returned as its files (the
    run alone writes the bundle)."""
    started = time.perf_counter()
    stamp = json.loads(audit_stamp)
    parameters = {"study_dir": study_dir, "unit": unit, "as_of": stamp["as_of"]}
    with tempfile.TemporaryDirectory(prefix="unit-", dir=process_folder()) as tmp:
        staged = Path(tmp)
        try:
            state = pickle.loads(payload)
            study: Study = state["study"]
            headline = pm.write_unit(study, unit, state["monitoring"], stamp, staged)
            files = {str(p.relative_to(staged)): p.read_bytes() for p in sorted(staged.rglob("*")) if p.is_file()}
        except (OSError, MemoryError) as exc:
            raise RunFailed(f"unit {unit}: the machine failed the run ({type(exc).__name__})") from None
        except Exception as exc:  # a failed unit must not stop the run
            return failed(unit, exc, time.perf_counter() - started, parameters)
    return UnitOutcome(
        unit,
        "ok",
        time.perf_counter() - started,
        excluded=restrict(study, unit).excluded,
        parameters=parameters,
        headline=headline,
        files=files,
    )


def write_monitoring_index(folder: Path, study: Study, outcomes: list[UnitOutcome], stamp: dict) -> None:
    """index.html of a monitoring bundle: the ratings of every unit first, then the links."""
    units = [
        {
            "unit": o.unit,
            "name": unit_name(study, o.unit),
            "ok": o.status == "ok",
            "error": o.error,
            "error_file": f"{o.unit}/{ERROR_FILE}",
            "headline": o.headline or [],
        }
        for o in outcomes
    ]
    atomic.write_text(folder / INDEX, pm.index_page(study, units, stamp, MANIFEST))


__all__ = ["MONITORING_TEMPLATES", "prepare_monitoring", "run_monitoring_unit", "write_monitoring_index"]
