"""Pandera contracts for the Kitbag study folder (study-data.md), importable on their own."""

import sys
import types

# pandera registers its Dask typing whenever Dask is installed, importing dask.dataframe (about
# 0.8 s) the first time a contract is built. The contracts are pandas-only (Dask is here only for
# `kitbag batch --scheduler`), so pandera is told Dask typing is absent.
if "pandera.typing.dask" not in sys.modules:
    _no_dask_typing = types.ModuleType("pandera.typing.dask")
    _no_dask_typing.DASK_INSTALLED = False
    sys.modules["pandera.typing.dask"] = _no_dask_typing

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
