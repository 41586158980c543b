"""`load_study`: a validated study folder with withdrawn, objected and restricted participants
removed before anything else (analysis-plan.md §0)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from data_contracts import ContractViolation, StudySettings, validate_study
from data_contracts.failures import ValidationReport
from data_contracts.journals import refuse_unfinished
from data_contracts.participants import PARTICIPANTS
from data_contracts.reading import plain_text

EXCLUDING_STATUSES = ("withdrawn", "objected", "restricted")
# On a tie of dates the most protective status holds (a same-day withdrawal is honoured).
_PRIORITY = {"active": 0, "restricted": 1, "objected": 2, "withdrawn": 3}


@dataclass(frozen=True)
class Study:
    """A loaded study: settings, frames (excluded participants removed unless asked not to),
    and who was excluded, without their ids: one row per excluded participant present in a
    participant file, with their type and team (for per-arm counts)."""

    path: Path
    settings: StudySettings
    frames: Mapping[str, pd.DataFrame]
    exclusions: pd.DataFrame  # participant_type, team_id, status
    report: ValidationReport
    excluded_applied: bool = True
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    @property
    def excluded(self) -> dict[str, int]:
        """Number of excluded participants per participant type."""
        counts = self.exclusions["participant_type"].value_counts()
        return {p.type: int(counts.get(p.type, 0)) for p in PARTICIPANTS}

    @property
    def units(self) -> list[str]:
        """Analysis units: each local authority slug, then ``all``."""
        return [*self.settings.local_authorities, "all"]


def latest_status(consent: pd.DataFrame) -> pd.DataFrame:
    """The register row that holds per participant: the latest `status_changed_on`."""
    ranked = consent.assign(_p=consent["status"].map(_PRIORITY).fillna(0))
    ranked = ranked.sort_values(["participant_id", "status_changed_on", "_p"], kind="stable")
    return ranked.drop_duplicates("participant_id", keep="last").drop(columns="_p")


def excluded_ids(consent: pd.DataFrame) -> pd.DataFrame:
    """Participants whose latest status is withdrawn, objected or restricted."""
    latest = latest_status(consent)
    return latest.loc[latest["status"].isin(EXCLUDING_STATUSES)].reset_index(drop=True)


def apply_exclusions(frames: Mapping[str, pd.DataFrame]) -> tuple[dict, pd.DataFrame]:
    """Remove every row of excluded participants from every file; also return who (no ids)."""
    gone = excluded_ids(frames["consent"])
    out = dict(frames)
    traces = []
    for p in PARTICIPANTS:
        ids = gone.loc[gone["participant_type"] == p.type, ["participant_id", "status"]]
        present = frames[p.file].merge(ids, left_on=p.id_column, right_on="participant_id")
        traces.append(present[["team_id", "status"]].assign(participant_type=p.type))
        drop = set(ids["participant_id"])
        for name in p.files:
            frame = frames[name]
            out[name] = frame.loc[~frame[p.id_column].isin(drop)].reset_index(drop=True)
    exclusions = pd.concat(traces, ignore_index=True)[["participant_type", "team_id", "status"]]
    return out, exclusions


def excluded(study: Study) -> Study:
    """The same study with excluded participants removed (a no-op if already removed)."""
    if study.excluded_applied:
        return study
    frames, _ = apply_exclusions(study.frames)
    return replace(study, frames=frames, excluded_applied=True, _cache={})


def load_study(path: str | Path, *, apply_exclusions_: bool = True, finishing: str | None = None) -> Study:
    """Validate ``path`` and load it; raise `ContractViolation` if any contract fails.

    With ``apply_exclusions_=False`` the frames keep everyone (for erasure and audit code);
    ``exclusions`` is filled either way. A folder with a half-applied erasure or rectification is
    refused (naming the command that finishes it) unless that command is ``finishing`` it.
    """
    refuse_unfinished(path, finishing)  # before reading: the files may be a mix of old and new
    validated = validate_study(path, finishing=finishing)
    if not validated.report.ok:
        raise ContractViolation(
            f"{validated.report.summary()}. Run `kitbag validate {path}` for the table of failures.",
            validated.report,
        )
    everyone = {name: plain_text(frame) for name, frame in validated.frames.items()}
    frames, exclusions = apply_exclusions(everyone)
    return Study(
        path=validated.path,
        settings=validated.settings,
        frames=frames if apply_exclusions_ else everyone,
        exclusions=exclusions,
        report=validated.report,
        excluded_applied=apply_exclusions_,
    )
