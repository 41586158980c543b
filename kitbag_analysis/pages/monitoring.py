"""A unit's interim monitoring page and files (`kitbag monitor`): results.json (exact, stays
inside), release.json (every number the page shows, with the identities among its counts),
monitoring.html and the output checker's record in ``sdc/``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitbag_analysis import atomic
from kitbag_analysis.analysis.monitoring import UnitMonitoring, monitor, quarters_of
from kitbag_analysis.pages import html
from kitbag_analysis.pages.report import impact_html
from kitbag_analysis.sdc.cells import SUPPRESSED, Release
from kitbag_analysis.sdc.history import pattern_over_time
from kitbag_analysis.sdc.ledger import read_ledger
from kitbag_analysis.sdc.linked import key_json
from kitbag_analysis.sdc.monitoring import monitoring_linked_set, monitoring_release, ratings
from kitbag_analysis.sdc.pattern import Pattern
from kitbag_analysis.study.load import Study

KIND = "monitoring"
PAGE = "monitoring.html"


@dataclass
class Monitoring:
    """Every unit's exact monitoring of a study cut to ``as_of``, and the study's pattern."""

    as_of: dt.date
    units: dict[str, UnitMonitoring] = field(default_factory=dict)
    pattern: Pattern | None = None


def monitoring(study: Study, as_of: dt.date) -> Monitoring:
    """Every unit's monitoring and the coordinated suppression pattern over all of them (refused
    when no safe pattern exists). ``study`` is already cut to ``as_of`` (`study.asof`)."""
    quarters = quarters_of(study)
    units = {u: monitor(study, u, as_of, quarters) for u in study.units}
    linked = monitoring_linked_set(study, units)
    pattern = pattern_over_time(linked, study.settings.sdc_threshold, read_ledger(study.path), "monitoring report")
    return Monitoring(as_of, units, pattern)


def release_json(study: Study, release: Release, pattern: Pattern, as_of: dt.date) -> dict[str, Any]:
    """release.json: the page's cells as printed, with the identities and orderings touching them."""
    mine = {c.key for c in release.cells()}
    linked = pattern.linked
    assert linked is not None
    return release.to_json() | {
        "kind": KIND,
        "as_of": as_of.isoformat(),
        "study": study.settings.name,
        "unit_name": release.unit_name,
        "identities": [i.to_json() for i in linked.identities if mine.intersection(i.cells)],
        "bounds": [{"smaller": key_json(a), "larger": key_json(b)} for a, b in linked.bounds if a in mine or b in mine],
    }


def page(study: Study, release: Release, stamp: dict[str, Any], as_of: dt.date, stamp_html: str) -> str:
    s = study.settings
    return html.render(
        "monitoring",
        study_name=s.name,
        unit_name=release.unit_name,
        stamp=stamp,
        as_of=as_of.isoformat(),
        impact=impact_html(study),
        stamp_html=stamp_html,
        tables=list(release.tables.values()),
        followup_days=s.followup_days,
        threshold=s.sdc_threshold,
        suppressed=SUPPRESSED,
    )


def _stamp_html(study: Study, unit: str, stamp: dict[str, Any], as_of: dt.date) -> str:
    dirty = bool(stamp.get("git_dirty"))
    rows = [
        ("run", stamp.get("run_id")),
        ("created (UTC)", stamp.get("created_at")),
        ("tool version", stamp.get("tool_version")),
        ("code commit", f"{stamp.get('git_commit')}{' (uncommitted changes)' if dirty else ''}"),
        ("python and packages", ", ".join(f"{k} {v}" for k, v in stamp.get("packages", {}).items())),
        ("unit", unit),
        ("data cut", as_of.isoformat()),
        ("inputs (SHA-256)", "; ".join(f"{i['path']} {i['sha256'][:16]}…" for i in stamp.get("inputs", []))),
    ]
    return html.render("stamp", rows=rows, dirty=dirty, run_id=stamp.get("run_id", ""))


def write_unit(study: Study, unit: str, state: Monitoring, stamp: dict[str, Any], folder: Path) -> list[list[str]]:
    """Write one unit's monitoring files into ``folder``; return its ratings as the index shows them."""
    m = state.units[unit]
    assert state.pattern is not None
    release = monitoring_release(study, m, state.pattern.protection)
    atomic.write_text(folder / "results.json", json.dumps(m.to_json(), indent=2) + "\n")
    atomic.write_text(
        folder / "release.json", json.dumps(release_json(study, release, state.pattern, state.as_of), indent=2) + "\n"
    )
    stamp_html = _stamp_html(study, unit, stamp, state.as_of)
    atomic.write_text(folder / PAGE, page(study, release, stamp, state.as_of, stamp_html))
    from kitbag_analysis.sdc.monitoring_record import write_monitoring_record

    write_monitoring_record(release, state.pattern, folder / "sdc")
    return ratings(release, m)


def index_page(study: Study, units: list[dict[str, Any]], stamp: dict[str, Any], manifest: str) -> str:
    """The monitoring bundle's index: the ratings table first."""
    criteria = [label for label, _, _ in next((u["headline"] for u in units if u["ok"]), [])]
    return html.render(
        "monitoring_index",
        study_name=study.settings.name,
        as_of=stamp.get("as_of", ""),
        impact=impact_html(study),
        criteria=criteria,
        units=units,
        stamp=stamp,
        manifest=manifest,
        threshold=study.settings.sdc_threshold,
        suppressed=SUPPRESSED,
    )


__all__ = ["KIND", "PAGE", "Monitoring", "index_page", "monitoring", "release_json", "write_unit"]
