"""Secondary suppression coordinated over the linked table set of a study.

Primary cells are the counts of people below the threshold (zero included). Secondary cells are
chosen by a mixed-integer programme (scipy's HiGHS `milp`): a binary per count; primaries fixed
to 1; in every identity a suppressed cell needs another suppressed cell; minimise what is lost,
each cell weighing 1 + log(1 + count) (fewest cells, then the smaller ones), doubled for the
pooled unit so that suppression falls on the local authority tables first, and a tenth for the
compliance counts (they feed only the CACE) so that it falls on them before the main tables; a
suppressed compliance count is protected by other compliance counts (`CONTAINED_TABLES`). A proof step follows:
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

from kitbag_analysis.errors import NoSafePattern
from kitbag_analysis.sdc.attack import Interval, audit, feasible_intervals
from kitbag_analysis.sdc.cells import CellKey
from kitbag_analysis.sdc.linked import LinkedSet
from kitbag_analysis.study.units import ALL

POOLED_WEIGHT = 2.0
# Counts that only feed a secondary statistic (the What-Works compliance counts of §7.4) weigh
# less, so that suppression falls on them before the flow, baseline and effectiveness tables.
TABLE_WEIGHT = {"compliance": 0.1}
# ... and are protected among themselves: every analysed count is the sum of its compliance counts
# (per rule θ), so a suppressed compliance count is covered by another compliance count, never by
# the analysed count of the effectiveness table (the audit still proves the result).
CONTAINED_TABLES = frozenset({"compliance"})
MAX_ROUNDS = 100


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
    released: int = 0  # secondary cells shown again after the audit (`_release_spill`)
    linked: LinkedSet | None = field(default=None, compare=False, repr=False)
    ledger: frozenset[CellKey] = frozenset()  # primary because of an earlier release (`sdc.history`)
    history: object = field(default=None, compare=False, repr=False)  # the `History` it honoured
    ledger_cost: int | None = None  # cells suppressed beyond the pattern without the ledger

    @property
    def suppressed(self) -> frozenset[CellKey]:
        return self.primary | self.secondary | self.ledger


def _weight(key: CellKey, value: int) -> float:
    return (1.0 + math.log1p(value)) * (POOLED_WEIGHT if key.unit == ALL else 1.0) * TABLE_WEIGHT.get(key.table, 1.0)


def _release_spill(
    linked: LinkedSet,
    suppressed: frozenset[CellKey],
    primary: frozenset[CellKey],
    intervals: dict[CellKey, Interval],
    threshold: int,
    memo: dict | None = None,
) -> tuple[frozenset[CellKey], dict[CellKey, Interval], int]:
    """Cuts are kept from round to round, so a main-table cell a cut asked for while a contained
    table was being protected may no longer be needed once the pattern is safe. Each such
    secondary cell (one sharing an identity with a contained-table cell), with the cells equal
    to it, is shown again where the audit still passes without it: never less safe, only less lost."""
    equal: dict[CellKey, set[CellKey]] = {}
    spill: set[CellKey] = set()
    for identity in linked.identities:
        if len(identity.parts) == 1:
            a, b = identity.total, identity.parts[0]
            equal.setdefault(a, {a}).add(b)
            equal.setdefault(b, {b}).add(a)
        if any(k.table in CONTAINED_TABLES for k in identity.cells):
            spill |= {k for k in identity.cells if k.table not in CONTAINED_TABLES}
    released = 0
    for key in sorted(spill & (suppressed - primary)):
        group = frozenset(equal.get(key, {key}))
        if key not in suppressed or group & primary:
            continue
        trial = suppressed - group
        trial_intervals = _intervals(linked, trial, threshold, memo)
        if not audit(trial_intervals, threshold):
            suppressed, intervals, released = trial, trial_intervals, released + len(group & suppressed)
    return suppressed, intervals, released


def _partners(i: int, members: list[int], keys: list[CellKey]) -> list[int]:
    """The cells that may protect cell ``i`` of an identity: any other member, except that a cell
    of a `CONTAINED_TABLES` table is protected by cells of its own table where it has any there
    (its identity with a main table's total then never spreads suppression into that table)."""
    others = [j for j in members if j != i]
    if keys[i].table in CONTAINED_TABLES:
        inside = [j for j in others if keys[j].table == keys[i].table]
        return inside or others
    return others


def _intervals(
    linked: LinkedSet, suppressed: frozenset[CellKey], threshold: int, memo: dict | None = None
) -> dict[CellKey, Interval]:
    """The audit's intervals; ``memo`` carries solved components from one call to the next (the
    rounds and trials of one pattern change a few components at a time)."""
    published = {k: (None if k in suppressed else v) for k, v in linked.values.items()}
    identities = [(i.total, i.parts) for i in linked.identities]
    return feasible_intervals(published, identities, linked.bounds, enough=threshold, memo=memo)


def primary_cells(linked: LinkedSet, threshold: int) -> frozenset[CellKey]:
    """Counts below the threshold (zero included), and the small complements of the orderings (a
    shown total minus a shown part of 1 to threshold − 1 people: `LinkedSet.add_complements`)."""
    return frozenset(k for k, v in linked.values.items() if v < threshold)


def suppression_pattern(
    linked: LinkedSet, threshold: int, max_rounds: int = MAX_ROUNDS, forced: frozenset[CellKey] = frozenset()
) -> Pattern:
    """The coordinated pattern for ``linked`` at ``threshold``, proven by the audit; ``forced``
    cells (the ledger's, `sdc.history`) are primary too."""
    started = time.perf_counter()
    keys = sorted(linked.values)
    index = {k: i for i, k in enumerate(keys)}
    values = np.array([linked.values[k] for k in keys])
    below = primary_cells(linked, threshold)
    ledger = frozenset(forced & linked.values.keys()) - below
    primary = below | ledger
    hidden = primary  # complements among them: never shown
    weights = np.array([0.0 if k in linked.complements else _weight(k, linked.values[k]) for k in keys])
    rows: list[dict[int, float]] = []
    for identity in linked.identities:
        members = sorted({index[k] for k in identity.cells})
        for i in members:  # a suppressed cell of an identity needs a second one there
            rows.append({i: 1.0, **{j: -1.0 for j in _partners(i, members, keys)}})
    neighbours: dict[int, set[int]] = {}  # who may protect whom: first within contained tables
    everyone: dict[int, set[int]] = {}  # then any cell sharing an identity
    for identity in linked.identities:
        members = sorted({index[k] for k in identity.cells})
        for i in members:
            neighbours.setdefault(i, set()).update(_partners(i, members, keys))
            everyone.setdefault(i, set()).update(j for j in members if j != i)
    cuts: list[dict[int, float]] = []
    memo: dict = {}  # the audit's solved components, shared by the rounds and `_release_spill`
    lower = np.array([1.0 if k in hidden else 0.0 for k in keys])
    for rounds in range(1, max_rounds + 1):
        chosen = _solve(rows + cuts, lower, weights, len(keys))
        suppressed = frozenset(keys[i] for i in np.flatnonzero(chosen))
        intervals = _intervals(linked, suppressed, threshold, memo)
        narrow = audit(intervals, threshold)
        if not narrow:
            suppressed, intervals, released = _release_spill(linked, suppressed, hidden, intervals, threshold, memo)
            return Pattern(
                primary - ledger - linked.complements,
                suppressed - primary - linked.complements,
                intervals,
                status="optimal; audit passed",
                released=released,
                rounds=rounds,
                seconds=time.perf_counter() - started,
                ledger=ledger,
            )
        for cell in narrow:
            cuts.append(_cut(index[cell.key], threshold - cell.width, chosen, values, (neighbours, everyone), cell.key))
    raise NoSafePattern(f"no safe pattern within {max_rounds} rounds (e.g. {narrow[0].key.label})")


def _cut(
    i: int,
    needed: float,
    chosen: np.ndarray,
    values: np.ndarray,
    neighbourhoods: tuple[dict[int, set[int]], ...],
    key: CellKey,
) -> dict:
    """A cut that widens cell ``i``'s interval: suppress cells linked to it whose counts add up to
    at least ``needed`` (each counting at most ``needed``): sum min(v_j, needed) x_j >= needed.
    Cells sharing an identity with ``i`` come first; if all are suppressed, cells linked to its
    suppressed component; each first among the preferred neighbours (contained tables), then
    among all."""
    for neighbours in neighbourhoods:
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
