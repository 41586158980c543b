"""Typed errors. The CLI turns each into one readable paragraph and an exit code."""

from __future__ import annotations


class KitbagError(Exception):
    """Base class: a problem the user can act on. ``exit_code`` follows the CLI convention."""

    exit_code = 2


class UnusableInput(KitbagError):
    """The input cannot be read at all (missing folder or file, bad bytes, bad study.toml)."""

    exit_code = 2


class Finding(KitbagError):
    """The command ran and found something the user must act on (exit 1), e.g. an unknown id."""

    exit_code = 1


class ContractViolation(KitbagError):
    """The study folder was read but breaks its contracts; ``report`` holds every failure."""

    exit_code = 1

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report
