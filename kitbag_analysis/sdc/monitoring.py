"""The interim monitoring bundle as published (analysis-plan.md §8 under §6 and §6.1).

Every monitoring count is a `Cell` of the linked table set of the (cut) study, exactly as the
report tables are: for each criterion and quarter the people with the event, those without and
their total (total = with + without), recruitment per arm and its total (total = kitbag +
control = included + excluded), the baseline-completeness total equal to the included children,
the follow-up-completeness total at most them, and the pooled unit the sum of the local
authorities. A share, its Wilson interval and its rating are shown only where every count they
rest on is shown (`rules.Publisher.derived`); a criterion whose denominator is below the
threshold reads "not rated".
"""

from __future__ import annotations

from collections import defaultdict

from kitbag_analysis.analysis import names
from kitbag_analysis.analysis.monitoring import CRITERIA, NOT_RATED, POPULATION, Rated, UnitMonitoring
from kitbag_analysis.analysis.names import (
    ARMS,
    MONITORING_CRITERIA,
    MONITORING_QUARTERS,
    MONITORING_RECRUITMENT,
    MONITORING_TABLES,
)
from kitbag_analysis.sdc.cells import SUPPRESSED, Cell, CellKey, Release, Shown, Table, TableCell
from kitbag_analysis.sdc.linked import Identity, LinkedSet
from kitbag_analysis.sdc.policy import policy_json
from kitbag_analysis.sdc.rules import Protection, Publisher
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import ALL, unit_name

YES, NO, TOTAL = "with", "without", "total"  # columns of a share's counts
ENROLLED, EXCLUDED, INCLUDED = "enrolled", "excluded", "included"
CRITERION_LABELS = {
    "uptake_practitioners": "Uptake: practitioners in the Kitbags arm using them (sometimes or often)",
    "uptake_carers": "Uptake: carers in the Kitbags arm using them (sometimes or often)",
    "contamination": "Contamination: control practitioners and carers using Kitbags",
    "baseline_completeness": "Baseline completeness: included children with a baseline measure",
    "followup_completeness": "Follow-up completeness: children whose follow-up window has closed, with a follow-up "
    "measure",
    "recruitment": "Recruitment: children enrolled, share of the target",
}
SHORT_LABELS = {
    "uptake_practitioners": "Uptake (practitioners)",
    "uptake_carers": "Uptake (carers)",
    "contamination": "Contamination",
    "baseline_completeness": "Baseline completeness",
    "followup_completeness": "Follow-up completeness",
    "recruitment": "Recruitment",
}
RATING_WORDS = {"green": "green", "amber": "amber", "red": "red", NOT_RATED: "not rated"}
SHARE_CRITERIA = tuple(c for c in CRITERIA if c != "recruitment")


def _share(pub: Publisher, key: CellKey, rated: Rated, on: list[Cell]) -> Shown:
    """A share in percent with its 95% Wilson interval: shown only where its counts are."""
    hidden = any(c.suppressed for c in on)

    def at(column: str, measure: str, value: float | None) -> Cell:
        k = CellKey(key.unit, key.table, key.population, key.row, column)
        return Cell(k, measure, None if value is None else 100 * value, hidden and value is not None)

    parts = (
        at(key.column, "share", rated.value),
        at(f"{key.column} ci_low", "share_ci_low", rated.ci_low),
        at(f"{key.column} ci_high", "share_ci_high", rated.ci_high),
    )
    return Shown(parts, "{0}% ({1} to {2})")


def rating_shown(rated: Rated, on: list[Cell | Shown]) -> str:
    """The rating as the page shows it: "not rated", [c] where its counts are suppressed."""
    if rated.rating == NOT_RATED:
        return RATING_WORDS[NOT_RATED]
    return SUPPRESSED if any(c.suppressed for c in on) else RATING_WORDS[rated.rating]


def _thresholds(study: Study, name: str) -> str:
    c = study.settings.progression.criteria[name]
    sign = "≤" if c.lower_is_better else "≥"
    return f"green {sign} {c.green:.0%}, amber {sign} {c.amber:.0%}"


def recruitment_table(study: Study, m: UnitMonitoring, pub: Publisher) -> Table:
    """Children enrolled by the cut per arm (excluded included, as the flow counts), the excluded
    and included, and the share of the target with its rating where a target is given."""
    pop = POPULATION["recruitment"]
    arms = {arm: pub.people(pub.key(MONITORING_RECRUITMENT, pop, ENROLLED, arm), m.enrolled[arm]) for arm in ARMS}
    total = pub.people(pub.key(MONITORING_RECRUITMENT, pop, ENROLLED, TOTAL), sum(m.enrolled.values()))
    excluded = pub.people(pub.key(MONITORING_RECRUITMENT, pop, EXCLUDED, TOTAL), m.excluded)
    included = pub.people(pub.key(MONITORING_RECRUITMENT, pop, INCLUDED, TOTAL), m.included)
    rows: list[tuple[TableCell, ...]] = [
        ("Children enrolled", arms["kitbag"], arms["control"], total, "", ""),
        ("Excluded (withdrew, objected or restricted)", "", "", excluded, "", ""),
        ("Included", "", "", included, "", ""),
    ]
    rated = m.criteria.get("recruitment")
    if m.target is not None and rated is not None:
        key = pub.key(MONITORING_RECRUITMENT, pop, ENROLLED, "% of target")
        share = pub.derived(key, "percent", 100 * rated.value, [total], of_counts=True)
        rows.append(
            (
                f"Target: {m.target:,} children",
                "",
                "",
                Shown((share,), "{0}% of target"),
                rating_shown(rated, [share]),
                _thresholds(study, "recruitment"),
            )
        )
    return Table(
        MONITORING_RECRUITMENT,
        "Recruitment by the data cut",
        ("Children", "Kitbags", "Control", "Total", "Rating", "Criterion"),
        tuple(rows),
        note="Enrolled counts every child enrolled by the cut date, excluded children included (as the "
        "participant flow counts them).",
        label_columns=1,
    )


def criteria_table(study: Study, m: UnitMonitoring, pub: Publisher) -> Table:
    """Each share criterion: with, without, total, the share (95% Wilson CI) and the rating."""
    rows = []
    for name in SHARE_CRITERIA:
        rated, pop = m.criteria[name], POPULATION[name]

        def cell(column: str, n: int, name: str = name, pop: str = pop) -> Cell:
            return pub.people(pub.key(MONITORING_CRITERIA, pop, name, column), n)

        counts = [
            cell(YES, rated.numerator),
            cell(NO, rated.denominator - rated.numerator),
            cell(TOTAL, rated.denominator),
        ]
        share = _share(pub, pub.key(MONITORING_CRITERIA, pop, name, "%"), rated, counts)
        rows.append((CRITERION_LABELS[name], *counts, share, rating_shown(rated, counts), _thresholds(study, name)))
    return Table(
        MONITORING_CRITERIA,
        "Progression criteria",
        ("Criterion", "With", "Without", "Total", "% (95% Wilson CI)", "Rating", "Criterion thresholds"),
        tuple(rows),
        note=f"A criterion with fewer than {pub.threshold} people in its total is not rated. Uptake counts "
        "each participant's latest answer by the cut (not those not asked).",
        label_columns=1,
    )


def quarters_table(m: UnitMonitoring, pub: Publisher) -> Table:
    """Uptake by calendar quarter of the answer and arm (practitioners and carers together)."""
    pop = POPULATION["contamination"]
    rows = []
    by = m.quarters.set_index(["quarter", "arm"])
    for quarter in dict.fromkeys(m.quarters["quarter"]):
        cells: list[TableCell] = [quarter]
        for arm in ARMS:
            num, den = (int(by.loc[(quarter, arm), c]) for c in ("numerator", "denominator"))

            def cell(what: str, n: int, quarter: str = quarter, arm: str = arm) -> Cell:
                return pub.people(pub.key(MONITORING_QUARTERS, pop, quarter, f"{arm} {what}"), n)

            counts = [cell(YES, num), cell(NO, den - num), cell(TOTAL, den)]
            share = pub.derived(
                pub.key(MONITORING_QUARTERS, pop, quarter, f"{arm} %"),
                "percent",
                100 * num / den if den else None,
                counts,
                of_counts=True,
            )
            cells += [*counts, share]
        rows.append(tuple(cells))
    return Table(
        MONITORING_QUARTERS,
        "Uptake by calendar quarter of the answer",
        (
            "Quarter",
            "Kitbags using",
            "Kitbags not using",
            "Kitbags answered",
            "Kitbags %",
            "Control using",
            "Control not using",
            "Control answered",
            "Control %",
        ),
        tuple(rows),
        note="Practitioners and carers answering in the quarter (not those not asked): those using Kitbags "
        "sometimes or often.",
        label_columns=1,
    )


def monitoring_release(study: Study, m: UnitMonitoring, pattern: frozenset[CellKey] | Protection) -> Release:
    """Every table a unit's monitoring page shows, disclosure-controlled."""
    pub = Publisher(m.unit, study.settings.sdc_threshold, pattern, study.settings.disclosure)
    release = Release(m.unit, unit_name(study, m.unit), study.settings.sdc_threshold)
    release.disclosure = policy_json(study.settings.disclosure, study.settings.sdc_threshold)
    release.tables = {
        MONITORING_RECRUITMENT: recruitment_table(study, m, pub),
        MONITORING_CRITERIA: criteria_table(study, m, pub),
        MONITORING_QUARTERS: quarters_table(m, pub),
    }
    return release


def ratings(release: Release, m: UnitMonitoring) -> list[list[str]]:
    """[criterion, share as shown, rating as shown] for the index's ratings table."""
    out = []
    criteria = release.tables[MONITORING_CRITERIA]
    for name, row in zip(SHARE_CRITERIA, criteria.rows, strict=True):
        out.append([SHORT_LABELS[name], row[4].text, row[5]])
    recruitment = release.tables[MONITORING_RECRUITMENT]
    if len(recruitment.rows) > 3:
        row = recruitment.rows[3]
        out.append([SHORT_LABELS["recruitment"], row[3].text, row[4]])
    else:
        out.append([SHORT_LABELS["recruitment"], "no target", RATING_WORDS[NOT_RATED]])
    return out


def monitoring_linked_set(study: Study, monitorings: dict[str, UnitMonitoring]) -> LinkedSet:
    """Every monitoring count of every unit with the identities and orderings among them."""
    releases = {u: monitoring_release(study, m, frozenset()) for u, m in monitorings.items()}
    values = {
        c.key: int(c.value) for r in releases.values() for c in r.cells() if c.measure == "n" and c.value is not None
    }
    linked = LinkedSet(values=values, policy=study.settings.disclosure)
    groups: dict[tuple, dict[str, CellKey]] = defaultdict(dict)
    for key in values:
        if key.table == MONITORING_RECRUITMENT:
            continue
        column = key.column.rsplit(" ", 1)
        arm = column[0] if len(column) == 2 else ""
        groups[(key.unit, key.table, key.population, key.row, arm)][column[-1]] = key
    for parts in groups.values():
        linked.identities.append(Identity(parts[TOTAL], (parts[YES], parts[NO])))
    pop = POPULATION["recruitment"]
    for unit in monitorings:

        def r(row: str, column: str, unit: str = unit) -> CellKey:
            return CellKey(unit, MONITORING_RECRUITMENT, pop, row, column)

        linked.identities.append(Identity(r(ENROLLED, TOTAL), tuple(r(ENROLLED, arm) for arm in ARMS)))
        linked.identities.append(Identity(r(ENROLLED, TOTAL), (r(INCLUDED, TOTAL), r(EXCLUDED, TOTAL))))
        base = CellKey(unit, MONITORING_CRITERIA, POPULATION["baseline_completeness"], "baseline_completeness", TOTAL)
        linked.identities.append(Identity(r(INCLUDED, TOTAL), (base,)))
        follow = CellKey(unit, MONITORING_CRITERIA, POPULATION["followup_completeness"], "followup_completeness", TOTAL)
        linked.bounds.append((follow, r(INCLUDED, TOTAL)))
    las = [u for u in monitorings if u != ALL]
    for key in [k for k in values if k.unit == ALL and k.table in MONITORING_TABLES]:
        parts = tuple(CellKey(la, key.table, key.population, key.row, key.column) for la in las)
        if all(p in values for p in parts):
            linked.identities.append(Identity(key, parts))
    broken = linked.check()
    if broken:
        raise AssertionError(f"{len(broken)} monitoring identities do not hold, e.g. {broken[0].total.label}")
    return linked


FLOW_ROWS = {ENROLLED: names.ENROLLED, EXCLUDED: names.EXCLUDED, INCLUDED: names.INCLUDED}


def report_equivalents(key: CellKey) -> tuple[CellKey, ...] | None:
    """The report counts (participant flow) whose sum a monitoring count equals by definition: the
    same people counted at another time, so a reader compares them across releases like one count
    (`sdc.history`). None for a count with no such twin."""
    arms = ARMS
    if key.table == MONITORING_RECRUITMENT and key.row in FLOW_ROWS:
        return tuple(
            CellKey(key.unit, names.FLOW, key.population, FLOW_ROWS[key.row], arm)
            for arm in (arms if key.column == TOTAL else (key.column,))
        )
    if key.table == MONITORING_CRITERIA and key.row == "baseline_completeness" and key.column in (TOTAL, YES):
        row = names.INCLUDED if key.column == TOTAL else names.WITH_BASELINE
        return tuple(CellKey(key.unit, names.FLOW, key.population, row, arm) for arm in arms)
    return None


__all__ = [
    "report_equivalents",
    "CRITERION_LABELS",
    "SHORT_LABELS",
    "monitoring_linked_set",
    "monitoring_release",
    "ratings",
]
