"""Retention (privacy.md): primary data are kept 12 months after the final collection point."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from data_contracts import CONTRACTS
from data_contracts.reading import locate
from kitbag_analysis.rights.folder import load_everyone


def retention_due(final_collection: dt.date) -> dt.date:
    """Twelve months after the final collection (29 February becomes 28 February)."""
    try:
        return final_collection.replace(year=final_collection.year + 1)
    except ValueError:
        return final_collection.replace(year=final_collection.year + 1, day=28)


def retention(study_dir: str | Path, today: dt.date | None = None) -> dict:
    study = load_everyone(Path(study_dir))
    today = today or dt.date.today()
    due = retention_due(study.settings.final_collection)
    files = [{"file": locate(study.path, n).name, "rows": len(study[n])} for n in CONTRACTS]
    return {
        "final_collection": study.settings.final_collection.isoformat(),
        "delete_after": due.isoformat(),
        "today": today.isoformat(),
        "past": today > due,
        "primary_data": files,
    }


__all__ = ["retention", "retention_due"]
