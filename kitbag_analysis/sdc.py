"""Disclosure control of published numbers (analysis-plan.md §6): threshold suppression.

A count of people below the threshold, and any percentage or mean built on it, is shown as
``[c]``. Applied to every table before it is rendered into a report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SUPPRESSED = "[c]"


def safe_count(n: float | int | None, threshold: int) -> str:
    """A count as published: ``[c]`` below the threshold (zero included: it is a small cell)."""
    if n is None or (isinstance(n, float) and np.isnan(n)):
        return ""
    return SUPPRESSED if n < threshold else f"{int(n):,}"


def suppress_counts(frame: pd.DataFrame, count_columns: list[str], threshold: int) -> pd.DataFrame:
    """``frame`` with ``count_columns`` as display strings, counts below the threshold as [c]."""
    out = frame.copy().astype(object)
    for col in count_columns:
        counts = frame[col]
        out[col] = counts.map("{:,.0f}".format).where(counts >= threshold, SUPPRESSED).where(counts.notna(), "")
    return out


def model_publishable(df_resid: float | None) -> bool:
    """A model is shown only with at least 10 residual degrees of freedom."""
    return df_resid is not None and df_resid >= 10
