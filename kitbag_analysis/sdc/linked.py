"""The linked table set of a study: every count of people that any unit's release can show, and
every additive identity among them (issue: the pooled report is the sum of the LA reports).

Cells are keyed by `publication.CellKey` and built by the same `publication` functions the pages
use (with no secondary pattern), so the set is exactly what could be published. Identities are
equations ``total = sum(parts)``; `LinkedSet.bounds` adds the orderings a reader also knows
(a stage of the participant flow never exceeds the participants included).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from data_contracts.participants import BY_TYPE
from data_contracts.settings import Disclosure
from kitbag_analysis.analysis.analyse import UnitAnalysis, analysis_counts
from kitbag_analysis.analysis.names import (
    ANALYSED_PREFIX,
    ANSWERED,
    ARMS,
    ATTRITION,
    BASELINE,
    COMPLETENESS,
    EFFECTIVENESS,
    ENROLLED,
    EXCLUDED,
    FLOW,
    INCLUDED,
    STAMP,
    UPTAKE,
    WITH_BASELINE,
    WITH_FOLLOWUP,
)
from kitbag_analysis.analysis.whatworks.compliance import THETAS
from kitbag_analysis.sdc.cells import CellKey, complement_key
from kitbag_analysis.sdc.policy import exact_keys
from kitbag_analysis.sdc.release import make_release
from kitbag_analysis.sdc.statistics import coordinated
from kitbag_analysis.sdc.whatworks_tables import COMPLIANCE, NOT_USED, USED, compliance_row
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import ALL

UP_TO_INCLUDED = (WITH_BASELINE, WITH_FOLLOWUP)
HIERARCHICAL_TABLES = (FLOW, BASELINE, UPTAKE, EFFECTIVENESS, ATTRITION, STAMP, COMPLIANCE)


@dataclass(frozen=True)
class Identity:
    """``total`` equals the sum of ``parts`` (an equality when there is one part)."""

    total: CellKey
    parts: tuple[CellKey, ...]

    @property
    def cells(self) -> tuple[CellKey, ...]:
        return (self.total, *self.parts)

    def to_json(self) -> dict:
        return {"total": key_json(self.total), "parts": [key_json(k) for k in self.parts]}


def key_json(key: CellKey) -> dict[str, str]:
    return {"unit": key.unit, "table": key.table, "population": key.population, "row": key.row, "column": key.column}


def key_from_json(data: dict[str, str]) -> CellKey:
    return CellKey(data["unit"], data["table"], data["population"], data["row"], data["column"])


@dataclass
class LinkedSet:
    """Exact values of every people count of every unit, the identities and the orderings."""

    values: dict[CellKey, int] = field(default_factory=dict)
    identities: list[Identity] = field(default_factory=list)
    bounds: list[tuple[CellKey, CellKey]] = field(default_factory=list)  # (smaller, larger)
    complements: frozenset[CellKey] = frozenset()  # never published: a total minus its part, when small
    policy: Disclosure = Disclosure()  # the study's disclosure policy (analysis-plan.md §6.2)
    statistics: frozenset[CellKey] = frozenset()  # means and shares hidden across units (`sdc.statistics`)

    @property
    def exact(self) -> frozenset[CellKey]:
        """The counts the policy publishes exactly (`sdc.policy.exact`)."""
        return exact_keys(self.policy, self.values)

    def add_complements(self, threshold: int) -> None:
        """For every ordering (part ≤ total), the count of the total outside the part: never shown,
        but a reader of both gets it, so where it is 1 to ``threshold`` − 1 people it is protected
        like any count below the threshold (`complement_key`). A difference of zero identifies no one;
        a larger one lies in the interval of a suppressed part or total, which is at least as wide.
        Two counts published exactly have an exact difference (a trial-process count too: included
        minus those with a baseline measure), so it is not protected."""
        found = set()
        exact = self.exact
        for small, large in self.bounds:
            if (
                not (small in exact and large in exact)
                and small in self.values
                and large in self.values
                and 0 < self.values[large] - self.values[small] < threshold
            ):
                key = complement_key(small, large)
                self.values[key] = self.values[large] - self.values[small]
                self.identities.append(Identity(large, (small, key)))
                found.add(key)
        self.complements = frozenset(found)

    def check(self) -> list[Identity]:
        """Identities that do not hold on the exact values (none, for a correct builder)."""
        return [i for i in self.identities if self.values[i.total] != sum(self.values[p] for p in i.parts)]


def _counts(releases: dict[str, object]) -> dict[CellKey, int]:
    return {
        c.key: int(c.value)
        for release in releases.values()
        for c in release.cells()
        if c.measure == "n" and c.value is not None
    }


def _flow_identities(unit: str, populations: Iterable[str], values: dict[CellKey, int]) -> LinkedSet:
    out = LinkedSet()
    for pop in populations:
        for arm in ARMS:

            def k(row: str, pop: str = pop, arm: str = arm) -> CellKey:
                return CellKey(unit, FLOW, pop, row, arm)

            out.identities.append(Identity(k(ENROLLED), (k(EXCLUDED), k(INCLUDED))))
            for stage in UP_TO_INCLUDED:
                out.bounds.append((k(stage), k(INCLUDED)))
            analysed = [
                key
                for key in values
                if key.unit == unit
                and key.table == FLOW
                and key.population == pop
                and key.column == arm
                and key.row.startswith(ANALYSED_PREFIX)
            ]
            out.bounds += [(key, k(INCLUDED)) for key in analysed]
            for key in analysed:
                outcome = key.row.removeprefix(ANALYSED_PREFIX)
                shown = CellKey(unit, EFFECTIVENESS, pop, outcome, arm)
                if shown in values:  # (no effectiveness table when the impact evaluation was removed)
                    out.identities.append(Identity(shown, (key,)))
    return out


def linked_set(study: Study, analyses: dict[str, UnitAnalysis] | None = None) -> LinkedSet:
    """Every count of every unit of ``study`` with the identities among them, and the small
    complements of its orderings (`LinkedSet.add_complements`)."""
    units = study.units
    analyses = analyses or {u: analysis_counts(study, u) for u in units}
    releases = {u: make_release(study, analyses[u], frozenset()) for u in units}
    values = _counts(releases)
    linked = LinkedSet(values=values, policy=study.settings.disclosure)
    las = list(study.settings.local_authorities)
    linked.statistics = coordinated(releases, las, study.settings.sdc_threshold, study.settings.disclosure)
    by_unit: dict[str, list[CellKey]] = defaultdict(list)
    for key in values:
        by_unit[key.unit].append(key)
    populations = sorted({k.population for k in values if k.table == FLOW})
    for unit in units:
        part = _flow_identities(unit, populations, values)
        linked.identities += part.identities
        linked.bounds += part.bounds
        keys = by_unit[unit]
        groups: dict[tuple, list[CellKey]] = defaultdict(list)
        for key in keys:
            if key.table == BASELINE and ": " in key.row:
                characteristic = key.row.split(": ", 1)[0]
                groups[(BASELINE, key.population, characteristic, key.column)].append(key)
            elif key.table == UPTAKE and key.row != ANSWERED:
                groups[(UPTAKE, key.population, key.column)].append(key)
            elif key.table == STAMP:
                parts = tuple(CellKey(unit, FLOW, _population(key.population), EXCLUDED, arm) for arm in ARMS)
                linked.identities.append(Identity(key, parts))
        for group, parts in groups.items():
            if group[0] == BASELINE:
                _, pop, characteristic, arm = group
                linked.identities.append(Identity(CellKey(unit, FLOW, pop, INCLUDED, arm), tuple(sorted(parts))))
            else:
                _, pop, arm = group
                answered = CellKey(unit, UPTAKE, pop, ANSWERED, arm)
                linked.identities.append(Identity(answered, tuple(sorted(parts))))
                # one follow-up row per participant: those who answered are those with a follow-up measure
                linked.identities.append(Identity(answered, (CellKey(unit, FLOW, pop, WITH_FOLLOWUP, arm),)))
        compliance = _compliance_identities(unit, keys)
        linked.identities += compliance.identities
        linked.bounds += compliance.bounds
        quality = _quality_identities(unit, keys)
        linked.identities += quality.identities
        linked.bounds += quality.bounds
        for key in keys:
            if key.table == BASELINE and ": " not in key.row:  # n with a baseline score
                linked.bounds.append((key, CellKey(unit, FLOW, key.population, WITH_BASELINE, key.column)))
                # ... the data quality table's with a score at baseline, summed over the unit's LAs
                score = key.row.removeprefix("baseline ")
                parts = tuple(
                    CellKey(unit, COMPLETENESS, key.population, f"{score} baseline {la}", f"{key.column} with score")
                    for la in (study.settings.local_authorities if unit == ALL else (unit,))
                )
                if all(p in values for p in parts):
                    linked.identities.append(Identity(key, parts))
    for key in by_unit[ALL]:
        if key.table in HIERARCHICAL_TABLES:
            parts = tuple(CellKey(la, *_rest(key)) for la in study.settings.local_authorities)
            if all(p in values for p in parts):
                linked.identities.append(Identity(key, parts))
    linked.add_complements(study.settings.sdc_threshold)
    broken = linked.check()
    if broken:
        raise AssertionError(f"{len(broken)} identities do not hold, e.g. {broken[0].total.label}")
    return linked


def _rest(key: CellKey) -> tuple[str, str, str, str]:
    return key.table, key.population, key.row, key.column


def _population(participant_type: str) -> str:
    return BY_TYPE[participant_type].population


def _compliance_identities(unit: str, keys: list[CellKey]) -> LinkedSet:
    """Compliance counts (§7.4): per outcome, rule and arm, those whose team used Kitbags plus
    those whose team did not are the outcome's analysed (the effectiveness n); a stricter rule
    never has more users (θ ordered), so a reader also knows those orderings."""
    present = {k for k in keys if k.table == COMPLIANCE}
    found: list[Identity] = []
    bounds: list[tuple[CellKey, CellKey]] = []
    outcomes = {(k.population, k.row.split(" theta ")[0]) for k in present}
    for pop, outcome in sorted(outcomes):
        for arm in ARMS:

            def k(theta: float, what: str, pop: str = pop, outcome: str = outcome, arm: str = arm) -> CellKey:
                return CellKey(unit, COMPLIANCE, pop, compliance_row(outcome, theta), f"{arm} {what}")

            analysed = CellKey(unit, EFFECTIVENESS, pop, outcome, arm)
            found += [Identity(analysed, (k(t, USED), k(t, NOT_USED))) for t in THETAS]
            for looser, stricter in zip(THETAS, THETAS[1:], strict=False):
                bounds.append((k(stricter, USED), k(looser, USED)))
                bounds.append((k(looser, NOT_USED), k(stricter, NOT_USED)))
    return LinkedSet(identities=found, bounds=bounds)


def _quality_identities(unit: str, keys: list[CellKey]) -> LinkedSet:
    """Completeness rows per LA and arm: participants equal the LA unit's flow 'included', those
    with a score are at most the participants; the attrition totals are sums over LAs of those
    with a score."""
    found: list[Identity] = []
    bounds: list[tuple[CellKey, CellKey]] = []
    attrition: dict[tuple, list[CellKey]] = defaultdict(list)
    for key in keys:
        if key.table != COMPLETENESS:
            continue
        score, wave, la = key.row.split(" ")
        arm, what = key.column.split(" ", 1)
        if what == "participants":
            found.append(Identity(CellKey(la, FLOW, key.population, INCLUDED, arm), (key,)))
        else:
            attrition[(key.population, score, arm, wave)].append(key)
            bounds.append((key, CellKey(key.unit, key.table, key.population, key.row, f"{arm} participants")))
    for (pop, score, arm, wave), parts in attrition.items():
        found.append(Identity(CellKey(unit, ATTRITION, pop, score, f"{arm} {wave}"), tuple(sorted(parts))))
    return LinkedSet(identities=found, bounds=bounds)


__all__ = ["Identity", "LinkedSet", "key_from_json", "key_json", "linked_set"]
