"""Pandera contracts for the Kitbag study folder (study-data.md), importable on their own."""

from data_contracts.errors import ContractViolation, Finding, KitbagError, UnusableInput
from data_contracts.schemas import CONTRACTS
from data_contracts.settings import StudySettings, read_settings
from data_contracts.validate import ValidatedStudy, validate_study

__all__ = [
    "CONTRACTS",
    "ContractViolation",
    "Finding",
    "KitbagError",
    "StudySettings",
    "UnusableInput",
    "ValidatedStudy",
    "read_settings",
    "validate_study",
]
