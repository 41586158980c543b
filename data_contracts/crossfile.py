"""Rules that span files (study-data.md, "Cross-file rules"), declared as data."""

from __future__ import annotations

import pandas as pd

from data_contracts.failures import Failure, failures_from_mask
from data_contracts.participants import LINKS
from data_contracts.settings import StudySettings


def check_links(frames: dict[str, pd.DataFrame], files: dict[str, str], settings: StudySettings) -> list[Failure]:
    """Every linked id exists in its participant file; every team's LA is in study.toml."""
    found: list[Failure] = []
    for file, column, target, target_column in LINKS:
        frame, ref = frames.get(file), frames.get(target)
        if frame is None or ref is None or column not in frame or target_column not in ref:
            continue
        values = frame[column]
        bad = values.notna() & ~values.isin(ref[target_column].dropna())
        found += failures_from_mask(files[file], column, f"exists in {files[target]} ({target_column})", bad.to_numpy())
    teams = frames.get("teams")
    if teams is not None and "local_authority" in teams:
        la = teams["local_authority"]
        bad = la.notna() & ~la.isin(list(settings.local_authorities))
        found += failures_from_mask(
            files["teams"],
            "local_authority",
            "a slug of study.toml [local_authorities]",
            bad.to_numpy(),
        )
    return found
