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
from dataclasses import dataclass

import pandas as pd

from data_contracts.settings import Disclosure
from kitbag_analysis.analysis.models import MIN_PARTICIPANTS_PER_ARM
from kitbag_analysis.analysis.names import ARMS, EFFECTIVENESS
from kitbag_analysis.analysis.results import OutcomeResult
from kitbag_analysis.sdc import policy as rule
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


@dataclass(frozen=True)
class Protection:
    """What the study's pattern decided (`sdc.pattern.Pattern.protection`): the counts it
    suppresses, the counts below the threshold it shows (published exactly, zeros, counts the
    published cells determine), the exact counts that changed by too few people since an earlier
    release (shown, but nothing built on them is), and the policy."""

    suppressed: frozenset[CellKey] = frozenset()
    known: frozenset[CellKey] | None = None  # None: no pattern, the policy's rule alone decides
    moved: frozenset[CellKey] = frozenset()
    policy: Disclosure = Disclosure()
    statistics: frozenset[CellKey] = frozenset()  # means and shares hidden across units (`sdc.statistics`)


class Publisher:
    """Decides cells for one unit: the study's suppression pattern where there is one (primary,
    secondary, coordinated: `Protection`), else the policy's rule for a count below the threshold."""

    def __init__(
        self, unit: str, threshold: int, pattern: Iterable[CellKey] | Protection = (), policy: Disclosure | None = None
    ) -> None:
        self.unit = unit
        self.threshold = threshold
        protection = pattern if isinstance(pattern, Protection) else Protection(frozenset(pattern))
        if policy is not None:
            protection = Protection(
                protection.suppressed, protection.known, protection.moved, policy, protection.statistics
            )
        self.protection = protection
        self.pattern = protection.suppressed
        self.policy = protection.policy

    def key(self, table: str, population: str, row: str, column: str) -> CellKey:
        return CellKey(self.unit, table, population, row, column)

    def hidden(self, key: CellKey, n: float | None) -> bool:
        if key in self.pattern:
            return True
        if n is None or pd.isna(n) or (self.protection.known is not None and key in self.protection.known):
            return False
        return rule.primary(self.policy, key, n, self.threshold)

    def moved(self, cell: Cell) -> bool:
        """A count shown exactly whose change since an earlier release is 1 to threshold − 1
        people: a mean, SD, rate or model resting on it would give away those people's values."""
        return cell.key in self.protection.moved

    def reveals_small(self, events: float, n: float) -> bool:
        """A share of people reveals both the number with and the number without the event."""
        return rule.share_reveals_small(self.policy, events, n, self.threshold)

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
        """Whether a count the model rests on is suppressed, or shown exactly but changed by too
        few people since an earlier release."""
        keys = {arm: self.key(table, result.population, result.outcome, arm) for arm in ARMS}
        return any(self.hidden(keys[arm], result.n.get(arm)) or keys[arm] in self.protection.moved for arm in ARMS)

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

    def derived(
        self,
        key: CellKey,
        measure: str,
        value: float | None,
        on: Iterable[Cell],
        small: bool = False,
        of_counts: bool = False,
    ) -> Cell:
        """A number built on counts: shown only where every count it is built on is shown (and,
        with ``small``, where a count it would reveal is not below the threshold). A mean, SD, rate,
        share of events or model statistic of people's values is not shown where a count it rests
        on moved by too few people since an earlier release; a number ``of_counts`` (a function of
        the counts ``on`` alone, such as a percentage of two shown counts) is."""
        if value is None or pd.isna(value):
            return Cell(key, measure, None)
        on = list(on)
        # a statistic of people's values over fewer than the threshold (a count published exactly
        # may be that small) is suppressed, as is one whose count moved since an earlier release
        few = not of_counts and any(c.measure == "n" and c.value and 0 < c.value < self.threshold for c in on)
        moved = not of_counts and any(self.moved(c) for c in on)
        coordinated = key in self.protection.statistics
        return Cell(key, measure, float(value), small or few or moved or coordinated or any(c.suppressed for c in on))


__all__ = [
    "COUNTS_HIDDEN",
    "MIN_RESIDUAL_DF",
    "NOT_ENOUGH_DF",
    "Publisher",
    "df_shown",
    "model_publishable",
    "not_shown_reason",
    "Protection",
    "subgroup_least",
]
