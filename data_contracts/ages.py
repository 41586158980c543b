"""Age from a birth year-month: the one definition the contracts and the tables share."""

from __future__ import annotations

import pandas as pd


def age_in_years(birth_year_month: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years at ``on`` for a person taken as born on the 1st of ``birth_year_month``.

    Unparseable year-months give a missing age (the pattern check reports them).
    """
    birth = pd.to_datetime(birth_year_month, format="%Y-%m", errors="coerce")
    if not pd.api.types.is_datetime64_any_dtype(on):
        on = pd.to_datetime(on)
    age = on.dt.year - birth.dt.year - (on.dt.month < birth.dt.month)
    return age.astype("Float64")
