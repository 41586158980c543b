"""Hand-made study folders for edge cases: give the rows that matter, the rest is header-only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data_contracts.schemas import CONTRACTS
from data_contracts.settings import settings_toml
from kitbag_analysis.synthetic.generate import SETTINGS


def columns(name: str) -> list[str]:
    return list(CONTRACTS[name].to_schema().columns)


def write_folder(folder: Path, **files: list[dict] | pd.DataFrame) -> Path:
    """Write a study folder; each keyword is a file given as rows (dicts) or a frame.

    Item columns left out of a measures row are blank.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(settings_toml(SETTINGS))
    for name in CONTRACTS:
        rows = files.get(name, [])
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        frame = frame.reindex(columns=columns(name))
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def hexid(prefix: str, n: int) -> str:
    return f"{prefix}{n:016x}"


CHILD = {  # an ordinary child of the hand-made studies: ten years old, looked after, no flags
    "birth_year_month": "2012-05",
    "gender": "female",
    "ethnicity": "WBRI",
    "disability": "no",
    "uasc": "no",
    "legal_status": "cla",
    "enrolled_on": "2021-06-10",
}


def withdrawal(participant_id: str, participant_type: str = "child", on: str = "2021-09-01") -> dict:
    """A consent-register row withdrawing one participant."""
    return {
        "participant_id": participant_id,
        "participant_type": participant_type,
        "status": "withdrawn",
        "status_changed_on": on,
    }
