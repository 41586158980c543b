"""Right of access and portability (privacy.md): every row held for one pseudonym, as JSON."""

from __future__ import annotations

import re
from pathlib import Path

from data_contracts import CONTRACTS, Finding, UnusableInput
from data_contracts.reading import locate, read_text
from data_contracts.schemas import ANY_PARTICIPANT_ID
from kitbag_analysis.rights.folder import load_everyone, now, rows_holding


def export_subject(study_dir: str | Path, participant_id: str) -> dict:
    """Every row held for one pseudonym, across all files, as the text each file holds."""
    if not re.match(ANY_PARTICIPANT_ID, participant_id or ""):
        raise UnusableInput(
            "the id must be a pseudonym: C, P or F followed by 16 lower-case hex digits "
            "(the value given is not repeated here)."
        )
    study = load_everyone(Path(study_dir))
    found: dict[str, list[dict]] = {}
    for name in CONTRACTS:
        path = locate(study.path, name)
        text = read_text(path)
        hit = rows_holding(text, {participant_id})
        if hit.any():
            rows = text.loc[hit.to_numpy()].astype(object)
            found[path.name] = rows.where(rows.notna(), None).to_dict(orient="records")
    if not found:
        raise Finding(f"no row in {study_dir} holds that pseudonym (checked every file of the folder).")
    return {"participant_id": participant_id, "study": study.settings.name, "exported_at": now(), "files": found}


__all__ = ["export_subject"]
