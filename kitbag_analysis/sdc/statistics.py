"""Statistics of people's values coordinated across units (analysis-plan.md §6: a mean or a
percentage built on fewer than the threshold is suppressed, with a second cell where a total would
reveal the first).

The pooled unit's arm mean is the n-weighted mean of the local authorities' (n published exactly
under `flow = "exact"`), and its share with an event the sum of theirs; so a local authority's
mean or share hidden because it rests on fewer than `sdc_threshold` people would come back as the
pooled value minus the shown ones. For each such statistic, the local authorities whose value is
hidden must together hold at least the threshold of people (and, for a share of people with an
event, at least the threshold with and without it, a zero counting no one where zeros are safe):
otherwise the shown local authority with the fewest people is hidden too, and, when none is left,
the pooled value. What a reader can work out is then a statistic of at least the threshold of people.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from data_contracts.settings import Disclosure
from kitbag_analysis.analysis.names import ARMS, BASELINE, EFFECTIVENESS
from kitbag_analysis.sdc.cells import Cell, CellKey, Release
from kitbag_analysis.study.units import ALL

# the statistics of people's values, by the column they sit in: (table, what follows the arm)
STATISTICS = {EFFECTIVENESS: ("mean", "SD", "per 365 days", "%"), BASELINE: ("mean", "SD")}
EVENT_SHARE = "%"  # the binary outcome's share with a referral (events = share × n)


def _family(cell: Cell) -> tuple[str, str] | None:
    """(arm, what) of a coordinated statistic, None for any other cell."""
    k = cell.key
    if cell.measure == "n" or k.table not in STATISTICS or (k.table == BASELINE and ": " in k.row):
        return None
    arm, _, what = k.column.partition(" ")
    return (arm, what) if arm in ARMS and what in STATISTICS[k.table] else None


def coordinated(
    releases: Mapping[str, Release], las: list[str], threshold: int, policy: Disclosure
) -> frozenset[CellKey]:
    """The statistics to hide beyond each unit's own rules, so no hidden one can be worked out
    from the pooled value and the shown ones. ``releases`` are every unit's, before any pattern."""
    counts = {c.key: c.value for r in releases.values() for c in r.cells() if c.measure == "n"}
    groups: dict[tuple, dict[str, Cell]] = defaultdict(dict)
    for unit, release in releases.items():
        for cell in release.cells():
            if cell.value is not None and _family(cell):
                k = cell.key
                groups[(k.table, k.population, k.row, k.column)][unit] = cell
    extra: set[CellKey] = set()
    for (table, population, row, column), cells in sorted(groups.items()):
        arm, _, what = column.partition(" ")

        def n(unit: str, table: str = table, population: str = population, row: str = row, arm: str = arm) -> float:
            return float(counts.get(CellKey(unit, table, population, row, arm)) or 0)

        hidden = [u for u in las if u in cells and cells[u].suppressed]
        if not hidden or ALL not in cells or cells[ALL].suppressed:
            continue
        shown = sorted((n(u), u) for u in las if u in cells and not cells[u].suppressed)
        while not _enough(hidden, cells, n, what, threshold, policy):
            if not shown:
                extra.add(cells[ALL].key)
                break
            _, unit = shown.pop(0)
            hidden.append(unit)
            extra.add(cells[unit].key)
    return frozenset(extra)


def _enough(hidden: list[str], cells: dict[str, Cell], n, what: str, threshold: int, policy: Disclosure) -> bool:  # noqa: ANN001
    """Whether the hidden units together hold enough people (with and without the event, for a share)."""
    people = sum(n(u) for u in hidden)
    if people < threshold:
        return False
    if what != EVENT_SHARE:
        return True
    events = sum(round(float(cells[u].value) * n(u) / 100) for u in hidden)
    return all(not (0 < side < threshold) and (side > 0 or policy.zeros_safe) for side in (events, people - events))


__all__ = ["STATISTICS", "coordinated"]
