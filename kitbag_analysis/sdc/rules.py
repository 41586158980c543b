"""Every "shown only if" rule of analysis-plan.md §6, in one place.

- a count of people below ``sdc_threshold`` (zero included) is suppressed, shown as ``[c]``; so
  is every cell of the study's suppression pattern (secondary suppression, coordinated across
  the linked tables: `sdc.pattern`);
- a number built on counts (a percentage, mean, SD, SMD, rate, MDES, attrition, CACE) is shown
  only where every count it is built on is shown, and a share of people only where neither the
  people with nor those without the event are fewer than the threshold;
- a model (or a §7 sub-model) is shown only with at least ``MIN_RESIDUAL_DF`` residual degrees
  of freedom; a subgroup level only with at least `subgroup_least` analysed in each arm, and the
  interaction only where both levels are shown;
- no minimum or maximum of a person-level value, no row-level value, no participant id.
Teams are not people: team counts are shown as they are.

The methods section states these rules from the constants and functions below (a test reads
both), so the page and the code cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from kitbag_analysis.analysis.models import MIN_PARTICIPANTS_PER_ARM
from kitbag_analysis.analysis.names import ARMS, EFFECTIVENESS
from kitbag_analysis.analysis.results import OutcomeResult
from kitbag_analysis.sdc.cells import Cell, CellKey

MIN_RESIDUAL_DF = 10
NOT_ENOUGH_DF = f"fewer than {MIN_RESIDUAL_DF} residual degrees of freedom"
COUNTS_HIDDEN = "a count it rests on is suppressed (disclosure control)"


def df_shown(df_resid: float | None) -> bool:
    """A model's numbers are shown only with at least ``MIN_RESIDUAL_DF`` residual df."""
    return df_resid is not None and df_resid >= MIN_RESIDUAL_DF


def model_publishable(result: OutcomeResult) -> bool:
    """An outcome's model is shown only when estimable and with enough residual degrees of freedom."""
    return result.ok and df_shown(result.df_resid)


def not_shown_reason(result: OutcomeResult) -> str:
    """Why an outcome's model is not on the page ('' when it is)."""
    if not result.ok:
        return "not estimable"
    return "" if model_publishable(result) else "not shown"


def subgroup_least(threshold: int) -> int:
    """The fewest analysed per arm a subgroup level needs to be shown."""
    return max(MIN_PARTICIPANTS_PER_ARM, threshold)


def share_reveals_small(events: float, n: float, threshold: int) -> bool:
    """A share of people reveals both the number with and the number without the event."""
    return min(events, n - events) < threshold


class Publisher:
    """Decides cells for one unit: primary suppression below the threshold, plus every cell of
    the study's suppression ``pattern`` (secondary, coordinated)."""

    def __init__(self, unit: str, threshold: int, pattern: Iterable[CellKey] = ()) -> None:
        self.unit = unit
        self.threshold = threshold
        self.pattern = frozenset(pattern)

    def key(self, table: str, population: str, row: str, column: str) -> CellKey:
        return CellKey(self.unit, table, population, row, column)

    def hidden(self, key: CellKey, n: float | None) -> bool:
        return key in self.pattern or (n is not None and not pd.isna(n) and n < self.threshold)

    def people(self, key: CellKey, n: float | None) -> Cell:
        """A count of people."""
        if n is None or pd.isna(n):
            return Cell(key, "n", None)
        return Cell(key, "n", float(n), self.hidden(key, n))

    def model_shown(self, result: OutcomeResult, table: str = EFFECTIVENESS) -> bool:
        """A model is shown where it is publishable and neither arm's analysed count is suppressed
        (a number built on counts follows them: earlier releases included, `sdc.history`)."""
        return model_publishable(result) and not self.counts_hidden(result, table)

    def counts_hidden(self, result: OutcomeResult, table: str = EFFECTIVENESS) -> bool:
        return any(
            self.hidden(self.key(table, result.population, result.outcome, arm), result.n.get(arm)) for arm in ARMS
        )

    def not_shown_reason(self, result: OutcomeResult) -> str:
        """Why an outcome's model is not on the page ('' when it is)."""
        if model_publishable(result) and self.counts_hidden(result):
            return "not shown"
        return not_shown_reason(result)

    def why_not_shown(self, result: OutcomeResult) -> str:
        """The words of the 'Model' column for a model not shown ('' when it is)."""
        if not result.ok:
            return result.reason or ""
        if not model_publishable(result):
            return NOT_ENOUGH_DF
        return COUNTS_HIDDEN if self.counts_hidden(result) else ""

    @staticmethod
    def teams(key: CellKey, n: float) -> Cell:
        return Cell(key, "teams", float(n))

    @staticmethod
    def derived(key: CellKey, measure: str, value: float | None, on: Iterable[Cell], small: bool = False) -> Cell:
        """A number built on counts: shown only where every count it is built on is shown (and,
        with ``small``, where a count it would reveal is not below the threshold)."""
        if value is None or pd.isna(value):
            return Cell(key, measure, None)
        return Cell(key, measure, float(value), small or any(c.suppressed for c in on))


__all__ = [
    "COUNTS_HIDDEN",
    "MIN_RESIDUAL_DF",
    "NOT_ENOUGH_DF",
    "Publisher",
    "df_shown",
    "model_publishable",
    "not_shown_reason",
    "share_reveals_small",
    "subgroup_least",
]
