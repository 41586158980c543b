"""The disclosure policy of analysis-plan.md §6.2, applied: which counts are primary cells and
which are the trial-process counts published exactly.

The policy is study.toml's `[disclosure]` table (`data_contracts.settings.Disclosure`):

- ``zeros = "safe"``: a zero counts no one, so it is not a primary cell (and a shown total minus a
  shown part equal to 0 is shown); ``"disclosive"`` makes every zero primary (ACRO's
  ``zeros_are_disclosive``);
- ``flow = "exact"``: the *trial-process counts* (`trial_process`) are published exactly in every
  unit and release, and are known constants for the protection of every other count;
  ``"protected"`` treats them as any other count.

Everything that decides a cell (the linked set, the pattern, the audit of a bundle, the ledger's
rules over time, the publisher) reads these functions, so the rule exists once.
"""

from __future__ import annotations

from collections.abc import Iterable

from data_contracts.settings import Disclosure
from kitbag_analysis.analysis.names import (
    ANSWERED,
    ARMS,
    ATTRITION,
    BASELINE,
    COMPLETENESS,
    EFFECTIVENESS,
    EXCLUDED_TABLE,
    FLOW,
    MONITORING_CRITERIA,
    MONITORING_RECRUITMENT,
    STAMP,
    UPTAKE,
)
from kitbag_analysis.sdc.cells import COMPLEMENT, CellKey

STRICT = Disclosure(zeros="disclosive", flow="protected")  # the policy before §6.2: every zero, every count
# Tables whose every count is a trial-process count: the participant flow (§5.1), the n excluded
# (and the audit stamp's), the data quality table's participants and those with a score per wave,
# attrition (§7.3), and the monitoring recruitment counts (§8) that equal the flow's.
PROCESS_TABLES = frozenset({FLOW, EXCLUDED_TABLE, STAMP, COMPLETENESS, ATTRITION, MONITORING_RECRUITMENT})
# Rows of other tables that equal a flow count by definition: the monitoring completeness criteria
# (included children with a baseline measure; follow-up among those whose window closed).
PROCESS_ROWS = {MONITORING_CRITERIA: frozenset({"baseline_completeness", "followup_completeness"})}


BASELINE_SCORE_ROW = "baseline "  # the baseline table's rows of a scale score (`analysis.tables`)


def trial_process(key: CellKey) -> bool:
    """A count that says how the trial ran and how complete its data are, naming no characteristic
    of anyone (analysis-plan.md §6.2): the flow and the counts that refine or equal its stages —
    the effectiveness table's analysed n per arm, uptake's "answered" (those with a follow-up
    measure), the baseline table's n with a baseline score (the data quality table's), the
    monitoring recruitment and completeness counts."""
    if key.table in PROCESS_TABLES:
        return True
    if key.table == EFFECTIVENESS:
        return key.column in ARMS
    if key.table == UPTAKE:
        return key.row == ANSWERED
    if key.table == BASELINE:  # those with a baseline score: the data quality table's, per arm
        return key.row.startswith(BASELINE_SCORE_ROW) and ": " not in key.row and key.column in ARMS
    return key.row in PROCESS_ROWS.get(key.table, ())


def exact(policy: Disclosure, key: CellKey) -> bool:
    """Whether ``key`` is published exactly under ``policy`` (flow exact and a trial-process count;
    a complement of two such counts is one too: included minus those with a baseline measure)."""
    if not policy.flow_exact:
        return False
    if key.table == COMPLEMENT:
        return False  # (complements of two exact counts are never made: `LinkedSet.add_complements`)
    return trial_process(key)


def exact_keys(policy: Disclosure, keys: Iterable[CellKey]) -> frozenset[CellKey]:
    return frozenset(k for k in keys if exact(policy, k))


def counts_someone(policy: Disclosure, value: float) -> bool:
    """Whether a count of ``value`` people can identify someone: 1 to threshold − 1, and 0 too when
    zeros are disclosive."""
    return value > 0 or not policy.zeros_safe


def primary(policy: Disclosure, key: CellKey, value: float, threshold: int) -> bool:
    """A primary cell: a count below the threshold that is not published exactly (a zero only
    where zeros are disclosive)."""
    return value < threshold and counts_someone(policy, value) and not exact(policy, key)


def share_reveals_small(policy: Disclosure, events: float, n: float, threshold: int) -> bool:
    """A share of people reveals both the number with and the number without the event: disclosive
    where either is below the threshold (a zero only where zeros are disclosive)."""
    smaller = min(events, n - events)
    return smaller < threshold and counts_someone(policy, smaller)


def policy_json(policy: Disclosure, threshold: int) -> dict[str, object]:
    """The policy as summary.json, release.json and the ledger write it (with the tool's version)."""
    from kitbag_analysis import __version__

    return {"threshold": threshold, **policy.to_json(), "tool_version": __version__}


def policy_from_json(data: dict | None) -> Disclosure:
    """The policy a release.json or ledger entry records (before §6.2 none: the strict policy)."""
    if not data:
        return STRICT
    merge = tuple((name, tuple(group)) for name, groups in (data.get("merge") or {}).items() for group in groups)
    return Disclosure(
        zeros=data.get("zeros", STRICT.zeros),
        flow=data.get("flow", STRICT.flow),
        merge=merge,
        time_limit_seconds=int(data.get("time_limit_seconds", Disclosure.time_limit_seconds)),
    )


def describe(policy: Disclosure, threshold: int) -> list[str]:
    """The policy in words, for the methods section and the output checker's page."""
    zeros = (
        "a zero counts no one: it is shown, and so is a shown total minus a shown part equal to 0"
        if policy.zeros_safe
        else "every zero is suppressed like a small count (ACRO's zeros_are_disclosive)"
    )
    flow = (
        "the trial-process counts (the participant flow per population, stage and arm; the numbers excluded; "
        "the data quality table's participants and those with a score; attrition; the monitoring recruitment "
        "and completeness counts) are published exactly, in every unit and release, and every other count is "
        "protected against them as known constants"
        if policy.flow_exact
        else f"the trial-process counts are protected like any other count (below {threshold}: suppressed)"
    )
    merged = "; ".join(f"{name}: {' + '.join(members)} shown as one category" for name, members in policy.merge)
    return [
        f"zeros = \"{policy.zeros}\": {zeros}",
        f"flow = \"{policy.flow}\": {flow}",
        f"merge: {merged} (global recoding, in every unit alike)" if merged else "merge: no category is merged",
        f"the suppression programme runs for at most {policy.time_limit_seconds} s, then a heuristic pattern "
        "proven by the same audit is used",
    ]


__all__ = [
    "STRICT",
    "counts_someone",
    "describe",
    "exact",
    "exact_keys",
    "policy_from_json",
    "policy_json",
    "primary",
    "share_reveals_small",
    "trial_process",
]
