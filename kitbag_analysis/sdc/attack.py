"""The attacker's audit: how well could a reader of everything published pin down each
suppressed cell?

Given the published values, every identity among the cells (across every unit), the orderings a
reader knows and non-negativity (integrality relaxed), each suppressed cell's feasible interval
[lo, hi] is found by linear programming (HiGHS, through highspy), per connected component of suppressed
cells. Nothing else is assumed about a `[c]` cell: an outsider cannot tell a primary suppression
from a secondary one. A release is safe when every interval is at least the threshold wide.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from kitbag_analysis.sdc.cells import COMPLEMENT, CellKey

Interval = tuple[float, float]


@dataclass(frozen=True)
class Narrow:
    """A suppressed cell a reader can pin down to an interval narrower than the threshold."""

    key: CellKey
    interval: Interval

    @property
    def width(self) -> float:
        return self.interval[1] - self.interval[0]


def feasible_intervals(
    published: Mapping[CellKey, float | None],
    identities: Iterable[tuple[CellKey, tuple[CellKey, ...]]],
    bounds: Iterable[tuple[CellKey, CellKey]] = (),
    enough: float | None = None,
    memo: dict | None = None,
) -> dict[CellKey, Interval]:
    """[lo, hi] of every unknown cell (suppressed: value None, or named only in an identity).

    With ``enough`` (the threshold), a cell is solved only until the points found so far (every
    LP solution is a feasible point for every cell) span ``enough``: its interval is then a proven
    part of the feasible one, at least ``enough`` wide, which is all the audit asks. Cells narrower
    than that are always solved exactly.

    ``memo`` (a dict kept by the caller across calls, e.g. the rounds of one pattern): a component
    whose programme is the same as one solved before (same cells, coefficients and right-hand
    sides) takes that answer instead of being solved again; HiGHS is deterministic, so the result
    is the same either way.

    ``identities`` are (total, parts): total = sum(parts); ``bounds`` are (smaller, larger)."""
    identities, bounds = list(identities), list(bounds)
    unknown = sorted(
        {k for k, v in published.items() if v is None}
        | {k for total, parts in identities for k in (total, *parts) if k not in published}
    )
    if not unknown:
        return {}
    index = {k: i for i, k in enumerate(unknown)}

    def row(terms: list[tuple[CellKey, float]]) -> tuple[dict[int, float], float]:
        coefs: dict[int, float] = {}
        rhs = 0.0
        for key, sign in terms:
            if key in index:
                coefs[index[key]] = coefs.get(index[key], 0.0) + sign
            else:
                rhs -= sign * float(published[key])
        return coefs, rhs

    eq = [row([(total, 1.0)] + [(p, -1.0) for p in parts]) for total, parts in identities]
    ub = [row([(small, 1.0), (large, -1.0)]) for small, large in bounds]
    eq = [(c, r) for c, r in eq if c]
    ub = [(c, r) for c, r in ub if c]
    a_eq, b_eq = _matrix(eq, len(unknown))
    a_ub, b_ub = _matrix(ub, len(unknown))
    links = abs(a_eq).T @ abs(a_eq) + abs(a_ub).T @ abs(a_ub) + sparse.identity(len(unknown), format="csr")
    n_parts, label = connected_components(links, directed=False)
    found: dict[CellKey, Interval] = {}
    for part in range(n_parts):
        cols = np.flatnonzero(label == part)
        found.update(_component(cols, unknown, a_eq, b_eq, a_ub, b_ub, enough, memo))
    return found


def _matrix(rows: list[tuple[dict[int, float], float]], n: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    data, ri, ci = [], [], []
    for r, (coefs, _rhs) in enumerate(rows):
        for c, v in coefs.items():
            ri.append(r)
            ci.append(c)
            data.append(v)
    matrix = sparse.csr_matrix((data, (ri, ci)), shape=(len(rows), n))
    return matrix, np.array([rhs for _c, rhs in rows], dtype=float)


def _component(
    cols: np.ndarray, unknown: list[CellKey], a_eq, b_eq, a_ub, b_ub, enough=None, memo=None
) -> dict[CellKey, Interval]:  # noqa: ANN001
    """Min and max of each variable of one component, subject to the constraints touching it:
    one HiGHS model per component, re-solved (warm) with each variable as the objective. With
    ``enough``, a variable whose values over the solutions found so far already span it is not
    solved again (`feasible_intervals`)."""
    import highspy

    sub = sparse.vstack([a_eq[:, cols], a_ub[:, cols]]).tocsr()
    rhs = np.concatenate([b_eq, b_ub])
    is_eq = np.r_[np.ones(a_eq.shape[0], bool), np.zeros(a_ub.shape[0], bool)]
    rows = np.flatnonzero(np.asarray(abs(sub).sum(axis=1)).ravel() > 0)
    matrix = sub[rows].tocsc()
    matrix.sort_indices()
    key = None
    if memo is not None:
        key = (
            tuple(unknown[c] for c in cols),
            enough,
            matrix.indptr.tobytes(),
            matrix.indices.tobytes(),
            matrix.data.tobytes(),
            rhs[rows].tobytes(),
            is_eq[rows].tobytes(),
        )
        if key in memo:
            return memo[key]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cols), len(rows)
    lp.col_cost_ = np.zeros(len(cols))
    lp.col_lower_ = np.zeros(len(cols))
    lp.col_upper_ = np.full(len(cols), highspy.kHighsInf)
    lp.row_lower_ = np.where(is_eq[rows], rhs[rows], -highspy.kHighsInf)
    lp.row_upper_ = rhs[rows]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    h = _highs()
    h.passModel(lp)
    seen_lo = np.full(len(cols), np.inf)
    seen_hi = np.full(len(cols), -np.inf)

    def solve(sense) -> float | None:  # noqa: ANN001
        """The objective at the optimum (None: unbounded), noting the solution as a feasible point."""
        h.changeObjectiveSense(sense)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            raise ValueError("the published cells contradict their identities (infeasible)")
        if status != highspy.HighsModelStatus.kOptimal:
            return None
        point = np.asarray(h.getSolution().col_value)
        np.minimum(seen_lo, point, out=seen_lo)
        np.maximum(seen_hi, point, out=seen_hi)
        return float(h.getInfo().objective_function_value)

    def spanned(j: int) -> bool:
        return enough is not None and seen_hi[j] - seen_lo[j] >= enough

    if enough is not None and len(cols) > 1:  # a few spread-out points first (deterministic)
        every = np.arange(len(cols), dtype=np.int32)
        for cost in (np.ones(len(cols)), np.where(every % 2 == 0, 1.0, -1.0)):
            h.changeColsCost(len(cols), every, cost)
            solve(highspy.ObjSense.kMinimize)
            solve(highspy.ObjSense.kMaximize)
        h.changeColsCost(len(cols), every, np.zeros(len(cols)))
    out: dict[CellKey, Interval] = {}
    for j in range(len(cols)):
        if spanned(j):
            out[unknown[cols[j]]] = (max(float(seen_lo[j]), 0.0), float(seen_hi[j]))
            continue
        h.changeColCost(j, 1.0)
        low = solve(highspy.ObjSense.kMinimize)
        high = None if spanned(j) else solve(highspy.ObjSense.kMaximize)
        h.changeColCost(j, 0.0)
        low = 0.0 if low is None else low
        if spanned(j) and high is None:
            high = float(seen_hi[j])
        elif high is None:  # unbounded above (or no bound found): the cell is not pinned down
            high = float("inf")
        out[unknown[cols[j]]] = (max(low, 0.0), high)
    if key is not None:
        memo[key] = out
    return out


def _highs():  # noqa: ANN202 - a highspy.Highs
    """A silent HiGHS instance (its banner, printed at the first instance of a process straight to
    file descriptor 1, would otherwise reach a notebook's page)."""
    import highspy

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return h


@dataclass
class Required:
    """How wide each suppressed count's interval must be: the threshold, or, where the counts
    published exactly (``exact``: their values; every other count None) already confine it more
    narrowly — a breakdown of an exact total below the threshold — the whole interval those counts
    leave it: suppression can do no better, and a reader learns nothing beyond the exact counts.
    Solved once, when the audit first finds an interval narrower than the threshold."""

    exact: Mapping[CellKey, float | None]
    identities: list[tuple[CellKey, tuple[CellKey, ...]]]
    bounds: list[tuple[CellKey, CellKey]]
    threshold: int
    apriori: dict[CellKey, Interval] | None = None

    def of(self, intervals: Mapping[CellKey, Interval], threshold: int) -> dict[CellKey, float]:
        """The required widths below the threshold (only ever of cells narrower than it)."""
        if all(v is None for v in self.exact.values()) or not any(hi - lo < threshold for lo, hi in intervals.values()):
            return {}
        if self.apriori is None:
            self.apriori = feasible_intervals(self.exact, self.identities, self.bounds, enough=self.threshold)
        return {k: hi - lo for k, (lo, hi) in self.apriori.items() if hi - lo < threshold}

    def width(self, key: CellKey, threshold: int) -> float:
        if self.apriori is None or key not in self.apriori:
            return float(threshold)
        lo, hi = self.apriori[key]
        return min(float(threshold), hi - lo)


def audit(
    intervals: Mapping[CellKey, Interval],
    threshold: int,
    required: Mapping[CellKey, float] | None = None,
    tolerance: float = 1e-6,
) -> list[Narrow]:
    """Suppressed cells whose feasible interval is narrower than ``threshold`` (or than its
    ``required`` width, where the counts published exactly confine a cell to less: `pattern.Required`).
    A complement (a total minus its part, `cells.COMPLEMENT`) is safe too where a reader can tell
    only that it is 0 or that it is at least the threshold: a difference of zero identifies no one."""
    required = required or {}

    def narrow(key: CellKey, lo: float, hi: float) -> bool:
        if hi - lo >= min(threshold, required.get(key, threshold)) - tolerance:
            return False
        return key.table != COMPLEMENT or not (hi <= tolerance or lo >= threshold - tolerance)

    return [Narrow(k, iv) for k, iv in sorted(intervals.items()) if narrow(k, *iv)]


__all__ = ["Narrow", "Required", "audit", "feasible_intervals"]
