"""The kinds of run a bundle can hold, declared once: what a run hashes into its stamp, prepares
once for every unit (the study's suppression pattern), runs per unit and writes as its index.
`batch.run_batch` is the one run machinery (lock, staging, executor, manifest) for all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kitbag_analysis.pages.report import suppression_pattern
from kitbag_analysis.runs.manifest import write_index
from kitbag_analysis.runs.monitor import (
    MONITORING_TEMPLATES,
    prepare_monitoring,
    run_monitoring_unit,
    write_monitoring_index,
)
from kitbag_analysis.runs.unit import NOTEBOOKS, UnitOutcome, run_unit
from kitbag_analysis.study.load import Study


@dataclass(frozen=True)
class RunKind:
    """One kind of bundle (outputs.md: `kitbag releases` lists each release's kind)."""

    name: str
    templates: tuple[Path, ...]  # hashed into the stamp (`notebook_sha256`)
    prepare: Callable[[Study, dict], dict]  # (study, stamp) -> the run's payload: study, pattern, ...
    runner: Callable[..., UnitOutcome]  # (study_dir, unit, stamp_json, payload) -> the unit's files
    index: Callable[[Path, Study, list[UnitOutcome], dict], None]


def _report_payload(study: Study, stamp: dict) -> dict:
    """What every report unit needs: the study and its suppression pattern (against the ledger)."""
    return {"study": study, "pattern": suppression_pattern(study)}


REPORT = RunKind("report", NOTEBOOKS, _report_payload, run_unit, write_index)
MONITORING = RunKind(
    "monitoring", MONITORING_TEMPLATES, prepare_monitoring, run_monitoring_unit, write_monitoring_index
)
KINDS = {k.name: k for k in (REPORT, MONITORING)}

__all__ = ["KINDS", "MONITORING", "REPORT", "RunKind"]
