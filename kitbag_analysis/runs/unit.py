"""One unit of a run: both notebooks executed, rendered, and the unit's folder written whole.

A unit's folder appears in the staged bundle only when every file of it is written; a failed
unit leaves ``<unit>/error.txt`` instead (outputs.md).
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.errors import NotebookFailed
from kitbag_analysis.runs.execute import execute_notebook
from kitbag_analysis.runs.kernels import NOTEBOOK_DIR
from kitbag_analysis.runs.render import render_html

EFFECTIVENESS = NOTEBOOK_DIR / "effectiveness_report.ipynb"
DATA_QUALITY = NOTEBOOK_DIR / "data_quality.ipynb"
NOTEBOOKS = (EFFECTIVENESS, DATA_QUALITY)
ERROR_FILE = "error.txt"


@dataclass
class UnitOutcome:
    """How one unit's run ended (and, when it ended well, what the index page shows of it)."""

    unit: str
    status: str  # ok | failed
    seconds: float
    error: str = ""
    excluded: dict | None = None
    parameters: dict | None = None
    headline: list | None = None  # published effects: [label, text]


def run_unit(study_dir: str, unit: str, out_dir: str, audit_stamp: str, study_cache: str = "") -> UnitOutcome:
    """Run both notebooks for ``unit`` into ``out_dir/<unit>`` (inside the staged bundle)."""
    from kitbag_analysis.runs.kernels import die_with_parent

    die_with_parent()
    started = time.perf_counter()
    out = Path(out_dir)
    stamp = json.loads(audit_stamp)
    private = Path(study_cache).parent if study_cache else None
    parameters = {"study_dir": str(Path(study_dir).resolve()), "unit": unit, "study_cache": study_cache}
    with atomic.staging_dir(out / unit, "unit") as staged:
        try:
            execute_notebook(
                EFFECTIVENESS,
                staged / "report.ipynb",
                {
                    **parameters,
                    "audit_stamp": audit_stamp,
                    "results_path": str(staged / "results.json"),
                    "sdc_dir": str(staged / "sdc"),
                },
                private,
            )
            execute_notebook(
                DATA_QUALITY, staged / "data_quality.ipynb", {**parameters, "audit_stamp": audit_stamp}, private
            )
            release = json.loads((staged / "release.json").read_text())
            title = f"{release['study']}: {{}} — {release['unit_name']}"
            render_html(
                staged / "report.ipynb", staged / "report.html", title.format("effectiveness report"), stamp["run_id"]
            )
            render_html(
                staged / "data_quality.ipynb",
                staged / "data_quality.html",
                title.format("data quality"),
                stamp["run_id"],
            )
            results = json.loads((staged / "results.json").read_text())
            atomic.publish_dir(staged, out / unit)
            return UnitOutcome(
                unit,
                "ok",
                time.perf_counter() - started,
                excluded=results["excluded"],
                parameters=parameters,
                headline=release.get("headline"),
            )
        except Exception as exc:  # a failed unit must not stop the batch
            return record_failure(out, unit, exc, time.perf_counter() - started, parameters)


def record_failure(
    out: Path, unit: str, exc: BaseException, seconds: float, parameters: dict | None = None
) -> UnitOutcome:
    """Leave ``<unit>/error.txt`` (written whole) in place of the unit's report."""
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0][:300]
    if not isinstance(exc, NotebookFailed):
        first = f"{type(exc).__name__}: {first}" if not first.startswith(type(exc).__name__) else first
    with atomic.staging_dir(out / unit, "error") as staged:
        detail = "".join(traceback.format_exception(exc))
        atomic.write_text(staged / ERROR_FILE, f"unit {unit} failed: {first}\n\n{detail}")
        atomic.publish_dir(staged, out / unit)
    return UnitOutcome(unit, "failed", seconds, error=first, parameters=parameters)


__all__ = ["DATA_QUALITY", "EFFECTIVENESS", "ERROR_FILE", "NOTEBOOKS", "UnitOutcome", "record_failure", "run_unit"]
