"""The §5 tables, exact, on numbers worked by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from handmade import CHILD, hexid, write_folder

from kitbag_analysis.analysis.outcomes import OUTCOMES, analysis_frame
from kitbag_analysis.analysis.tables import _categorical, _continuous, age_band, ethnic_group, participant_flow
from kitbag_analysis.study.load import load_study
from kitbag_analysis.study.units import restrict

RANDOMISED = "2021-06-01"
SDQ_ITEMS = {f"sdq_{k:02d}": 1 for k in range(1, 26)}


def small_trial(folder: Path) -> Path:
    """Two LAs, one kitbag and one control team each; six children, one withdrawn (c2).

    children: c1, c2 in BEX-T01 (kitbag); c3 in BEX-T02 (control); c4 in HAR-T01 (kitbag);
    c5, c6 in HAR-T02 (control). SDQ: c1 both waves, c2 both (withdrawn), c3 baseline only,
    c4 follow-up only, c5 both, c6 none.
    """
    teams = [
        {"team_id": t, "local_authority": la, "arm": arm, "randomised_on": RANDOMISED}
        for t, la, arm in [
            ("BEX-T01", "bexley", "kitbag"),
            ("BEX-T02", "bexley", "control"),
            ("HAR-T01", "haringey", "kitbag"),
            ("HAR-T02", "haringey", "control"),
        ]
    ]
    homes = {1: "BEX-T01", 2: "BEX-T01", 3: "BEX-T02", 4: "HAR-T01", 5: "HAR-T02", 6: "HAR-T02"}
    children = [
        {
            "child_id": hexid("C", k),
            "team_id": team,
            **CHILD,
        }
        for k, team in homes.items()
    ]
    waves = {
        1: ("baseline", "followup"),
        2: ("baseline", "followup"),
        3: ("baseline",),
        4: ("followup",),
        5: ("baseline", "followup"),
    }
    measures = [
        {
            "child_id": hexid("C", k),
            "wave": w,
            "informant": "carer",
            "assessed_on": "2021-05-20" if w == "baseline" else "2022-05-20",
            **SDQ_ITEMS,
        }
        for k, ws in waves.items()
        for w in ws
    ]
    consent = [
        {
            "participant_id": hexid("C", 2),
            "participant_type": "child",
            "status": "withdrawn",
            "status_changed_on": "2021-09-01",
        }
    ]
    return write_folder(folder, teams=teams, children=children, child_measures=measures, consent=consent)


@pytest.fixture
def trial(tmp_path: Path):
    return load_study(small_trial(tmp_path / "trial"))


def test_participant_flow_by_hand(trial) -> None:
    view = restrict(trial, "all")
    frames = {o.name: analysis_frame(view, o) for o in OUTCOMES}
    flow = participant_flow(view, frames)
    kids = flow[flow["population"] == "children"].set_index("stage")
    expected = {  # (kitbag, control), counted from the docstring of small_trial
        "teams randomised": (2, 2),
        "enrolled": (3, 3),  # c1 c2 c4 | c3 c5 c6
        "excluded (withdrawn, objected or restricted)": (1, 0),  # c2
        "included": (2, 3),
        "with a baseline measure": (1, 2),  # c1 | c3 c5 (c2 is gone)
        "with a follow-up measure": (2, 1),  # c1 c4 | c5
        "analysed: sdq_total": (1, 1),  # both waves: c1 | c5
        "analysed: referral_followup": (2, 3),  # every included child
        "analysed: placement_moves": (0, 0),  # no one was looked after
    }
    for stage, (kit, con) in expected.items():
        assert (kids.loc[stage, "kitbag"], kids.loc[stage, "control"]) == (kit, con), stage
    bex_view = restrict(trial, "bexley")
    bexley = participant_flow(bex_view, {o.name: analysis_frame(bex_view, o) for o in OUTCOMES})
    bex = bexley[bexley["population"] == "children"].set_index("stage")
    assert (bex.loc["enrolled", "kitbag"], bex.loc["included", "control"]) == (2, 1)


def test_hedges_style_smds_by_hand() -> None:
    arm = pd.Series(["kitbag"] * 4 + ["control"] * 4)
    values = pd.Series(["a", "a", "b", "b", "a", "b", "b", "b"])
    rows = _categorical("children", "x", values, arm, ["a", "b"])
    # level a: p1 = 2/4 = 0.5, p0 = 1/4 = 0.25; spread = sqrt((0.25 + 0.1875) / 2) = 0.4677072
    # SMD = 0.25 / 0.4677072 = 0.5345225
    assert rows[0]["n_kitbag"] == 2 and rows[0]["n_control"] == 1
    assert rows[0]["pct_kitbag"] == 50.0 and rows[0]["pct_control"] == 25.0
    assert rows[0]["smd"] == pytest.approx(0.5345225, abs=1e-7)
    scores = pd.Series([10.0, 12, 14, None, 8, 10, 12, None])
    row = _continuous("children", "baseline sdq_total", scores, arm)
    # kitbag 10 12 14: mean 12, variance 4; control 8 10 12: mean 10, variance 4; SMD = 2 / sqrt(4) = 1
    assert (row["n_kitbag"], row["mean_kitbag"], row["sd_kitbag"]) == (3, 12.0, 2.0)
    assert row["smd"] == pytest.approx(1.0)


def test_ethnic_groups_and_age_bands() -> None:
    codes = pd.Series(["WBRI", "WROM", "MWBC", "AIND", "BCRB", "CHNE", "OOTH", "REFU", "NOBT"])
    assert list(ethnic_group(codes)) == ["White", "White", "Mixed", "Asian", "Black"] + ["Other/not known"] * 4
    ages = pd.Series([0, 4, 5, 10, 11, 15, 16, 25])
    assert list(age_band(ages)) == ["0–4", "0–4", "5–10", "5–10", "11–15", "11–15", "16+", "16+"]
