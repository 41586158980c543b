"""The bundle's audit stamp (manifest.json) and its index page (outputs.md)."""

from __future__ import annotations

import json
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.atomic import sha256
from kitbag_analysis.pages import html
from kitbag_analysis.pages.report import REPORTING, impact_html
from kitbag_analysis.runs.unit import ERROR_FILE, UnitOutcome
from kitbag_analysis.sdc.release_tables import VERDICT_RULE
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import ALL

MANIFEST = "manifest.json"
INDEX = "index.html"


def write_index(folder: Path, study: Study, outcomes: list[UnitOutcome], stamp: dict) -> None:
    """index.html: the summary of findings of every unit (the pooled trial first) with verdict
    words, links to the published pages only, and the run's compact stamp."""

    units = []
    for o in sorted(outcomes, key=lambda o: o.unit != ALL):  # the pooled trial first
        name = "All local authorities (pooled trial)" if o.unit == ALL else study.settings.local_authorities[o.unit]
        units.append(
            {
                "unit": o.unit,
                "name": name,
                "ok": o.status == "ok",
                "status": "complete" if o.status == "ok" else "failed",
                "error": o.error,
                "error_file": f"{o.unit}/{ERROR_FILE}",
                "headline": o.headline or [],
                "reporting": o.status == "ok" and all((folder / o.unit / name).is_file() for name in REPORTING),
            }
        )
    page = html.render(
        "index",
        study_name=study.settings.name,
        units=units,
        stamp=stamp,
        impact=impact_html(study),
        verdict_rule=VERDICT_RULE,
    )
    atomic.write_text(folder / INDEX, page)


def outputs(folder: Path) -> list[dict]:
    """Every file of the bundle (hidden ones included) but the manifest, with its SHA-256."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    return [{"path": str(p.relative_to(folder)), "sha256": sha256(p)} for p in files]


def reporting_entry(folder: Path, outcomes: list[UnitOutcome]) -> dict:
    """The report's title and the pooled unit's reporting checklist and abstract (outputs.md),
    each also hashed in ``outputs``; {} for a bundle without them (a monitoring bundle)."""
    pooled = next((o for o in outcomes if o.unit == ALL and o.status == "ok"), None)
    files = [f"{ALL}/{name}" for name in REPORTING if (folder / ALL / name).is_file()]
    if pooled is None or not files:
        return {}
    return {"title": pooled.title, "files": files}


def write_manifest(folder: Path, stamp: dict, outcomes: list[UnitOutcome]) -> None:
    manifest = {
        **stamp,
        "parameters": {o.unit: o.parameters for o in outcomes},
        "units": {o.unit: {"status": o.status, "seconds": round(o.seconds, 2), "error": o.error} for o in outcomes},
        "excluded": {o.unit: o.excluded for o in outcomes if o.excluded is not None},
        "outputs": outputs(folder),
    }
    reporting = reporting_entry(folder, outcomes)
    if reporting:
        manifest["reporting"] = reporting
    atomic.write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")


__all__ = ["INDEX", "MANIFEST", "outputs", "reporting_entry", "write_index", "write_manifest"]
