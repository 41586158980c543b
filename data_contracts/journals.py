"""The write-ahead journals of the commands that rewrite a study folder, declared once.

An entry is logged ``started`` before the first rename and ``completed`` after the last; a folder
whose journal ends with a ``started`` entry holds a half-applied change (some files rewritten,
others not) and is refused by every reader until the command named here finishes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from data_contracts.errors import ContractViolation

# journal file -> (the command that finishes it, what it is)
JOURNALS = {
    "erasure_log.json": ("erase", "an erasure"),
    "rectification_log.json": ("rectify", "a rectification"),
}
STARTED = "started"


def unfinished(study_dir: str | Path) -> list[tuple[str, str, str]]:
    """(journal file, command, what) for every change begun and not completed in the folder."""
    found = []
    for name, (command, what) in JOURNALS.items():
        path = Path(study_dir) / name
        try:
            entries = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        except (OSError, ValueError):
            continue  # an unreadable journal is the guards' and the command's to report
        last = entries[-1] if isinstance(entries, list) and entries else None
        if isinstance(last, dict) and last.get("status") == STARTED:
            found.append((name, command, what))
    return found


def finish_hint(study_dir: str | Path, command: str) -> str:
    """How to finish a half-applied change (rectify also needs its corrections file)."""
    if command == "rectify":
        return f"run `kitbag rectify {study_dir} CORRECTIONS.csv --apply` again with the same corrections file"
    return f"run `kitbag {command} {study_dir} --apply`"


def refuse_unfinished(study_dir: str | Path, finishing: str | None = None) -> None:
    """Raise `ContractViolation` naming the command that finishes a half-applied change (other than
    the one ``finishing`` it): nothing may read a folder whose files are a mix of old and new."""
    for journal, command, what in unfinished(study_dir):
        if command != finishing:
            raise ContractViolation(
                f"{study_dir}: {what} was interrupted and is half-applied ({journal} ends with a started entry); "
                f"nothing reads the folder until it is finished: {finish_hint(study_dir, command)}."
            )


__all__ = ["JOURNALS", "STARTED", "finish_hint", "refuse_unfinished", "unfinished"]
