"""The attacker's LP audit on small hand-made table sets."""

from __future__ import annotations

import pytest

from kitbag_analysis.sdc.attack import audit, feasible_intervals
from kitbag_analysis.sdc.cells import CellKey


def k(unit: str, row: str = "family support workers") -> CellKey:
    return CellKey(unit, "baseline", "practitioners", row, "kitbag")


LAS = ("bexley", "haringey", "oxfordshire", "warwickshire")


def test_the_outside_checks_attack_is_found() -> None:
    """Bexley suppressed alone: pooled 49 - Haringey 14 - Oxfordshire 13 - Warwickshire 15 = 7."""
    published = {
        k("all"): 49.0,
        k("bexley"): None,
        k("haringey"): 14.0,
        k("oxfordshire"): 13.0,
        k("warwickshire"): 15.0,
    }
    intervals = feasible_intervals(published, [(k("all"), tuple(k(u) for u in LAS))])
    assert intervals == {k("bexley"): (7.0, 7.0)}
    assert [n.key for n in audit(intervals, 10)] == [k("bexley")]


def test_a_second_suppression_protects_it() -> None:
    """Suppress Oxfordshire too: bexley + oxfordshire = 20, so each lies in [0, 20]."""
    published = {
        k("all"): 49.0,
        k("bexley"): None,
        k("haringey"): 14.0,
        k("oxfordshire"): None,
        k("warwickshire"): 15.0,
    }
    intervals = feasible_intervals(published, [(k("all"), tuple(k(u) for u in LAS))])
    assert intervals == {k("bexley"): (0.0, 20.0), k("oxfordshire"): (0.0, 20.0)}
    assert audit(intervals, 10) == []


def test_two_cells_whose_group_leaves_zero_give_themselves_away() -> None:
    total, a, b, c = (k("bexley", r) for r in ("included", "other", "not recorded", "female"))
    intervals = feasible_intervals({total: 30.0, a: None, b: None, c: 30.0}, [(total, (a, b, c))])
    assert intervals == {a: (0.0, 0.0), b: (0.0, 0.0)}
    assert len(audit(intervals, 10)) == 2


def test_orderings_bound_a_cell_and_nothing_is_unbounded_by_mistake() -> None:
    total, part = k("bexley", "enrolled"), k("bexley", "with a baseline measure")
    assert feasible_intervals({total: None, part: 12.0}, [], [(part, total)]) == {total: (12.0, float("inf"))}
    assert feasible_intervals({total: 40.0, part: None}, [], [(part, total)]) == {part: (0.0, 40.0)}


def test_contradictory_publication_is_an_error() -> None:
    total, a, b = k("all", "t"), k("all", "a"), k("all", "b")
    with pytest.raises(ValueError):
        feasible_intervals({total: 5.0, a: None, b: 9.0}, [(total, (a, b))])


def test_a_memo_reuses_only_the_same_programme() -> None:
    """Two components; a second call through the same memo changes one published value: the
    untouched component is taken from the memo, the changed one is solved again, and both equal
    a fresh solve (a memo keyed by its cells alone would give the stale [0, 20])."""
    rows = ("family support workers", "social workers")
    identities = [(k("all", r), tuple(k(u, r) for u in LAS)) for r in rows]

    def published(haringey: float) -> dict:
        return {
            **{k(u, rows[0]): v for u, v in zip(("all", *LAS), (49.0, None, haringey, None, 15.0), strict=True)},
            **{k(u, rows[1]): v for u, v in zip(("all", *LAS), (60.0, 12.0, None, 20.0, None), strict=True)},
        }

    memo: dict = {}
    first = feasible_intervals(published(14.0), identities, memo=memo)
    assert len(memo) == 2 and first == feasible_intervals(published(14.0), identities)
    solved = dict(memo)
    again = feasible_intervals(published(4.0), identities, memo=memo)
    assert again == feasible_intervals(published(4.0), identities)
    assert again[k("bexley")] == (0.0, 30.0) and again[k("haringey", rows[1])] == first[k("haringey", rows[1])]
    assert len(memo) == 3 and all(memo[key] is value for key, value in solved.items())
