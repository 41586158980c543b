"""Disclosure control of published numbers (analysis-plan.md §6).

- primary suppression: a count of people below the threshold (zero included), and every
  percentage or mean built on it, is shown as ``[c]``;
- secondary suppression: where a group's total is published (a characteristic's levels add up
  to the arm's participants; enrolled = excluded + included), a lone suppressed cell would be
  recoverable, so the smallest other cell of the group is suppressed too;
- a model is shown only with at least 10 residual degrees of freedom;
- no minimum, maximum, row-level value or participant id is ever published.

ACRO (the output-checking tool of trusted research environments) re-checks the person-level
tables and records every release candidate for the output checker (`acro_review`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

SUPPRESSED = "[c]"
MIN_RESIDUAL_DF = 10


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


def suppression_mask(counts: pd.Series, groups: list[pd.Series] | pd.Series, threshold: int) -> pd.Series:
    """Cells to suppress: primary (below threshold) plus, in any group with exactly one primary
    cell and more than one cell, the smallest remaining cell (its total is published)."""
    primary = counts < threshold
    keys = groups if isinstance(groups, list) else [groups]
    grouped = primary.groupby(keys, sort=False)
    lone = grouped.transform("sum").eq(1) & grouped.transform("size").gt(1)
    candidates = counts.where(lone & ~primary)
    if candidates.notna().any():
        second = candidates.groupby(keys, sort=False).idxmin().dropna().astype(int)
        primary = primary.copy()
        primary.loc[second.to_numpy()] = True
    return primary


def model_publishable(df_resid: float | None) -> bool:
    """A model is shown only with at least 10 residual degrees of freedom."""
    return df_resid is not None and df_resid >= MIN_RESIDUAL_DF


# --- ACRO ----------------------------------------------------------------------------------
def _acro():
    """An ACRO session with suppression on; its console output and root-logger change undone."""
    root = logging.getLogger()
    level = root.level
    with contextlib.redirect_stdout(io.StringIO()):
        from acro import ACRO

        session = ACRO(suppress=True)
    root.setLevel(level)
    return session


def _set_threshold(session, threshold: int) -> None:
    session.config["safe_threshold"] = threshold
    session.sdc_checks.risk_appetite["safe_threshold"] = threshold


def acro_review(
    target: Path,
    threshold: int,
    crosstabs: dict[str, pd.DataFrame],
    custom: dict[str, tuple[Path, str]],
    exceptions: dict[str, str] | None = None,
) -> dict:
    """Run ACRO's checks and write its output-checking summary to ``target`` (a new folder).

    ``crosstabs``: name -> person-level frame with columns ``row`` (one or more index columns
    prefixed ``row``) and ``arm``, checked with ``acro.crosstab``. ``custom``: name -> (file,
    comment) for outputs ACRO has no wrapper for (suppressed tables, GLM and mixed-model results,
    figures), registered with ``custom_output``. Returns {output name: ACRO status}.
    """
    root = logging.getLogger()
    level = root.level
    session = _acro()
    _set_threshold(session, threshold)
    names: list[str] = []
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for name, frame in crosstabs.items():
            rows = [frame[c] for c in frame.columns if c.startswith("row")]
            session.crosstab(rows, frame["arm"])
            names.append(name)
        for name, (path, comment) in custom.items():
            session.custom_output(str(path), comment)
            names.append(name)
        for uid, name in zip(list(session.results.results), names, strict=True):
            session.rename_output(uid, name)
        for name, reason in (exceptions or {}).items():
            session.add_exception(name, reason)
        # finalise() into an existing folder silently writes nothing: use a fresh one, then move
        fresh = target.with_name(f".{target.name}-{uuid.uuid4().hex[:8]}")
        session.finalise(str(fresh), "json", interactive=False)
    root.setLevel(level)
    if not (fresh / "results.json").is_file():
        raise RuntimeError("ACRO wrote no output-checking summary")
    if target.exists():
        shutil.rmtree(target)
    fresh.rename(target)
    results = json.loads((target / "results.json").read_text())["results"]
    return {uid: r.get("status") for uid, r in results.items()}
