"""Secondary suppression coordinated over the linked table set of a study.

Primary cells are the counts of people below the threshold (zero included). Secondary cells are
chosen by a mixed-integer programme (scipy's HiGHS `milp`): a binary per count; primaries fixed
to 1; in every identity a suppressed cell needs another suppressed cell; minimise what is lost,
each cell weighing 1 + log(1 + count) (fewest cells, then the smaller ones), doubled for the
pooled unit so that suppression falls on the local authority tables first, and a tenth for the
compliance counts (they feed only the CACE) so that it falls on them before the main tables. A proof step follows:
the attacker's audit (`attack`) computes every suppressed cell's feasible interval; while one is
narrower than the threshold, a cut asks for one more suppression among the cells linked to it,
and the programme is solved again. The result is deterministic for the same study and settings.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from kitbag_analysis.attack import Interval, audit, feasible_intervals
from kitbag_analysis.linked import LinkedSet
from kitbag_analysis.publication import CellKey
from kitbag_analysis.units import ALL

POOLED_WEIGHT = 2.0
# Counts that only feed a secondary statistic (the What-Works compliance counts of §7.4) weigh
# less, so that suppression falls on them before the flow, baseline and effectiveness tables.
TABLE_WEIGHT = {"compliance": 0.1}
MAX_ROUNDS = 100


class NoSafePattern(Exception):
    """No suppression pattern passing the audit was found; carries the narrow cell's label."""


@dataclass(frozen=True)
class Pattern:
    """The cells a release suppresses, and the audit that proves it safe."""

    primary: frozenset[CellKey]
    secondary: frozenset[CellKey]
    intervals: dict[CellKey, Interval] = field(default_factory=dict, compare=False)
    solver: str = "scipy.optimize.milp (HiGHS) for the pattern; HiGHS LPs (highspy) for the audit and its cuts"
    status: str = ""
    rounds: int = 0
    seconds: float = 0.0
    linked: LinkedSet | None = field(default=None, compare=False, repr=False)

    @property
    def suppressed(self) -> frozenset[CellKey]:
        return self.primary | self.secondary


def _weight(key: CellKey, value: int) -> float:
    return (1.0 + math.log1p(value)) * (POOLED_WEIGHT if key.unit == ALL else 1.0) * TABLE_WEIGHT.get(key.table, 1.0)


def _intervals(linked: LinkedSet, suppressed: frozenset[CellKey]) -> dict[CellKey, Interval]:
    published = {k: (None if k in suppressed else v) for k, v in linked.values.items()}
    identities = [(i.total, i.parts) for i in linked.identities]
    return feasible_intervals(published, identities, linked.bounds)


def suppression_pattern(linked: LinkedSet, threshold: int, max_rounds: int = MAX_ROUNDS) -> Pattern:
    """The coordinated pattern for ``linked`` at ``threshold``, proven by the audit."""
    started = time.perf_counter()
    keys = sorted(linked.values)
    index = {k: i for i, k in enumerate(keys)}
    values = np.array([linked.values[k] for k in keys])
    primary = frozenset(k for k in keys if linked.values[k] < threshold)
    weights = np.array([_weight(k, linked.values[k]) for k in keys])
    rows: list[dict[int, float]] = []
    for identity in linked.identities:
        members = sorted({index[k] for k in identity.cells})
        for i in members:  # a suppressed cell of an identity needs a second one there
            rows.append({i: 1.0, **{j: -1.0 for j in members if j != i}})
    neighbours: dict[int, set[int]] = {}
    for identity in linked.identities:
        members = {index[k] for k in identity.cells}
        for i in members:
            neighbours.setdefault(i, set()).update(members - {i})
    cuts: list[dict[int, float]] = []
    lower = np.array([1.0 if k in primary else 0.0 for k in keys])
    for rounds in range(1, max_rounds + 1):
        chosen = _solve(rows + cuts, lower, weights, len(keys))
        suppressed = frozenset(keys[i] for i in np.flatnonzero(chosen))
        intervals = _intervals(linked, suppressed)
        narrow = audit(intervals, threshold)
        if not narrow:
            return Pattern(
                primary,
                suppressed - primary,
                intervals,
                status="optimal; audit passed",
                rounds=rounds,
                seconds=time.perf_counter() - started,
            )
        for cell in narrow:
            cuts.append(_cut(index[cell.key], threshold - cell.width, chosen, values, neighbours, cell.key))
    raise NoSafePattern(f"no safe pattern within {max_rounds} rounds (e.g. {narrow[0].key.label})")


def _cut(
    i: int, needed: float, chosen: np.ndarray, values: np.ndarray, neighbours: dict[int, set[int]], key: CellKey
) -> dict:
    """A cut that widens cell ``i``'s interval: suppress cells linked to it whose counts add up to
    at least ``needed`` (each counting at most ``needed``): sum min(v_j, needed) x_j >= needed.
    Cells sharing an identity with ``i`` come first; if all are suppressed, cells linked to its
    suppressed component."""
    for pool in (neighbours.get(i, set()), _linked_to(i, chosen, neighbours)):
        candidates = sorted(j for j in pool if not chosen[j] and values[j] > 0)
        if candidates:
            return {j: -min(float(values[j]), needed) for j in candidates} | {"rhs": -needed}
    raise NoSafePattern(f"no further cell can protect {key.label}")


def _linked_to(start: int, chosen: np.ndarray, neighbours: dict[int, set[int]]) -> set[int]:
    linked: set[int] = set()
    for j in _component_of(start, chosen, neighbours):
        linked |= neighbours.get(j, set())
    return linked


def _component_of(start: int, chosen: np.ndarray, neighbours: dict[int, set[int]]) -> set[int]:
    """The suppressed cells linked to ``start`` through identities (itself included)."""
    seen, todo = {start}, [start]
    while todo:
        i = todo.pop()
        for j in neighbours.get(i, ()):
            if chosen[j] and j not in seen:
                seen.add(j)
                todo.append(j)
    return seen


def _solve(rows: list[dict], lower: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """min weights·x subject to rows (each: sum coef·x <= rhs, rhs 0 unless given), x binary."""
    data, ri, ci, rhs = [], [], [], []
    for r, row in enumerate(rows):
        for c, v in row.items():
            if c == "rhs":
                continue
            ri.append(r)
            ci.append(c)
            data.append(v)
        rhs.append(row.get("rhs", 0.0))
    a = sparse.csr_matrix((data, (ri, ci)), shape=(len(rows), n))
    result = milp(
        weights,
        constraints=LinearConstraint(a, -np.inf, np.array(rhs)),
        integrality=np.ones(n),
        bounds=Bounds(lower, np.ones(n)),
        options={"disp": False, "presolve": True},
    )
    if result.x is None:
        raise NoSafePattern(f"the suppression programme has no solution ({result.message})")
    return np.round(result.x).astype(bool)


__all__ = ["NoSafePattern", "Pattern", "suppression_pattern"]
