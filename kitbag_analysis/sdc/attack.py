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

from kitbag_analysis.sdc.cells import CellKey

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
) -> dict[CellKey, Interval]:
    """[lo, hi] of every unknown cell (suppressed: value None, or named only in an identity).

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
        found.update(_component(cols, unknown, a_eq, b_eq, a_ub, b_ub))
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


def _component(cols: np.ndarray, unknown: list[CellKey], a_eq, b_eq, a_ub, b_ub) -> dict[CellKey, Interval]:  # noqa: ANN001
    """Min and max of each variable of one component, subject to the constraints touching it:
    one HiGHS model per component, re-solved (warm) with each variable as the objective."""
    import highspy

    sub = sparse.vstack([a_eq[:, cols], a_ub[:, cols]]).tocsr()
    rhs = np.concatenate([b_eq, b_ub])
    is_eq = np.r_[np.ones(a_eq.shape[0], bool), np.zeros(a_ub.shape[0], bool)]
    rows = np.flatnonzero(np.asarray(abs(sub).sum(axis=1)).ravel() > 0)
    matrix = sub[rows].tocsc()
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
    out: dict[CellKey, Interval] = {}
    for j in range(len(cols)):
        h.changeColCost(j, 1.0)
        ends = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            h.changeObjectiveSense(sense)
            h.run()
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible:
                raise ValueError("the published cells contradict their identities (infeasible)")
            if status == highspy.HighsModelStatus.kOptimal:
                ends.append(float(h.getInfo().objective_function_value))
            else:  # unbounded above (or no bound found): the cell is not pinned down
                ends.append(0.0 if sense == highspy.ObjSense.kMinimize else float("inf"))
        h.changeColCost(j, 0.0)
        out[unknown[cols[j]]] = (max(ends[0], 0.0), ends[1])
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


def audit(intervals: Mapping[CellKey, Interval], threshold: int, tolerance: float = 1e-6) -> list[Narrow]:
    """Suppressed cells whose feasible interval is narrower than ``threshold``."""
    return [Narrow(k, iv) for k, iv in sorted(intervals.items()) if iv[1] - iv[0] < threshold - tolerance]


__all__ = ["Narrow", "audit", "feasible_intervals"]
