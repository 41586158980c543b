"""The one write-ahead journal of the commands that rewrite a study folder (erase, rectify).

An entry (counts and hashes, never ids) is written with status ``started`` before the first
rename and completed after the last, so a command stopped at any point is finished and logged by
the next run. The journal file is replaced atomically at each step; the temporary file of a step
a kill interrupted (``.erasure_log.json.tmp-*``) is removed by the next command that takes the
folder's lock (`folder.LEFTOVERS`).
"""

from __future__ import annotations

import json
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.failpoints import failpoint
from kitbag_analysis.rights.folder import TMP_TAG, now

STARTED, COMPLETED = "started", "completed"


class Journal:
    """A study folder's log of one kind of change (``erasure_log.json``, ``rectification_log.json``)."""

    def __init__(self, study_dir: str | Path, name: str) -> None:
        self.path = Path(study_dir) / name

    def entries(self) -> list[dict]:
        return json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else []

    def pending(self) -> dict | None:
        """The entry of a change that was started and not completed, if any."""
        entries = self.entries()
        return entries[-1] if entries and entries[-1].get("status") == STARTED else None

    def begin(self, entry: dict) -> dict:
        """Log the intent before anything is renamed; returns the entry as logged."""
        entry = {"status": STARTED, "started_at": now(), **entry}
        self._write([*self.entries(), entry])
        return entry

    def complete(self, entry: dict, time_field: str, **fields: object) -> dict:
        """Mark the pending entry completed (with ``time_field`` = now and ``fields``)."""
        entries = self.entries()
        if not entries or entries[-1].get("status") != STARTED:
            raise RuntimeError(f"{self.path.name}: no started entry to complete")
        entry = {**entry, **fields, "status": COMPLETED, time_field: now()}
        entries[-1] = entry
        self._write(entries)
        return entry

    def _write(self, entries: list[dict]) -> None:
        text = json.dumps(entries, indent=2) + "\n"
        tmp = atomic.staged_file(self.path, lambda t: t.write_text(text, encoding="utf-8"), TMP_TAG)
        try:
            failpoint("journal:written")  # the new journal is written beside the old, not yet renamed
            atomic.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


__all__ = ["COMPLETED", "STARTED", "Journal"]
