"""Every error a user can meet, in one place (as papermill keeps its `exceptions.py`).

The CLI turns each `KitbagError` into one readable paragraph and its exit code: 1 a finding,
2 unusable input. The contracts' own errors are defined in `data_contracts.errors` (that package
is importable on its own) and re-exported here.
"""

from __future__ import annotations

from data_contracts.errors import ContractViolation, Finding, KitbagError, UnusableInput


class ReleaseRefused(Finding):
    """Disclosure control refuses the release (exit 1); the message names cells, never values."""


class RunFailed(Finding):
    """A run failed as a whole (a lost worker or cluster, a full disk, memory, a dead kernel):
    nothing is published and the previous bundle is kept (exit 1)."""


class NoSafePattern(Exception):
    """No suppression pattern passing the audit was found; carries the narrow cell's label."""


class NotebookFailed(Exception):
    """A notebook cell raised: carries the exception's name and message as the notebook recorded them."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue = ename, evalue


__all__ = [
    "ContractViolation",
    "Finding",
    "KitbagError",
    "NoSafePattern",
    "NotebookFailed",
    "ReleaseRefused",
    "RunFailed",
    "UnusableInput",
]
