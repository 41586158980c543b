"""The study as of a date D: the data cut of an interim look (analysis-plan.md §8).

Children enrolled on or before D; measures completed or assessed on or before D (and the other
dated rows: placements, missing episodes and referrals that began, absence months that began);
the consent register as it stood on D, so participants are excluded (§0) as of D. An episode
still open on D reads as open. The cut of the full data equals the data physically cut to D, so
an interim report re-made later from the full data is the same report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

import pandas as pd

from data_contracts.participants import PARTICIPANTS
from kitbag_analysis.errors import KitbagError
from kitbag_analysis.study.load import Study, apply_exclusions

# file -> (the date a row happened on, an end date that reads as still open when after D)
DATED: dict[str, tuple[str, str | None]] = {
    "children": ("enrolled_on", None),
    "child_measures": ("assessed_on", None),
    "practitioner_measures": ("completed_on", None),
    "carer_measures": ("completed_on", None),
    "placements": ("episode_start", "episode_end"),
    "missing_episodes": ("missing_start", "missing_end"),
    "referrals": ("referral_date", None),
    "absence": ("month", None),  # YYYY-MM: the month's first day
    "consent": ("status_changed_on", None),
}


def _when(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    if column == "month":
        return pd.to_datetime(values + "-01", format="%Y-%m-%d", errors="coerce")
    return pd.to_datetime(values)


def cut_frames(frames: Mapping[str, pd.DataFrame], day: dt.date) -> dict[str, pd.DataFrame]:
    """Every file as it stood on ``day`` (rows of children enrolled later go with them)."""
    limit = pd.Timestamp(day)
    out = dict(frames)
    for name, (column, end) in DATED.items():
        frame = frames[name]
        kept = frame.loc[_when(frame, column) <= limit]
        if end is not None:
            kept = kept.assign(**{end: kept[end].where(kept[end] <= limit)})
        out[name] = kept.reset_index(drop=True)
    for p in PARTICIPANTS:
        ids = set(out[p.file][p.id_column])
        for name in p.files:
            if name != p.file:
                frame = out[name]
                out[name] = frame.loc[frame[p.id_column].isin(ids)].reset_index(drop=True)
    return out


def as_of(study: Study, day: dt.date) -> Study:
    """``study`` as of ``day``, exclusions applied as the register stood then. ``study`` must
    hold everyone (`load_study(..., apply_exclusions_=False)`): someone excluded today may have
    been included on ``day``."""
    if study.excluded_applied:
        raise KitbagError("a data cut needs the study with everyone (load_study(..., apply_exclusions_=False)).")
    everyone = cut_frames(study.frames, day)
    frames, exclusions = apply_exclusions(everyone)
    return replace(study, frames=frames, exclusions=exclusions, excluded_applied=True, _cache={})


__all__ = ["DATED", "as_of", "cut_frames"]
