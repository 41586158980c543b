"""What every privacy-notice command reads of a study folder: everyone, validated; the rows that
hold a participant's id; the time of an entry in a log; the folder's lock, and what a killed
command left inside it."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from data_contracts import UnusableInput
from data_contracts.journals import JOURNALS
from data_contracts.participants import ID_COLUMNS
from kitbag_analysis import atomic
from kitbag_analysis.study.load import Study, load_study

TMP_TAG = "tmp"  # a journal step's (or a marker's) temporary file: .<name>.tmp-*
ACROSS_TAG = "across"  # .archive.across-*: names the copy a cross-file-system archive is making
# what erase, rectify and archive stage inside the study folder (never renamed in: safe to remove
# once the folder's lock is held); a staged copy holds rows, so it stays inside the study folder.
# The journals' temporary files (a kill between writing a journal step and renaming it) and a
# marker's own temporary file go too.
LEFTOVERS = (
    ".*.erase-*",
    ".*.rectify-*",
    ".rectify-check.*",
    ".archive.staging-*",
    *(f".{journal}.{TMP_TAG}-*" for journal in JOURNALS),
    f"..archive.{ACROSS_TAG}-*.{TMP_TAG}-*",
)
_OUR_COPY = re.compile(r"\..+\.staging-[0-9a-f]{8}")  # what `atomic.sibling(out, "staging")` names
_HELD: set[str] = set()  # the study folders whose lock this process holds (taken once, re-entered)


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


def load_everyone(study_dir: Path, finishing: str | None = None) -> Study:
    """Everyone, validated; `ContractViolation` (nothing written) if a contract fails (a
    half-applied erasure or rectification included, unless ``finishing`` is its command)."""
    return load_study(study_dir, apply_exclusions_=False, finishing=finishing)


def remove_across(study_dir: Path) -> None:
    """Remove the copy a killed cross-file-system archive was making beside its ``--out`` (named
    by a marker inside the study), then the marker; a marker whose copy's folder cannot be
    reached now (a file system not mounted) is kept for a later run."""
    for marker in study_dir.glob(f".archive.{ACROSS_TAG}-*"):
        copy = Path(marker.read_text(encoding="utf-8").strip())
        if _OUR_COPY.fullmatch(copy.name) and copy.is_absolute():
            if not copy.parent.is_dir():
                continue
            atomic.remove_tree(copy)
        marker.unlink()
        atomic.fsync_dir(study_dir)


def remove_leftovers(study_dir: Path) -> None:
    """Remove what a killed erase, rectify or archive staged inside the folder or (an archive)
    beside its ``--out``, and the check folder an older rectify made beside it; call with the
    folder's lock held."""
    remove_across(study_dir)
    for pattern in LEFTOVERS:
        for leftover in study_dir.glob(pattern):
            atomic.remove_tree(leftover)
    for check in study_dir.parent.glob(f".{study_dir.name}.rectify-check-*"):
        atomic.remove_tree(check)


@contextlib.contextmanager
def changing(study_dir: str | Path, command: str) -> Iterator[Path]:
    """Hold the study folder's lock (no file: `atomic.exclusive`) for a command that changes it or
    stages rows inside it, having removed what a killed command left there first."""
    study_dir = Path(study_dir)
    name = atomic.folder_lock_name("study", study_dir)
    if name in _HELD:  # the command already holds it (its plan, then its apply)
        yield study_dir
        return
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(atomic.exclusive(name))
        except BlockingIOError:
            raise UnusableInput(
                f"{study_dir}: another kitbag command (erase, rectify or archive) is working on this folder; "
                f"wait for it to finish, then run `kitbag {command}` again."
            ) from None
        _HELD.add(name)
        held.callback(_HELD.discard, name)
        if study_dir.is_dir():
            remove_leftovers(study_dir)
        yield study_dir


__all__ = [
    "ACROSS_TAG",
    "LEFTOVERS",
    "TMP_TAG",
    "changing",
    "load_everyone",
    "now",
    "remove_across",
    "remove_leftovers",
    "rows_holding",
]
