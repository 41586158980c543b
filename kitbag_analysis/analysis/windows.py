"""Outcome windows (analysis-plan.md §2).

A window is half-open, [start, end): an event on ``window_start + followup_days`` is outside.
"""

from __future__ import annotations

import pandas as pd

from kitbag_analysis.study.load import Study


def child_windows(study: Study) -> pd.DataFrame:
    """Per child: ``window_start`` = later of the team's randomisation and the child's enrolment;
    follow-up [window_start, followup_end); baseline [baseline_start, window_start).

    Computed once per (unit view of a) study and cached on it.
    """
    if "child_windows" in study._cache:
        return study._cache["child_windows"]
    days = pd.Timedelta(days=study.settings.followup_days)
    kids = study["children"][["child_id", "team_id", "enrolled_on"]].merge(
        study["teams"][["team_id", "randomised_on"]], on="team_id", how="left"
    )
    start = kids[["randomised_on", "enrolled_on"]].max(axis=1)
    study._cache["child_windows"] = windows = pd.DataFrame(
        {
            "child_id": kids["child_id"],
            "window_start": start,
            "followup_end": start + days,
            "baseline_start": start - days,
        }
    )
    return windows


def practitioner_windows(study: Study) -> pd.DataFrame:
    """Per practitioner: ``window_start`` = the team's randomisation date."""
    days = pd.Timedelta(days=study.settings.followup_days)
    staff = study["practitioners"][["practitioner_id", "team_id"]].merge(
        study["teams"][["team_id", "randomised_on"]], on="team_id", how="left"
    )
    return pd.DataFrame(
        {
            "practitioner_id": staff["practitioner_id"],
            "window_start": staff["randomised_on"],
            "followup_end": staff["randomised_on"] + days,
        }
    )


def in_window(when: pd.Series, start: pd.Series, end: pd.Series) -> pd.Series:
    """``start <= when < end``, element-wise (missing dates are outside)."""
    return (when >= start) & (when < end)


def days_looked_after(episodes: pd.DataFrame, windows: pd.DataFrame) -> pd.Series:
    """Days inside each child's follow-up window covered by the union of their episodes.

    An episode spans [episode_start, episode_end); an open episode runs to the window's end.
    Returns one value per child in ``windows`` (0 when no episode touches the window).
    """
    ep = episodes[["child_id", "episode_start", "episode_end"]].merge(
        windows[["child_id", "window_start", "followup_end"]], on="child_id", how="inner"
    )
    end = ep["episode_end"].fillna(ep["followup_end"])
    lo = ep[["episode_start", "window_start"]].max(axis=1)
    hi = pd.concat([end, ep["followup_end"]], axis=1).min(axis=1)
    ep = ep.assign(lo=lo, hi=hi).loc[lambda f: f["hi"] > f["lo"]]
    ep = ep.sort_values(["child_id", "lo", "hi"], kind="stable")
    # union of intervals: clip each span's start at the furthest end reached before it
    reached = ep.groupby("child_id", sort=False)["hi"].cummax()
    before = reached.groupby(ep["child_id"], sort=False).shift(1)
    start = pd.concat([ep["lo"], before], axis=1).max(axis=1)
    covered = (ep["hi"] - start).clip(lower=pd.Timedelta(0)).dt.days
    total = covered.groupby(ep["child_id"]).sum()
    return windows["child_id"].map(total).fillna(0).astype(int).set_axis(windows.index)
