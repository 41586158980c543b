"""The attacker's own arithmetic (no code of the package): counts as variables, the identities and
orderings a reader writes down, interval propagation to a fixed point and exact elimination."""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import null_space

C = "[c]"
# The trial-process counts the default policy publishes exactly (analysis-plan.md §6.2), in the
# attacker's own words: release.json's table names, and what a page's row says.
EXACT_TABLES = {"participant_flow", "flow", "stamp", "excluded", "completeness", "completeness-with", "attrition"}


def exact_count(table: str, row: str, column: str) -> bool:
    """Whether a count is one the policy publishes exactly: the flow and what refines or equals it
    (the analysed n of the effectiveness table, uptake's answered total, the n with a baseline
    score, the monitoring recruitment and completeness counts)."""
    if table in EXACT_TABLES or table == "monitoring_recruitment":
        return True
    if table == "effectiveness":
        return column.split(" ")[0] in ("kitbag", "control", "Kitbags", "Control")
    if table == "uptake":
        return row == "answered" or "(total)" in row
    if table == "baseline":
        return ": " not in row
    return table == "monitoring_criteria" and row in ("baseline_completeness", "followup_completeness")


class Attack:
    """Counts as variables: known values, unknown [c] cells, identities and orderings."""

    def __init__(self) -> None:
        self.known: dict[tuple, float] = {}
        self.unknown: set[tuple] = set()
        self.identities: list[tuple[tuple, list[tuple]]] = []
        self.bounds: list[tuple[tuple, tuple]] = []  # (smaller, larger)

    def cell(self, key: tuple, text: str) -> None:
        if text == C:
            self.unknown.add(key)
        elif text:
            self.known[key] = float(text.replace(",", ""))

    def has(self, key: tuple) -> bool:
        return key in self.known or key in self.unknown

    def identity(self, total: tuple, parts: list[tuple]) -> None:
        if self.has(total) and parts and all(self.has(p) for p in parts):
            self.identities.append((total, parts))

    def solve(self) -> tuple[dict[tuple, tuple[float, float]], set[tuple]]:
        """Interval propagation to a fixed point, and the cells exact elimination determines."""
        iv = {k: (v, v) for k, v in self.known.items()} | {k: (0.0, math.inf) for k in self.unknown}
        for _ in range(200):
            changed = False
            for total, parts in self.identities:
                lo_sum = sum(iv[p][0] for p in parts)
                hi_sum = sum(iv[p][1] for p in parts)
                changed |= self._tighten(iv, total, lo_sum, hi_sum)
                for p in parts:
                    others_lo, others_hi = lo_sum - iv[p][0], hi_sum - iv[p][1]
                    changed |= self._tighten(iv, p, iv[total][0] - others_hi, iv[total][1] - others_lo)
            for small, large in self.bounds:
                if self.has(small) and self.has(large):
                    changed |= self._tighten(iv, small, 0.0, iv[large][1])
                    changed |= self._tighten(iv, large, iv[small][0], math.inf)
            if not changed:
                break
        order = sorted(self.unknown)
        col = {k: j for j, k in enumerate(order)}
        rows = []
        for total, parts in self.identities:
            row = np.zeros(len(order))
            for key, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
                if key in col:
                    row[col[key]] += sign
            if row.any():
                rows.append(row)
        basis = null_space(np.array(rows)) if rows else np.eye(len(order))
        determined = {k for k, j in col.items() if np.allclose(basis[j], 0, atol=1e-9)}
        return {k: iv[k] for k in self.unknown}, determined

    def required(self, exact: set[tuple], threshold: float) -> dict[tuple, float]:
        """How wide each unknown cell must be for the release to be safe under the disclosure policy
        (analysis-plan.md §6.2): the threshold, or less where the counts published exactly
        (``exact``) already confine it, by this attacker's own propagation with only them known."""
        prior = Attack()
        prior.known = {k: v for k, v in self.known.items() if k in exact}
        prior.unknown = set(self.unknown) | {k for k in self.known if k not in exact}
        prior.identities, prior.bounds = self.identities, self.bounds
        intervals, _ = prior.solve()
        return {k: min(threshold, intervals[k][1] - intervals[k][0]) for k in self.unknown}

    @staticmethod
    def _tighten(iv: dict, key: tuple, lo: float, hi: float) -> bool:
        old_lo, old_hi = iv[key]
        new = (max(old_lo, lo), min(old_hi, hi))
        if new[0] > old_lo + 1e-9 or new[1] < old_hi - 1e-9:
            iv[key] = new
            return True
        return False
