"""The release ledger (outputs.md "Successive releases"): every release of a study, as published.

`STUDY/release_ledger.json` holds, per release, its run id, kind, created and released times,
approver and note, and every published cell exactly as published (release.json's cells, with the
identities and orderings among counts). It holds no row-level value and no participant id, so
erasure leaves it as it is. It is written atomically and only ever appended to, under a lock on
the study folder (an advisory `flock` on the folder itself: no lock file is left behind).

`history` compares a new release with every ledger entry (analysis-plan.md §6.1).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitbag_analysis import atomic
from kitbag_analysis.errors import UnusableInput
from kitbag_analysis.sdc.cells import SUPPRESSED, CellKey

LEDGER_FILE = "release_ledger.json"
FORMAT = "kitbag-release-ledger"
VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One recorded release: who approved what, and every cell it published (as printed)."""

    run_id: str
    kind: str
    created_at: str
    released_at: str
    approver: str
    note: str
    units: tuple[str, ...]
    threshold: int
    manifest_sha256: str
    cells: tuple[dict[str, Any], ...] = field(repr=False)
    identities: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    bounds: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    disclosure: dict[str, Any] = field(default_factory=dict)  # the policy it was made under (§6.2)

    def counts(self) -> dict[CellKey, int | None]:
        """Every count of people it published: its value, or None where it was suppressed."""
        found: dict[CellKey, int | None] = {}
        for c in self.cells:
            if c["measure"] != "n" or c["value"] is None:
                continue
            key = CellKey(c["unit"], c["table"], c["population"], c["row"], c["column"])
            found[key] = None if c["value"] == SUPPRESSED else int(c["value"])
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "created_at": self.created_at,
            "released_at": self.released_at,
            "approver": self.approver,
            "note": self.note,
            "units": list(self.units),
            "threshold": self.threshold,
            "manifest_sha256": self.manifest_sha256,
            "cells": list(self.cells),
            "identities": list(self.identities),
            "bounds": list(self.bounds),
            "disclosure": dict(self.disclosure),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        return cls(
            data["run_id"],
            data["kind"],
            data["created_at"],
            data["released_at"],
            data.get("approver", ""),
            data.get("note", ""),
            tuple(data["units"]),
            int(data["threshold"]),
            data.get("manifest_sha256", ""),
            tuple(data["cells"]),
            tuple(data.get("identities", ())),
            tuple(data.get("bounds", ())),
            dict(data.get("disclosure") or {}),
        )


@dataclass(frozen=True)
class Ledger:
    """The releases of a study, oldest first."""

    entries: tuple[Entry, ...] = ()

    @property
    def run_ids(self) -> list[str]:
        return [e.run_id for e in self.entries]

    def get(self, run_id: str) -> Entry | None:
        return next((e for e in self.entries if e.run_id == run_id), None)

    def without(self, run_id: str) -> Ledger:
        """The ledger as a bundle of run ``run_id`` is judged against (never against itself)."""
        return Ledger(tuple(e for e in self.entries if e.run_id != run_id))


def ledger_path(study_dir: str | Path) -> Path:
    return Path(study_dir) / LEDGER_FILE


def read_ledger(study_dir: str | Path) -> Ledger:
    """The study's ledger (empty when none was recorded yet)."""
    path = ledger_path(study_dir)
    if not path.exists():
        return Ledger()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        return Ledger(tuple(Entry.from_json(e) for e in data["releases"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnusableInput(
            f"{path}: the release ledger is not readable ({type(exc).__name__}: {exc}). It is written only by "
            "`kitbag release`; restore it from the study's backup. Nothing was published."
        ) from None


@contextlib.contextmanager
def locked(study_dir: str | Path) -> Iterator[None]:
    """Hold the study folder's ledger lock (an advisory lock on the folder itself, no file)."""
    fd = os.open(study_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def append(study_dir: str | Path, entry: Entry) -> Ledger:
    """Append ``entry`` atomically; the caller holds `locked`. Returns the new ledger."""
    ledger = read_ledger(study_dir)
    if ledger.get(entry.run_id):
        raise UnusableInput(f"run {entry.run_id} is already in {ledger_path(study_dir)}.")
    new = Ledger((*ledger.entries, entry))
    body = {"format": FORMAT, "version": VERSION, "releases": [e.to_json() for e in new.entries]}
    atomic.write_text(ledger_path(study_dir), json.dumps(body, indent=1) + "\n")
    return new


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


__all__ = ["LEDGER_FILE", "Entry", "Ledger", "append", "ledger_path", "locked", "now", "read_ledger"]
