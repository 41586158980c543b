"""The What-Works tables of analysis-plan.md §7, disclosure-controlled by `sdc.rules`.

Every number here is either a model's (shown only when the outcome's §4 model is publishable,
and the sub-model has at least ``MIN_RESIDUAL_DF`` residual degrees of freedom) or built on
counts of people (shown only where every count it rests on is shown). The compliance counts are
new counts of people, so they are `Cell`s of the linked table set (`linked` adds their
identities: used + did not use = analysed), suppressed with everything else; a CACE is built on
its four compliance counts, so it is shown only where all four are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pandas as pd

from kitbag_analysis.analysis.labels import outcome_label, population_label, subgroup_level_label
from kitbag_analysis.analysis.names import (
    ARMS,
    COMPLIANCE,
    EFFECTIVENESS,
    ENROLLED,
    FLOW,
    INCLUDED,
    MISSING_DATA,
    SUBGROUPS_TABLE,
    WHATWORKS,
)
from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME, SUBGROUPS
from kitbag_analysis.analysis.results import OutcomeResult
from kitbag_analysis.analysis.whatworks.compliance import MAIN_THETA, MIN_COMPLIANCE_DIFFERENCE, theta_key
from kitbag_analysis.analysis.whatworks.missing_data import MISSING_SHARE_LIMIT
from kitbag_analysis.analysis.whatworks.subgroups import LevelEffect
from kitbag_analysis.sdc.cells import Cell, CellKey, Shown, Table, TableCell, interval
from kitbag_analysis.sdc.rules import NOT_ENOUGH_DF, Publisher, df_shown, subgroup_least

USED, NOT_USED = "used", "did not use"


def compliance_row(outcome: str, theta: float) -> str:
    """The row name of a compliance count in the linked table set."""
    return f"{outcome} theta {theta_key(theta)}"


def _flow(pub: Publisher, cells: dict[CellKey, Cell], population: str, stage: str) -> list[Cell]:
    return [cells[k] for arm in ARMS if (k := pub.key(FLOW, population, stage, arm)) in cells]


def _analysed(pub: Publisher, cells: dict[CellKey, Cell], r: OutcomeResult) -> list[Cell]:
    return [cells[k] for arm in ARMS if (k := pub.key(EFFECTIVENESS, r.population, r.outcome, arm)) in cells]


def _continuous_rows(
    results: Iterable[OutcomeResult], rows: list[tuple], width: int, pub: Publisher
) -> Iterator[tuple[OutcomeResult, tuple[str, str]]]:
    """The continuous outcomes whose model is shown, with their row labels; the others get a
    row saying why (``width`` cells after the labels) in ``rows``."""
    for r in results:
        if r.kind != "continuous":
            continue
        head = (outcome_label(r.outcome), population_label(r.population))
        if pub.not_shown_reason(r):
            rows.append((*head, pub.not_shown_reason(r), *[""] * (width - 1)))
            continue
        yield r, head


def whatworks_table(results: Iterable[OutcomeResult], pub: Publisher, published: dict[CellKey, Cell]) -> Table:
    """§7.1–7.3 per continuous outcome: g on the total variance, the unconditional ICC, the MDES
    at randomisation and at analysis, attrition per arm, its difference and the teams lost."""
    rows: list[tuple] = []
    for r, head in _continuous_rows(results, rows, width=8, pub=pub):
        w = r.what_works

        def key(column: str, r: OutcomeResult = r) -> CellKey:
            return pub.key(WHATWORKS, r.population, r.outcome, column)

        enrolled = _flow(pub, published, r.population, ENROLLED)
        analysed = _analysed(pub, published, r)
        g = w.g_total
        rate = {
            arm: pub.derived(
                key(f"attrition {arm}"),
                "percent",
                100 * getattr(w.attrition, arm),
                [c for c in enrolled + analysed if c.key.column == arm],
                of_counts=True,
            )
            for arm in ARMS
        }
        difference = 100 * w.attrition.difference
        rows.append(
            (
                *head,
                interval(key("g total"), "g_total", g.value, g.ci_low, g.ci_high),
                Cell(key("icc unconditional"), "icc_unconditional", w.icc_unconditional),
                pub.derived(key("mdes randomisation"), "mdes", w.mdes.randomisation, enrolled),
                pub.derived(key("mdes analysis"), "mdes", w.mdes.analysis, analysed),
                rate["kitbag"],
                rate["control"],
                pub.derived(key("attrition difference"), "percent", difference, enrolled + analysed, of_counts=True),
                Cell(key("teams with no one analysed"), "percent", 100 * w.attrition.teams),  # teams, not people
            )
        )
    return Table(
        WHATWORKS,
        "Effect size on the total variance, minimum detectable effect size and attrition",
        (
            "Outcome",
            "Population",
            "Hedges' g, total variance (95% CI)",
            "ICC without covariates",
            "MDES at randomisation",
            "MDES at analysis",
            "Kitbags attrition %",
            "Control attrition %",
            "Attrition difference (points)",
            "Teams with no one analysed %",
        ),
        tuple(rows),
        note="g on the total variance divides the adjusted difference by the team plus residual SD of a model "
        "without covariates. MDES: the smallest effect (in SDs) detectable with 80% power at the two-sided 5% "
        "level. Attrition: share of those enrolled (excluded participants included) who were not analysed.",
    )


def compliance_table(results: Iterable[OutcomeResult], counts: pd.DataFrame, pub: Publisher) -> Table:
    """§7.4: per continuous outcome and rule θ, the analysed whose team used Kitbags (and did
    not) per arm, the share who did and the CACE."""
    by_outcome = {r.outcome: r for r in results}
    rows = []
    for (outcome, theta), part in counts.groupby(["outcome", "theta"], sort=False):
        r = by_outcome.get(outcome)
        if r is None:
            continue
        at = part.set_index("arm")
        rule = f"at least {theta:.0%} of practitioners{' (main rule)' if theta == MAIN_THETA else ''}"
        row: list[TableCell] = [outcome_label(outcome), population_label(r.population), rule]
        basis: list[Cell] = []
        for arm in ARMS:
            name = compliance_row(outcome, theta)
            used = pub.people(pub.key(COMPLIANCE, r.population, name, f"{arm} {USED}"), at.loc[arm, "used"])
            unused = pub.people(pub.key(COMPLIANCE, r.population, name, f"{arm} {NOT_USED}"), at.loc[arm, "not_used"])
            total = at.loc[arm, "used"] + at.loc[arm, "not_used"]
            share = 100 * at.loc[arm, "used"] / total if total else None
            pct_key = pub.key(COMPLIANCE, r.population, name, f"{arm} % used")
            pct = pub.derived(pct_key, "percent", share, [used, unused], of_counts=True)
            row += [used, unused, pct]
            basis += [used, unused]
        row.append(_cace_text(r, theta, basis, pub))
        rows.append(tuple(row))
    return Table(
        COMPLIANCE,
        "Compliance and the complier average causal effect (CACE)",
        (
            "Outcome",
            "Population",
            "A team used Kitbags when",
            "Kitbags: team used",
            "Kitbags: team did not",
            "Kitbags: % used",
            "Control: team used",
            "Control: team did not",
            "Control: % used",
            "CACE (95% CI)",
        ),
        tuple(rows),
        note="Analysed participants by whether their team used Kitbags: at least the given share of its "
        "practitioners who answered at follow-up said they used them sometimes or often. CACE = the adjusted "
        "difference divided by the difference in the share who used Kitbags (Kitbags − control), shown when that "
        f"difference is at least {float(MIN_COMPLIANCE_DIFFERENCE):g}. The CACE is built on the four counts of "
        "its row: shown only where they are.",
        label_columns=3,
    )


def _cace_text(r: OutcomeResult, theta: float, basis: list[Cell], pub: Publisher) -> TableCell:
    if pub.not_shown_reason(r):
        return pub.not_shown_reason(r)
    c = r.what_works.cace[theta_key(theta)]
    key = pub.key(COMPLIANCE, r.population, compliance_row(r.outcome, theta), "CACE")
    # whether a CACE exists depends on the counts too: both the value and its absence are built on them
    if any(b.suppressed for b in basis):
        return Cell(key, "cace", c.value, suppressed=True)
    if c.status != "ok":
        return f"not estimable: {c.reason}"
    return interval(key, "cace", c.value, c.ci_low, c.ci_high)


def missing_data_table(results: Iterable[OutcomeResult], pub: Publisher, published: dict[CellKey, Cell]) -> Table:
    """§7.5: the share missing, the missingness model's odds ratios and MI against complete case."""
    rows: list[tuple] = []
    for r, head in _continuous_rows(results, rows, width=6, pub=pub):
        md = r.what_works.missing_data
        basis = _flow(pub, published, r.population, INCLUDED) + _analysed(pub, published, r)

        def key(column: str, r: OutcomeResult = r) -> CellKey:
            return pub.key(MISSING_DATA, r.population, r.outcome, column)

        share = pub.derived(key("missing %"), "percent", 100 * md.missing_share, basis, of_counts=True)
        complete_case = interval(key("complete case"), "estimate", r.estimate, r.ci_low, r.ci_high)
        if not md.analysed:
            limit = f"{MISSING_SHARE_LIMIT:.0%}"
            rows.append((*head, share, f"not needed ({limit} or less missing)", "", complete_case, "", ""))
            continue
        odds: list[TableCell] = ["", ""]
        if md.missingness_model is None:
            odds = [md.missingness_reason or "not estimable", ""]
        elif not df_shown(md.missingness_df_resid or 0):
            odds = [f"not shown: {NOT_ENOUGH_DF}", ""]
        else:
            odds = [_odds(key(f"odds of missing {term}"), md.missingness_model[term]) for term in ("arm", "baseline")]
        mi = md.mi
        rows.append(
            (
                *head,
                share,
                *odds,
                complete_case,
                interval(key("multiple imputation"), "mi_estimate", mi.estimate, mi.ci_low, mi.ci_high),
                Shown((Cell(key("mi df"), "mi_df", mi.df),), "{0} (m = " + str(mi.m) + ")"),
            )
        )
    return Table(
        MISSING_DATA,
        "Missing data: who was missing at follow-up, and multiple imputation",
        (
            "Outcome",
            "Population",
            "Follow-up missing %",
            "Odds of missing: Kitbags vs control (95% CI)",
            "Odds of missing per baseline point (95% CI)",
            "Complete case: difference (95% CI)",
            "Multiple imputation: difference (95% CI)",
            "MI degrees of freedom",
        ),
        tuple(rows),
        note="Missing % = share of included participants not analysed. Where it exceeds "
        f"{MISSING_SHARE_LIMIT:.0%}: a logistic model of "
        "missing follow-up on arm and baseline score (bias-reduced team-clustered SEs), and the primary model "
        "refitted on imputed data sets, pooled by Rubin's rules.",
    )


def _odds(key: CellKey, o) -> Shown:  # noqa: ANN001 - a missingness-model term
    """An odds ratio with its CI and p-value."""
    ratio = interval(key, "missingness_odds_ratio", o.odds_ratio, o.ci_low, o.ci_high)
    p = Cell(CellKey(key.unit, key.table, key.population, key.row, f"{key.column} p"), "p", o.p_value)
    return Shown((*ratio.parts, p), "{0} ({1} to {2}), p {3}")


def subgroup_table(results: Iterable[OutcomeResult], pub: Publisher) -> Table:
    """§7.6: the effect of Kitbags within each level of each pre-specified subgroup, and the
    interaction (difference between the levels' effects) with its p-value.

    A level is shown only with at least max(10, threshold) analysed in each arm, and the
    interaction only where both levels are shown: the first level's effect is the second's plus
    the interaction, so a hidden level (one child, say) would otherwise be their sum."""
    least = subgroup_least(pub.threshold)
    rows = []
    for r in results:
        if not OUTCOME_BY_NAME[r.outcome].subgroups:
            continue
        if pub.not_shown_reason(r):
            rows.append((outcome_label(r.outcome), "", "", pub.not_shown_reason(r), "", ""))
            continue
        for name, g in r.what_works.subgroups.items():
            subgroup = SUBGROUPS[name]
            model_shown = df_shown(g.df_resid or 0)

            def key(row: str, column: str, r: OutcomeResult = r) -> CellKey:
                return pub.key(SUBGROUPS_TABLE, r.population, f"{r.outcome} {row}", column)

            texts = {
                level: _level_text(key(f"{name} {level}", "effect"), effect, least, model_shown)
                for level, effect in g.levels.items()
            }
            both = all(t[1] for t in texts.values())
            for i, (level, (text, _)) in enumerate(texts.items()):
                interaction: TableCell = ""
                p: TableCell = ""
                if i == 0:
                    if g.estimate is None:
                        interaction = f"not estimable: {g.reason}"
                    elif not model_shown:
                        interaction = f"not shown: {NOT_ENOUGH_DF}"
                    elif not both:
                        interaction = "not shown: a level is not shown"
                    else:
                        estimate = Cell(key(name, "interaction"), "interaction", g.estimate)
                        se = Cell(key(name, "interaction SE"), "interaction_se", g.se)
                        interaction = Shown((estimate, se), "{0} (SE {1})")
                        p = Cell(key(name, "interaction p"), "p", g.p_value)
                label = subgroup_level_label(subgroup.column, level)
                rows.append((outcome_label(r.outcome), subgroup.label, label, text, interaction, p))
    return Table(
        SUBGROUPS_TABLE,
        "Pre-specified subgroups",
        ("Outcome", "Subgroup", "Level", "Effect of Kitbags (95% CI)", "Interaction (SE)", "p (interaction)"),
        tuple(rows),
        note="Effect = adjusted difference within the level, from one model with the subgroup and its interaction "
        f"with arm. The interaction is the difference between the two levels' effects. A level with fewer than "
        f"{least} analysed in an arm is not shown, nor then the interaction (the level's effect is the other "
        "level's plus the interaction).",
        label_columns=3,
    )


def _level_text(key: CellKey, effect: LevelEffect, least: int, model_shown: bool) -> tuple[TableCell, bool]:
    """A level's effect as the page shows it, and whether it is shown."""
    if not model_shown:
        return f"not shown: {NOT_ENOUGH_DF}", False
    if min(effect.n.values()) < least:
        return f"not shown: fewer than {least} analysed in an arm", False
    if effect.status != "ok":
        return f"not estimable: {effect.reason}", False
    return interval(key, "subgroup_effect", effect.estimate, effect.ci_low, effect.ci_high), True


__all__ = ["compliance_row", "compliance_table", "missing_data_table", "subgroup_table", "whatworks_table"]
