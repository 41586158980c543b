"""A unit of a `kitbag monitor` run: its monitoring page and files written whole into the staged
bundle (or ``error.txt``), from the cut study and the monitoring state the run prepared once in
its private folder; and the bundle's index, which leads with the ratings."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import time
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.pages import monitoring as pm
from kitbag_analysis.pages.html import TEMPLATES
from kitbag_analysis.runs.manifest import INDEX, MANIFEST
from kitbag_analysis.runs.unit import ERROR_FILE, UnitOutcome, record_failure
from kitbag_analysis.sdc.pattern import Pattern
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import restrict, unit_name

STATE_FILE = "monitoring.pkl"
MONITORING_TEMPLATES = (TEMPLATES / "monitoring.html.j2", TEMPLATES / "monitoring_index.html.j2")


def prepare_monitoring(study: Study, private: Path, stamp: dict) -> Pattern:
    """Every unit's monitoring and the pattern over all of them, once per run (refused here,
    before any unit runs, when no safe pattern exists), kept in the run's private folder."""
    state = pm.monitoring(study, dt.date.fromisoformat(stamp["as_of"]))
    atomic.write_bytes(private / STATE_FILE, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    return state.pattern


def run_monitoring_unit(
    study_dir: str, unit: str, out_dir: str, audit_stamp: str, study_cache: str = ""
) -> UnitOutcome:
    """Write ``out_dir/<unit>``: monitoring.html, results.json, release.json and sdc/."""
    from kitbag_analysis.runs.kernels import die_with_parent

    die_with_parent()
    started = time.perf_counter()
    out = Path(out_dir)
    stamp = json.loads(audit_stamp)
    parameters = {"study_dir": str(Path(study_dir).resolve()), "unit": unit, "as_of": stamp["as_of"]}
    with atomic.staging_dir(out / unit, "unit") as staged:
        try:
            with open(study_cache, "rb") as handle:
                study: Study = pickle.load(handle)
            with open(Path(study_cache).with_name(STATE_FILE), "rb") as handle:
                state: pm.Monitoring = pickle.load(handle)
            headline = pm.write_unit(study, unit, state, stamp, staged)
            atomic.publish_dir(staged, out / unit)
            return UnitOutcome(
                unit,
                "ok",
                time.perf_counter() - started,
                excluded=restrict(study, unit).excluded,
                parameters=parameters,
                headline=headline,
            )
        except Exception as exc:  # a failed unit must not stop the run
            return record_failure(out, unit, exc, time.perf_counter() - started, parameters)


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
