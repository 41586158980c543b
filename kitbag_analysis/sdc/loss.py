"""What disclosure control costs a reader (analysis-plan.md §6.2, "What is lost is measured").

Per table, the published numbers shown and hidden; and the key results of a trial report hidden:
the participant flow's counts, the main estimates, the CACE, attrition and the MDES. Read from
the `Release` as published, so summary.json, the output checker's page and the benchmark agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kitbag_analysis.analysis.names import ATTRITION, COMPLIANCE, EFFECTIVENESS, FLOW, WHATWORKS
from kitbag_analysis.sdc.cells import Cell, Release

# The key results of a trial report, each a test on a published cell (CONSORT 2025 22a–b flow,
# 26 outcomes; the What-Works statistics of §7).
KEY_RESULTS: dict[str, Callable[[Cell], bool]] = {
    "flow counts": lambda c: c.key.table == FLOW and c.measure == "n",
    "main estimates": lambda c: c.key.table == EFFECTIVENESS and c.measure == "estimate",
    "CACE": lambda c: c.key.table == COMPLIANCE and c.measure == "cace",
    "attrition": lambda c: c.key.table == ATTRITION
    or (c.key.table == WHATWORKS and c.key.column.startswith("attrition")),
    "MDES": lambda c: c.measure == "mdes",
}


def losses(release: Release) -> dict[str, Any]:
    """Cells shown and hidden per table, in all, and of each key result (a cell with no value,
    such as a model that was not estimable, is neither; a model withheld by disclosure control is
    a main estimate hidden)."""
    tables = {}
    for name, table in release.tables.items():
        cells = [c for c in table.cells() if c.value is not None]
        hidden = sum(c.suppressed for c in cells)
        tables[name] = {"shown": len(cells) - hidden, "hidden": hidden}
    every = [c for c in release.cells() if c.value is not None]
    hidden = sum(c.suppressed for c in every)
    key = {}
    for what, test in KEY_RESULTS.items():
        cells = [c for c in every if test(c)]
        key[what] = {"shown": sum(not c.suppressed for c in cells), "hidden": sum(c.suppressed for c in cells)}
    key["main estimates"]["hidden"] += len(release.withheld)  # a model not shown is words, not a [c]
    return {
        "cells": {
            "shown": len(every) - hidden,
            "hidden": hidden,
            "hidden_share": round(hidden / len(every), 4) if every else 0.0,
        },
        "tables": tables,
        "key_results": key,
    }


__all__ = ["KEY_RESULTS", "losses"]
