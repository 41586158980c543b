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

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint

from data_contracts.settings import Disclosure
from kitbag_analysis.errors import NoSafePattern
from kitbag_analysis.sdc.attack import Interval, Required, audit, feasible_intervals
from kitbag_analysis.sdc.cells import COMPLEMENT, CellKey
from kitbag_analysis.sdc.linked import LinkedSet
from kitbag_analysis.sdc.policy import counts_someone
from kitbag_analysis.sdc.rules import Protection
from kitbag_analysis.sdc.solver import solve_interruptibly
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
log = logging.getLogger("kitbag.disclosure")  # a progress line per round (the CLI shows it)


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
    ledger_cost: int | None = None  # cells suppressed because of the ledger: its own and their partners
    exact: frozenset[CellKey] = frozenset()  # counts published exactly (the policy's trial-process counts)
    moved: frozenset[CellKey] = frozenset()  # exact counts changed by too few people since an earlier release
    method: str = "optimal"  # optimal | best found within the time limit | greedy fallback
    time_limit: float = 0.0
    known: frozenset[CellKey] = frozenset()  # counts below the threshold that are shown (exact, zero, determined)

    @property
    def suppressed(self) -> frozenset[CellKey]:
        return self.primary | self.secondary | self.ledger

    @property
    def protection(self) -> Protection:
        """What a unit's publisher applies (`sdc.rules.Publisher`)."""
        policy = self.linked.policy if self.linked is not None else Disclosure()
        statistics = self.linked.statistics if self.linked is not None else frozenset()
        return Protection(self.suppressed, self.known, self.moved, policy, statistics)


def _weight(key: CellKey, value: int) -> float:
    return (1.0 + math.log1p(value)) * (POOLED_WEIGHT if key.unit == ALL else 1.0) * TABLE_WEIGHT.get(key.table, 1.0)


def _release_spill(
    linked: LinkedSet,
    suppressed: frozenset[CellKey],
    primary: frozenset[CellKey],
    intervals: dict[CellKey, Interval],
    threshold: int,
    memo: dict | None = None,
    required: Required | None = None,
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
        if not audit(trial_intervals, threshold, required.of(trial_intervals, threshold) if required else None):
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


def primary_cells(linked: LinkedSet, threshold: int, exact: frozenset[CellKey] | None = None) -> frozenset[CellKey]:
    """Counts below the threshold that count someone under the study's policy (`sdc.policy`: a zero
    only where zeros are disclosive; never a count published exactly), and the small complements of
    the orderings (a shown total minus a shown part of 1 to threshold − 1 people:
    `LinkedSet.add_complements`). A count that an identity determines from exact counts alone is
    known to every reader, so it is not one either."""
    exact = linked.exact if exact is None else exact
    small = {
        k for k, v in linked.values.items() if k not in exact and v < threshold and counts_someone(linked.policy, v)
    }
    if exact:
        for identity in linked.identities:
            unknown = [k for k in identity.cells if k not in exact]
            if len(unknown) == 1:
                small.discard(unknown[0])
    return frozenset(small)


def suppression_pattern(
    linked: LinkedSet,
    threshold: int,
    max_rounds: int = MAX_ROUNDS,
    forced: frozenset[CellKey] = frozenset(),
    time_limit: float | None = None,
) -> Pattern:
    """The coordinated pattern for ``linked`` at ``threshold``, proven by the audit; ``forced``
    cells (the ledger's, `sdc.history`) are primary too, exact or not. The programme runs for at
    most ``time_limit`` seconds (default: the policy's) in all; after it the best pattern found,
    or a greedy one (`_greedy`), is proven by the same audit."""
    started = time.perf_counter()
    limit = float(linked.policy.time_limit_seconds if time_limit is None else time_limit)
    deadline = started + limit
    keys = sorted(linked.values)
    index = {k: i for i, k in enumerate(keys)}
    values = np.array([linked.values[k] for k in keys])
    exact = linked.exact - forced
    below = primary_cells(linked, threshold, exact)
    ledger = frozenset(forced & linked.values.keys()) - below
    primary = below | ledger
    hidden = primary  # complements among them: never shown
    weights = np.array([0.0 if k in linked.complements else _weight(k, linked.values[k]) for k in keys])
    fixed = {index[k] for k in exact}
    rows, neighbours, everyone = _programme(linked, keys, index, fixed)
    cuts: list[dict[int, float]] = []
    memo: dict = {}  # the audit's solved components, shared by the rounds and `_release_spill`
    lower = np.array([1.0 if k in hidden else 0.0 for k in keys])
    upper = np.array([0.0 if i in fixed else 1.0 for i in range(len(keys))])
    required = Required(
        {k: (v if k in exact else None) for k, v in linked.values.items()},
        [(i.total, i.parts) for i in linked.identities],
        linked.bounds,
        threshold,
    )
    methods: list[str] = []
    for rounds in range(1, max_rounds + 1):
        chosen, method = _choose(rows + cuts, lower, upper, weights, deadline)
        methods.append(method)
        suppressed = frozenset(keys[i] for i in np.flatnonzero(chosen))
        intervals = _intervals(linked, suppressed, threshold, memo)
        # a secondary cell the published cells determine protects nothing and needs none: it is shown
        # at the end (`_show_determined`; showing a determined value changes no other interval)
        narrow = [
            c
            for c in audit(intervals, threshold, required.of(intervals, threshold))
            if c.key in hidden or c.width > 1e-6
        ]
        seconds = time.perf_counter() - started
        cells = len(suppressed - linked.complements)
        progress = f"disclosure pattern: round {rounds}, {cells} cells suppressed ({method})"
        log.info(f"{progress}, {seconds:.1f} s of {limit:g} s")
        if not narrow:
            found = f"disclosure pattern found: {_summary(methods)}, audit passed, {seconds:.1f} s"
            log.info(found, extra={"final": True})
            suppressed, intervals, released = _release_spill(
                linked, suppressed, hidden, intervals, threshold, memo, required
            )
            suppressed, intervals, determined = _show_determined(suppressed, intervals)
            shown_small = frozenset(k for k, v in linked.values.items() if v < threshold) - suppressed
            return Pattern(
                primary - ledger - linked.complements - determined,
                suppressed - primary - linked.complements,
                intervals,
                status=f"{_summary(methods)}; audit passed",
                released=released + len(determined),
                rounds=rounds,
                seconds=time.perf_counter() - started,
                ledger=ledger - determined,
                exact=exact,
                method=_summary(methods),
                time_limit=limit,
                known=shown_small,
                linked=linked,
            )
        for cell in narrow:
            need = required.width(cell.key, threshold) - cell.width
            cuts.append(_cut(index[cell.key], need, chosen, values, (neighbours, everyone), cell.key))
    raise NoSafePattern(f"no safe pattern within {max_rounds} rounds (e.g. {narrow[0].key.label})")


def _programme(
    linked: LinkedSet, keys: list[CellKey], index: dict[CellKey, int], fixed: set[int]
) -> tuple[list[dict[int, float]], dict[int, set[int]], dict[int, set[int]]]:
    """The programme's rows — in every identity a suppressed cell needs a second one there, never
    one published exactly (``fixed``) — and who may protect whom: first within contained tables
    (``neighbours``), then any cell sharing an identity (``everyone``)."""
    rows: list[dict[int, float]] = []
    neighbours: dict[int, set[int]] = {}
    everyone: dict[int, set[int]] = {}
    for identity in linked.identities:
        members = sorted({index[k] for k in identity.cells})
        for i in members:
            partners = [j for j in _partners(i, members, keys) if j not in fixed]
            if i not in fixed:
                rows.append({i: 1.0, **dict.fromkeys(partners, -1.0)})
            neighbours.setdefault(i, set()).update(partners)
            everyone.setdefault(i, set()).update(j for j in members if j != i and j not in fixed)
    return rows, neighbours, everyone


OPTIMAL, INCUMBENT, GREEDY = "optimal", "best found within the time limit", "greedy fallback"


def _summary(methods: list[str]) -> str:
    """How the pattern was found: optimal in every round, or the fallback used in some."""
    for method in (GREEDY, INCUMBENT):
        if method in methods:
            return method
    return OPTIMAL


def _choose(
    rows: list[dict], lower: np.ndarray, upper: np.ndarray, weights: np.ndarray, deadline: float
) -> tuple[np.ndarray, str]:
    """The cells to suppress this round: the programme's optimum while time is left, its best
    solution when the time limit stops it, else `_greedy` (never waiting past ``deadline``)."""
    left = deadline - time.perf_counter()
    if left > 0.05:
        x, optimal = _solve(rows, lower, upper, weights, left)
        if x is not None:
            return x, OPTIMAL if optimal else INCUMBENT
    return _greedy(rows, lower, upper, weights), GREEDY


def _greedy(rows: list[dict], lower: np.ndarray, upper: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A feasible pattern without the programme: start from the fixed cells and, while a row is
    violated, suppress the lightest cells it allows until it holds. Cells only ever go from shown
    to suppressed, so it ends (every row satisfiable, as the programme's are)."""
    n = len(weights)
    chosen = lower.astype(bool).copy()
    matrix, rhs = _matrix(rows, n)
    matrix = matrix.tocsr()
    order = np.argsort(weights, kind="stable")
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(n)
    while True:
        lhs = matrix @ chosen.astype(float)
        violated = np.flatnonzero(lhs > rhs + 1e-9)
        if not len(violated):
            return chosen
        for r in violated:
            start, stop = matrix.indptr[r], matrix.indptr[r + 1]
            cols, coefs = matrix.indices[start:stop], matrix.data[start:stop]
            excess = float(coefs @ chosen[cols]) - rhs[r]
            helpers = [
                (rank[c], c, -v) for c, v in zip(cols, coefs, strict=True) if v < 0 and not chosen[c] and upper[c]
            ]
            for _rank, c, gain in sorted(helpers):
                if excess <= 1e-9:
                    break
                chosen[c] = True
                excess -= gain
            if excess > 1e-9:
                raise NoSafePattern("no pattern satisfies the suppression rules (a cell has no possible partner)")


def _show_determined(
    suppressed: frozenset[CellKey], intervals: dict[CellKey, Interval]
) -> tuple[frozenset[CellKey], dict[CellKey, Interval], frozenset[CellKey]]:
    """Suppressed counts whose value the published cells determine (an interval of width 0)
    protect nothing: they are shown. Showing a determined value adds no constraint, so every
    other interval stays as it is."""
    determined = frozenset(
        k for k, (lo, hi) in intervals.items() if k in suppressed and k.table != COMPLEMENT and hi - lo <= 1e-6
    )
    return suppressed - determined, {k: v for k, v in intervals.items() if k not in determined}, determined


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
    among all. Where no such cell counts anyone, shown zeros (`zeros = "safe"`) are the last
    resort: a suppressed zero is as uncertain to a reader as any cell, and the audit checks again."""
    for zeros in (False, True):
        for neighbours in neighbourhoods:
            for pool in (neighbours.get(i, set()), _linked_to(i, chosen, neighbours)):
                candidates = sorted(j for j in pool if not chosen[j] and (values[j] == 0) == zeros)
                if candidates:
                    return {j: -min(float(values[j]) or needed, needed) for j in candidates} | {"rhs": -needed}
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


def _matrix(rows: list[dict], n: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Rows (each: sum coef·x <= rhs, rhs 0 unless given) as a sparse matrix and right-hand side."""
    data, ri, ci, rhs = [], [], [], []
    for r, row in enumerate(rows):
        for c, v in row.items():
            if c == "rhs":
                continue
            ri.append(r)
            ci.append(c)
            data.append(v)
        rhs.append(row.get("rhs", 0.0))
    return sparse.csr_matrix((data, (ri, ci)), shape=(len(rows), n)), np.array(rhs, dtype=float)


def _solve(
    rows: list[dict], lower: np.ndarray, upper: np.ndarray, weights: np.ndarray, seconds: float
) -> tuple[np.ndarray | None, bool]:
    """min weights·x subject to rows, x binary, for at most ``seconds``: (x, optimal), x None when
    no solution was found in time. HiGHS holds the interpreter while it runs, so it runs in a
    child process (`solver.solve_interruptibly`) and Ctrl-C or SIGTERM end the run at once."""
    a, rhs = _matrix(rows, len(weights))
    if a.shape[0] == 0:
        return lower.astype(bool), True
    result = solve_interruptibly(
        weights,
        constraints=LinearConstraint(a, -np.inf, rhs),
        integrality=np.ones(len(weights)),
        bounds=Bounds(lower, upper),
        options={"disp": False, "presolve": True, "time_limit": max(seconds, 0.1)},
    )
    if result.status == 2:  # infeasible: no programme's solution, whatever the time
        raise NoSafePattern(f"the suppression programme has no solution ({result.message})")
    if result.x is None:
        return None, False
    return np.round(result.x).astype(bool), result.status == 0


__all__ = ["NoSafePattern", "Pattern", "suppression_pattern"]
