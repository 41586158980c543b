"""What validation found: one `Failure` per (file, column, check), never the offending value."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Failure:
    """A rule broken in one file and column, on ``rows`` (1 = first data row after the header).

    ``rows`` is empty for a rule about the file as a whole (a missing or extra column).
    """

    file: str
    column: str
    check: str
    rows: tuple[int, ...] = ()
    privacy: bool = False  # tripped a privacy guard: the value must never be shown

    @property
    def count(self) -> int:
        return max(len(self.rows), 1)


def failure(file: str, column: str, check: str, index: Iterable, privacy: bool = False) -> Failure:
    """Build a failure from the 0-based frame positions of the failing rows."""
    rows = tuple(sorted({int(i) + 1 for i in index}))
    return Failure(file, column, check, rows, privacy)


def failures_from_mask(file: str, column: str, check: str, bad: np.ndarray, privacy: bool = False) -> list[Failure]:
    """One failure for the rows where the boolean array ``bad`` is true, or none."""
    where = np.flatnonzero(np.asarray(bad, dtype=bool))
    return [failure(file, column, check, where, privacy)] if where.size else []


@dataclass
class ValidationReport:
    """Every failure found in a study folder, and the files that were read."""

    study_dir: str
    failures: list[Failure] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # contract name -> file name read

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        n_rows = sum(f.count for f in self.failures)
        n_files = len({f.file for f in self.failures})
        return f"{len(self.failures)} rule(s) broken on {n_rows} row(s) in {n_files} file(s) of {self.study_dir}"
