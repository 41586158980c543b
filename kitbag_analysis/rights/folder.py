"""What every privacy-notice command reads of a study folder: everyone, validated; the rows that
hold a participant's id; the time of an entry in a log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from data_contracts.participants import ID_COLUMNS
from kitbag_analysis.study.load import Study, load_study


def rows_holding(text: pd.DataFrame, ids: set[str]) -> pd.Series:
    """Rows of a file (read as text) whose id columns hold any of ``ids``."""
    columns = [c for c in ID_COLUMNS if c in text.columns]
    hit = pd.Series(False, index=text.index)
    for column in columns:
        hit |= text[column].isin(ids).fillna(False).astype(bool)
    return hit


def now() -> str:
    """The time for a log entry (UTC, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def load_everyone(study_dir: Path) -> Study:
    """Everyone, validated; `ContractViolation` (nothing written) if a contract fails."""
    return load_study(study_dir, apply_exclusions_=False)


__all__ = ["load_everyone", "now", "rows_holding"]
