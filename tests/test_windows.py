"""Windows and outcome frames (analysis-plan.md §2–3) on a hand-made study folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from handmade import hexid, write_folder

from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME, analysis_frame, outcome_frame
from kitbag_analysis.analysis.windows import child_windows
from kitbag_analysis.study.load import load_study

C1, C2, C3, C4 = (hexid("C", i) for i in range(1, 5))
P1, P2 = hexid("P", 1), hexid("P", 2)


def child(cid: str, enrolled: str, team: str = "BEX-T01") -> dict:
    return {
        "child_id": cid,
        "team_id": team,
        "birth_year_month": "2010-05",
        "gender": "female",
        "ethnicity": "WBRI",
        "disability": "no",
        "uasc": "no",
        "legal_status": "cla",
        "enrolled_on": enrolled,
    }


def ep(cid: str, start: str, end: str | None, reason: str = "P") -> dict:
    return {
        "child_id": cid,
        "episode_start": start,
        "episode_end": end,
        "reason_new_episode": reason,
        "placement_type": "U1",
        "legal_status": "C2",
    }


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = write_folder(
        tmp_path_factory.mktemp("hand") / "s",
        teams=[
            {
                "team_id": "BEX-T01",
                "local_authority": "bexley",
                "arm": "kitbag",
                "randomised_on": "2020-03-01",
            },
            {
                "team_id": "BEX-T02",
                "local_authority": "bexley",
                "arm": "control",
                "randomised_on": "2020-03-01",
            },
        ],
        children=[
            child(C1, "2020-01-01"),
            child(C2, "2020-06-01"),
            child(C3, "2020-01-01"),
            child(C4, "2020-01-01", "BEX-T02"),
        ],
        placements=[
            ep(C1, "2019-01-01", "2020-03-01", "S"),  # ends on window_start: no days inside
            ep(C1, "2020-03-01", "2020-09-01", "P"),  # a move on the window's first day: in
            ep(C1, "2020-09-01", None, "T"),  # touches the last one; open: to the window's end
            ep(C2, "2021-06-01", None, "P"),  # starts on window_start + 365: out
            ep(C4, "2020-05-01", "2020-05-11", "S"),  # start of care is not a move
        ],
        missing_episodes=[
            {
                "child_id": C1,
                "missing_start": "2020-03-01",
                "missing_end": "2020-03-02",
                "missing_type": "M",
            },
            {
                "child_id": C1,
                "missing_start": "2021-03-01",
                "missing_end": None,
                "missing_type": "A",
            },
            {
                "child_id": C1,
                "missing_start": "2020-02-29",
                "missing_end": "2020-02-29",
                "missing_type": "M",
            },
        ],
        referrals=[
            {"child_id": C3, "referral_date": "2020-03-01"},  # follow-up: first day, in
            {"child_id": C3, "referral_date": "2021-03-01"},  # window_start + 365: out
            {"child_id": C4, "referral_date": "2019-03-02"},  # baseline window's first day
            {"child_id": C2, "referral_date": "2021-06-01"},  # out (C2's window starts 2020-06-01)
        ],
        practitioners=[
            {"practitioner_id": P1, "team_id": "BEX-T01", "role": "social_worker"},
            {"practitioner_id": P2, "team_id": "BEX-T02", "role": "social_worker"},
        ],
        absence=[
            {"practitioner_id": P1, "month": "2020-02", "days_employed": 29, "sickness_days": 1},
            {"practitioner_id": P1, "month": "2020-03", "days_employed": 31, "sickness_days": 2},
            {"practitioner_id": P1, "month": "2021-02", "days_employed": 28, "sickness_days": 3.5},
            {"practitioner_id": P1, "month": "2021-03", "days_employed": 31, "sickness_days": 4},
            {"practitioner_id": P2, "month": "2019-01", "days_employed": 31, "sickness_days": 4},
        ],
    )
    return load_study(folder)


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("id")


def test_window_start_is_later_of_randomisation_and_enrolment(study) -> None:
    w = child_windows(study).set_index("child_id")
    assert w.loc[C1, "window_start"] == pd.Timestamp("2020-03-01")  # enrolled before
    assert w.loc[C2, "window_start"] == pd.Timestamp("2020-06-01")  # enrolled after
    assert w.loc[C1, "followup_end"] == pd.Timestamp("2021-03-01")
    assert w.loc[C1, "baseline_start"] == pd.Timestamp("2019-03-02")


def test_placement_moves_and_days_looked_after(study) -> None:
    full = by_id(outcome_frame(study, OUTCOME_BY_NAME["placement_moves"]))
    assert full.loc[C1, "y"] == 2  # the move on day one (P) and the touching episode (T)
    assert full.loc[C1, "exposure"] == 365  # 184 + 181 days, the touching day once
    assert full.loc[C2, "exposure"] == 0 and full.loc[C2, "y"] == 0  # starts at the window end
    assert full.loc[C3, "exposure"] == 0  # no episode at all
    assert full.loc[C4, "exposure"] == 10 and full.loc[C4, "y"] == 0  # S is not a move
    analysed = analysis_frame(study, OUTCOME_BY_NAME["placement_moves"])
    assert set(analysed["id"]) == {C1, C4}  # zero exposure is not analysed


def test_missing_episodes_edges(study) -> None:
    frame = by_id(analysis_frame(study, OUTCOME_BY_NAME["missing_episodes"]))
    assert frame.loc[C1, "y"] == 1  # day one in; window_start + 365 out; the day before out
    assert frame.loc[C1, "exposure"] == 365


def test_referral_windows(study) -> None:
    frame = by_id(analysis_frame(study, OUTCOME_BY_NAME["referral_followup"]))
    assert frame.loc[C3, "y"] == 1 and frame.loc[C3, "baseline"] == 0
    assert frame.loc[C4, "y"] == 0 and frame.loc[C4, "baseline"] == 1
    assert frame.loc[C2, "y"] == 0
    assert len(frame) == 4  # everyone is analysed for the binary outcome


def test_sickness_months_by_first_day(study) -> None:
    frame = by_id(analysis_frame(study, OUTCOME_BY_NAME["sickness_days"]))
    assert frame.loc[P1, "y"] == 5.5  # 2020-03 and 2021-02; 2020-02 and 2021-03 are out
    assert frame.loc[P1, "exposure"] == 59
    assert P2 not in frame.index  # no month in the window: zero exposure, not analysed


def test_open_episode_runs_to_window_end(tmp_path: Path) -> None:
    from kitbag_analysis.analysis.windows import days_looked_after

    windows = pd.DataFrame(
        {
            "child_id": ["a", "b"],
            "window_start": pd.to_datetime(["2020-01-01"] * 2),
            "followup_end": pd.to_datetime(["2020-12-31"] * 2),
        }
    )
    episodes = pd.DataFrame(
        {
            "child_id": ["a", "b", "b"],
            "episode_start": pd.to_datetime(["2020-07-01", "2019-01-01", "2020-03-01"]),
            "episode_end": pd.to_datetime([None, "2020-02-01", "2020-04-01"]),
        }
    )
    days = days_looked_after(episodes, windows)
    assert list(days) == [183, 31 + 31]
