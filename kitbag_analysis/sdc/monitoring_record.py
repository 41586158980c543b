"""The output checker's record of a monitoring unit (``<unit>/sdc/``): ACRO's record of exactly
the published tables and summary.json with the rules and the audit's proof for this unit."""

from __future__ import annotations

import json
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.sdc.cells import SUPPRESSED, Release
from kitbag_analysis.sdc.loss import losses
from kitbag_analysis.sdc.pattern import Pattern
from kitbag_analysis.sdc.policy import describe, policy_from_json


def write_monitoring_record(release: Release, pattern: Pattern, sdc_dir: Path) -> dict:
    """Write ``sdc_dir`` (``acro/`` and ``summary.json``) for the output checker."""
    from kitbag_analysis.sdc.acro_record import acro_session, finalise

    sdc_dir.mkdir(parents=True, exist_ok=True)
    threshold = release.threshold
    with atomic.staging_dir(sdc_dir / "published") as scratch:
        custom: dict[str, tuple[Path, str]] = {}
        for name, table in release.tables.items():
            path = scratch / f"{name}.csv"
            table.frame().to_csv(path, index=False)
            hidden = sum(c.suppressed for c in table.cells())
            custom[name] = (
                path,
                f"{table.title}, as published in monitoring.html: {hidden} cell(s) shown as {SUPPRESSED}",
            )
        with acro_session(threshold, not policy_from_json(release.disclosure).zeros_safe) as session:
            statuses = finalise(session, sdc_dir / "acro", custom)
    mine = {c.key for c in release.cells() if c.suppressed and c.measure == "n"}
    summary = {
        "unit": release.unit,
        "kind": "monitoring",
        "threshold": threshold,
        "disclosure": release.disclosure,
        "policy": describe(policy_from_json(release.disclosure), threshold),
        "lost": losses(release),
        "rules": [
            f"counts of people below {threshold} shown as {SUPPRESSED}, as the disclosure policy says",
            "secondary suppression coordinated across every monitoring table of every unit (the pooled unit is "
            "the sum of the local authorities; with + without = total), audited by linear programming",
            "shares, their Wilson intervals and ratings shown only where every count they rest on is shown",
            "no row-level value or participant id",
        ],
        "suppressed_cells": {name: sum(c.suppressed for c in t.cells()) for name, t in release.tables.items()},
        "cells_published": len(release.cells()),
        "acro": {"record": "acro/results.json: ACRO's record of exactly the published tables", "statuses": statuses},
        "audit": {
            "solver": pattern.solver,
            "status": pattern.status,
            "rounds": pattern.rounds,
            "seconds": round(pattern.seconds, 3),
            "time_limit_seconds": pattern.time_limit,
            "method": pattern.method,
            "study": {"primary": len(pattern.primary), "secondary": len(pattern.secondary)},
            "unit": {"primary": len(mine & pattern.primary), "secondary": len(mine & pattern.secondary)},
            "rule": f"every suppressed count's feasible interval is at least {threshold} wide",
            "intervals": [
                {"cell": k.label, "lo": round(lo, 6), "hi": None if hi == float("inf") else round(hi, 6)}
                for k, (lo, hi) in sorted(pattern.intervals.items())
                if k in mine
            ],
        },
        "release_candidates": ["monitoring.html", "release.json"],
        "stays_inside": ["results.json"],
    }
    atomic.write_text(sdc_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


__all__ = ["write_monitoring_record"]
