"""Completeness and attrition, exact, on the hand-made trial of test_tables."""

from __future__ import annotations

from pathlib import Path

from test_tables import small_trial

from kitbag_analysis.analysis.quality import attrition, completeness
from kitbag_analysis.study.load import load_study
from kitbag_analysis.study.units import restrict


def test_completeness_and_attrition_by_hand(tmp_path: Path) -> None:
    view = restrict(load_study(small_trial(tmp_path / "t")), "all")
    frame = completeness(view)
    sdq = frame[(frame["population"] == "children") & (frame["score"] == "sdq_total")]
    got = {
        (r["wave"], r["local_authority"], r["arm"]): (r["participants"], r["with score"])
        for r in sdq.to_dict("records")
    }
    # participants: included children per LA and arm (c2 withdrew); with score: from the waves
    assert got == {
        ("baseline", "bexley", "kitbag"): (1, 1),  # c1
        ("baseline", "bexley", "control"): (1, 1),  # c3
        ("baseline", "haringey", "kitbag"): (1, 0),  # c4 has no baseline
        ("baseline", "haringey", "control"): (2, 1),  # c5 of c5, c6
        ("followup", "bexley", "kitbag"): (1, 1),
        ("followup", "bexley", "control"): (1, 0),
        ("followup", "haringey", "kitbag"): (1, 1),
        ("followup", "haringey", "control"): (2, 1),
    }
    assert sdq.loc[sdq["participants"] == 2, "percent"].tolist() == [50.0, 50.0]
    table = attrition(frame).set_index(["population", "score", "arm"])
    kit = table.loc[("children", "sdq_total", "kitbag")]
    con = table.loc[("children", "sdq_total", "control")]
    # kitbag: baseline 1 + 0 = 1, follow-up 1 + 1 = 2 (200%); control: 1 + 1 = 2, 0 + 1 = 1 (50%)
    assert (kit["baseline"], kit["followup"], kit["retained %"]) == (1, 2, 200.0)
    assert (con["baseline"], con["followup"], con["retained %"]) == (2, 1, 50.0)


def test_a_unit_without_participants(tmp_path: Path) -> None:
    view = restrict(load_study(small_trial(tmp_path / "t")), "oxfordshire")  # no teams there
    assert completeness(view).empty and attrition(completeness(view)).empty
