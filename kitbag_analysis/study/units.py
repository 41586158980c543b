"""Analysis units: one local authority, or ``all`` (analysis-plan.md §0.2)."""

from __future__ import annotations

from dataclasses import replace

from data_contracts.participants import PARTICIPANTS
from kitbag_analysis.errors import KitbagError
from kitbag_analysis.study.load import Study

ALL = "all"


def check_unit(study: Study, unit: str) -> None:
    if unit != ALL and unit not in study.settings.local_authorities:
        known = ", ".join([*study.settings.local_authorities, ALL])
        raise KitbagError(f"unknown unit '{unit}'; the units of this study are: {known}.")


def restrict(study: Study, unit: str) -> Study:
    """The study seen from one unit: teams of that LA and everything attached to them."""
    check_unit(study, unit)
    if unit == ALL:
        return study
    teams = study["teams"].loc[study["teams"]["local_authority"] == unit]
    keep = set(teams["team_id"])
    frames = dict(study.frames)
    frames["teams"] = teams.reset_index(drop=True)
    for p in PARTICIPANTS:
        members = study[p.file].loc[study[p.file]["team_id"].isin(keep)]
        ids = set(members[p.id_column])
        for name in p.files:
            frame = study[name]
            frames[name] = frame.loc[frame[p.id_column].isin(ids)].reset_index(drop=True)
    exclusions = study.exclusions.loc[study.exclusions["team_id"].isin(keep)]
    return replace(study, frames=frames, exclusions=exclusions.reset_index(drop=True), _cache={})


def unit_name(study: Study, unit: str) -> str:
    if unit == ALL:
        return "All local authorities (pooled trial)"
    return study.settings.local_authorities[unit]


