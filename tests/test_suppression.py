"""Secondary suppression coordinated across a linked table set, proven by the audit."""

from __future__ import annotations

from kitbag_analysis.sdc.cells import CellKey
from kitbag_analysis.sdc.linked import Identity, LinkedSet
from kitbag_analysis.sdc.pattern import suppression_pattern

LAS = ("bexley", "haringey", "oxfordshire", "warwickshire")


def k(unit: str, row: str) -> CellKey:
    return CellKey(unit, "baseline", "practitioners", row, "kitbag")


def hierarchy() -> LinkedSet:
    """Per unit: included = social workers + family support workers; all = sum of the LAs."""
    values = {}
    for unit, (sw, fsw) in zip(LAS, [(40, 7), (50, 14), (35, 13), (60, 15)], strict=True):
        values |= {k(unit, "social"): sw, k(unit, "family"): fsw, k(unit, "included"): sw + fsw}
    for row in ("social", "family", "included"):
        values[k("all", row)] = sum(values[k(u, row)] for u in LAS)
    identities = [Identity(k(u, "included"), (k(u, "social"), k(u, "family"))) for u in (*LAS, "all")]
    identities += [Identity(k("all", r), tuple(k(u, r) for u in LAS)) for r in ("social", "family", "included")]
    return LinkedSet(values=values, identities=identities)


def test_pattern_protects_every_cell_and_prefers_local_tables() -> None:
    linked = hierarchy()
    assert not linked.check()
    pattern = suppression_pattern(linked, 10)
    assert pattern.primary == {k("bexley", "family")}  # 7 < 10
    assert all(hi - lo >= 10 for lo, hi in pattern.intervals.values())
    assert not any(key.unit == "all" for key in pattern.secondary)  # LA cells go first
    assert k("bexley", "social") in pattern.suppressed or k("bexley", "included") in pattern.suppressed


def test_pattern_is_deterministic() -> None:
    assert suppression_pattern(hierarchy(), 10).suppressed == suppression_pattern(hierarchy(), 10).suppressed


def test_nothing_small_nothing_suppressed() -> None:
    linked = hierarchy()
    linked.values = {key: v + 20 for key, v in linked.values.items()}
    linked.values = {
        key: (sum(linked.values[p] for p in i.parts) if (i := _total(linked, key)) else v)
        for key, v in linked.values.items()
    }
    pattern = suppression_pattern(linked, 10)
    assert not pattern.suppressed


def _total(linked: LinkedSet, key: CellKey) -> Identity | None:
    return next((i for i in linked.identities if i.total == key), None)


def compliance_set() -> LinkedSet:
    """One LA: analysed = used + did not use at three rules (a contained table), the analysed
    count also a flow stage. Small 'did not use' counts at two rules."""
    n = CellKey("bexley", "effectiveness", "children", "sdq_total", "kitbag")
    flow = CellKey("bexley", "participant_flow", "children", "analysed: sdq_total", "kitbag")
    values = {n: 60, flow: 60}
    identities = [Identity(flow, (n,))]
    for theta, (used, unused) in {"0.25": (57, 3), "0.5": (52, 8), "0.75": (30, 30)}.items():
        cells = tuple(
            CellKey("bexley", "compliance", "children", f"sdq_total theta {theta}", f"kitbag {what}")
            for what in ("used", "did not use")
        )
        values |= dict(zip(cells, (used, unused), strict=True))
        identities.append(Identity(n, cells))
    return LinkedSet(values=values, identities=identities)


def test_compliance_counts_are_protected_among_themselves() -> None:
    """A suppressed compliance count takes its partner in the compliance table, never the
    effectiveness table's analysed count (which stays shown), and the audit passes."""
    linked = compliance_set()
    pattern = suppression_pattern(linked, 10)
    assert {key.table for key in pattern.suppressed} == {"compliance"}
    assert len(pattern.primary) == 2 and len(pattern.secondary) == 2
    assert all(hi - lo >= 10 for lo, hi in pattern.intervals.values())
