"""The tables of analysis-plan.md §5 as published: every number a `Cell` under `rules`.

From a unit's exact analysis this module builds each table the report and data-quality pages
show; `sdc.rules` decides what is shown, `sdc.cells` how a number reads and what leaves.
Templates only lay a `Release` out; they never decide what is shown.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from data_contracts.participants import BY_TYPE
from kitbag_analysis.analysis.labels import (
    level_label,
    model_label,
    outcome_label,
    population_label,
    score_label,
    stage_label,
    wave_label,
)
from kitbag_analysis.analysis.names import (
    ANSWERED,
    ARMS,
    ATTRITION,
    BASELINE,
    COMPLETENESS,
    EFFECTIVENESS,
    EXCLUDED_TABLE,
    FLOW,
    INCLUDED,
    STAMP,
    SUMMARY,
    TEAM_FLOW,
    TEAM_STAGES,
    UPTAKE,
)
from kitbag_analysis.analysis.results import OutcomeResult
from kitbag_analysis.sdc.cells import (
    SUPPRESSED,
    Cell,
    CellKey,
    PublishedEffect,
    Shown,
    Table,
    TableCell,
    effect_cells,
    interval,
)
from kitbag_analysis.sdc.rules import Publisher


# --- the tables -------------------------------------------------------------------------------
def flow_table(flow: pd.DataFrame, pub: Publisher) -> Table:
    """Participant flow per population, stage and arm."""
    rows = []
    for rec in flow.itertuples(index=False):
        cells: list[TableCell] = [population_label(rec.population), stage_label(rec.stage)]
        for arm in ARMS:
            key = pub.key(FLOW, rec.population, rec.stage, arm)
            n = getattr(rec, arm)
            cells.append(pub.teams(key, n) if rec.stage in TEAM_STAGES else pub.people(key, n))
        rows.append(tuple(cells))
    return Table(
        FLOW,
        "Participant flow",
        ("Population", "Stage", "Kitbags", "Control"),
        tuple(rows),
        note=f"Counts of people below {pub.threshold} are shown as {SUPPRESSED}, with further cells "
        "where published totals would reveal them.",
    )


def team_flow_table(results: Iterable[OutcomeResult], pub: Publisher) -> Table:
    """The flow at the cluster level (CONSORT's cluster extension): per outcome, the teams with
    anyone analysed, per arm (team counts, not counts of people)."""
    rows = tuple(
        (
            outcome_label(r.outcome),
            population_label(r.population),
            *(pub.teams(pub.key(TEAM_FLOW, r.population, r.outcome, arm), r.n_teams.get(arm, 0)) for arm in ARMS),
        )
        for r in results
    )
    return Table(
        TEAM_FLOW,
        "Teams analysed, per outcome",
        ("Outcome", "Population", "Kitbags teams", "Control teams"),
        rows,
        note="Teams (the clusters randomised) with at least one participant analysed for the outcome.",
    )


def _included(pub: Publisher, population: str, arm: str) -> CellKey:
    return pub.key(FLOW, population, INCLUDED, arm)


def _mean_sd(mean: Cell, sd: Cell) -> Shown:
    """One displayed cell holding a mean and its SD (both published)."""
    return Shown((mean, sd), "{0} ({1})")


def baseline_table(base: pd.DataFrame, pub: Publisher, included: dict[CellKey, Cell]) -> Table:
    """Characteristics by arm: n (%) or mean (SD) with its n, and the SMD."""
    rows = []
    for rec in base.to_dict("records"):
        pop, characteristic, level = rec["population"], rec["characteristic"], rec["level"]
        row_name = f"{characteristic}: {level}" if level else characteristic
        cells: list[TableCell] = [population_label(pop), level_label(characteristic, level)]
        basis: list[Cell] = []  # what the SMD is built on
        for arm in ARMS:
            n_cell = pub.people(pub.key(BASELINE, pop, row_name, arm), rec[f"n_{arm}"])
            if rec["statistic"] == "n (%)":
                denominator = included.get(_included(pub, pop, arm))
                on = [n_cell] + ([denominator] if denominator else [])
                pct_key = pub.key(BASELINE, pop, row_name, f"{arm} %")
                pct = pub.derived(pct_key, "percent", rec[f"pct_{arm}"], on, of_counts=True)
                cells += [n_cell, pct]
                basis += on
            else:
                mean_key, sd_key = (pub.key(BASELINE, pop, row_name, f"{arm} {m}") for m in ("mean", "SD"))
                mean = pub.derived(mean_key, "mean", rec[f"mean_{arm}"], [n_cell])
                sd = pub.derived(sd_key, "sd", rec[f"sd_{arm}"], [n_cell])
                cells += [n_cell, _mean_sd(mean, sd)]
                basis.append(n_cell)
        proportions = rec["statistic"] == "n (%)"  # an SMD of two shares is a function of their counts
        smd = pub.derived(pub.key(BASELINE, pop, row_name, "SMD"), "smd", rec["smd"], basis, of_counts=proportions)
        rows.append((*cells, smd))
    return Table(
        BASELINE,
        "Baseline characteristics by arm",
        (
            "Population",
            "Characteristic",
            "Kitbags n",
            "Kitbags % or mean (SD)",
            "Control n",
            "Control % or mean (SD)",
            "SMD",
        ),
        tuple(rows),
        note="n (%) of the arm's included participants, or mean (SD) of those with a score; SMD = "
        "standardised mean difference, Kitbags − control.",
    )


_SCALE = {"continuous": "difference", "count": "log rate ratio", "binary": "log odds ratio"}


def estimate_cells(pub: Publisher, r: OutcomeResult, table: str = EFFECTIVENESS) -> Shown:
    """An outcome's model estimate with its 95% CI, on the model scale."""
    key = pub.key(table, r.population, r.outcome, "estimate")
    return interval(key, "estimate", r.estimate, r.ci_low, r.ci_high, "{0} ({1} to {2}) [" + _SCALE[r.kind] + "]")


def effect_shown(pub: Publisher, r: OutcomeResult, table: str = EFFECTIVENESS) -> Shown:
    """An outcome's effect size in words with its CI (Hedges' g, rate or odds ratio)."""
    return effect_cells(pub.key(table, r.population, r.outcome, "effect"), r.effect)


def effectiveness_table(
    results: Iterable[OutcomeResult], pub: Publisher, follow_up: dict[str, dict] | None = None
) -> Table:
    """One row per outcome: n and the follow-up outcome per arm, estimate, effect size, p, model."""
    rows = []
    follow_up = follow_up or {}
    for r in results:
        n = {arm: pub.people(pub.key(EFFECTIVENESS, r.population, r.outcome, arm), r.n[arm]) for arm in ARMS}
        shown = [_follow_up(pub, r, arm, n[arm], follow_up.get(r.outcome, {}).get(arm)) for arm in ARMS]
        head: list[TableCell] = [outcome_label(r.outcome), population_label(r.population)]
        head += [n["kitbag"], shown[0], n["control"], shown[1]]
        if not r.ok:
            rows.append((*head, "not estimable", "", "", "", r.reason or ""))
        elif not pub.model_shown(r):
            rows.append((*head, "not shown", "", "", "", pub.why_not_shown(r)))
        else:
            key = pub.key(EFFECTIVENESS, r.population, r.outcome, "")

            def at(column: str, key: CellKey = key) -> CellKey:
                return CellKey(key.unit, key.table, key.population, key.row, column)

            p = Cell(at("p"), "p", r.p_value)
            permutation: TableCell = ""
            if r.what_works is not None and r.what_works.permutation_p is not None:
                permutation = Cell(at("p randomisation"), "p", r.what_works.permutation_p)
            model: TableCell = model_label(r.model)
            if r.icc is not None:
                model = Shown((Cell(at("ICC"), "icc", r.icc),), model_label(r.model) + ", ICC {0}")
            rows.append((*head, estimate_cells(pub, r), effect_shown(pub, r), p, permutation, model))
    return Table(
        EFFECTIVENESS,
        "Effectiveness",
        (
            "Outcome",
            "Population",
            "Kitbags n",
            "Kitbags at follow-up",
            "Control n",
            "Control at follow-up",
            "Estimate (95% CI)",
            "Effect size (95% CI)",
            "p",
            "p (randomisation)",
            "Model",
        ),
        tuple(rows),
        note="At follow-up: mean (SD) of a score; events per 365 days looked after or employed for a count; "
        "% with a referral. Estimates are differences for scores and log ratios for counts and referral. "
        "p (randomisation): the share of re-randomisations of teams giving an estimate at least as far from 0.",
    )


def _follow_up(pub: Publisher, r: OutcomeResult, arm: str, n: Cell, d: dict | None) -> TableCell:
    """An arm's outcome at follow-up as published: built on the arm's analysed count."""
    if not d or not d["n"]:
        return ""

    def key(what: str) -> CellKey:
        return pub.key(EFFECTIVENESS, r.population, r.outcome, f"{arm} {what}")

    if r.kind == "continuous":
        return _mean_sd(pub.derived(key("mean"), "mean", d["mean"], [n]), pub.derived(key("SD"), "sd", d["sd"], [n]))
    if r.kind == "count":
        return Shown((pub.derived(key("per 365 days"), "rate", d["rate"], [n]),), "{0} per year")
    # a share of people reveals the number with (and without) the event: both must be publishable
    small = pub.reveals_small(d["events"], d["n"])
    return Shown((pub.derived(key("%"), "percent", d["pct"], [n], small=small),), "{0}%")


VERDICT_RULE = (
    "The direction is read from the 95% CI as printed: 'favours' only when the printed interval lies "
    "wholly on one side of no difference without touching it; 'no clear difference' when the printed "
    "interval touches or crosses no difference (so an interval whose exact bound falls just short of "
    "no difference but prints as it reads 'no clear difference')."
)
FAVOURS_KITBAGS, FAVOURS_CONTROL, NO_CLEAR = "favours Kitbags", "favours control", "no clear difference"


def direction(shown: Shown, null: float, benefit: str) -> str:
    """Favours Kitbags / favours control / no clear difference, decided from the effect's 95% CI
    **as printed** (`VERDICT_RULE`), so a verdict never contradicts the interval beside it; ''
    when the interval is not printed."""
    low, high = shown.parts[1].printed, shown.parts[2].printed
    if shown.suppressed or not isinstance(low, float | int) or not isinstance(high, float | int):
        return ""
    if low <= null <= high:
        return NO_CLEAR
    lower = high < null
    return FAVOURS_KITBAGS if lower == (benefit == "lower") else FAVOURS_CONTROL


def not_estimable_text(result: OutcomeResult, model_column: object = "") -> str:
    """Why an outcome has no effect on the page, in words (the summary and the index say it):
    the reason it was not estimable, or why the effectiveness table does not show its model
    (that table's model column says it, e.g. too few residual degrees of freedom)."""
    if not result.ok:
        return result.reason or "the model could not be estimated"
    return model_column if isinstance(model_column, str) and model_column else "the model is not shown"


def summary_table(results: Iterable[OutcomeResult], effectiveness: Table, benefit: dict[str, str]) -> Table:
    """Summary of findings: each outcome in plain English with its effect, direction and the
    number analysed (the effectiveness table's own cells, so the same suppression holds); an
    outcome without an effect says why in the direction column."""
    by_label = {row[0]: row for row in effectiveness.rows}
    rows = []
    for r in results:
        label = outcome_label(r.outcome)
        what = f"{label}, in {population_label(r.population).lower()}"
        row = by_label[label]
        kit, con = row[2], row[4]
        effect = row[7]
        if isinstance(effect, Shown):  # the effectiveness table shows the model
            rows.append((what, effect, direction(effect, r.effect.null, benefit[r.outcome]), kit, con))
        else:
            rows.append((what, "not estimable" if not r.ok else "not shown", not_estimable_text(r, row[10]), kit, con))
    return Table(
        SUMMARY,
        "Summary of findings",
        ("What was measured, in whom", "Effect (95% CI)", "Direction", "Kitbags n", "Control n"),
        tuple(rows),
        note="Hedges' g: 0 is no difference; rate and odds ratios: 1 is no difference. " + VERDICT_RULE,
        label_columns=1,
    )


def uptake_table(uptake: pd.DataFrame, pub: Publisher) -> Table:
    """kitbag_use at follow-up by arm: n (%) of those answering."""
    rows = []
    for pop, part in uptake.groupby("population", sort=False):
        totals = {arm: pub.people(pub.key(UPTAKE, pop, ANSWERED, arm), part[f"n_{arm}"].sum()) for arm in ARMS}
        for rec in part.to_dict("records"):
            level = rec["level"]
            cells: list[TableCell] = [population_label(pop), level_label("kitbag_use", level)]
            for arm in ARMS:
                n_cell = pub.people(pub.key(UPTAKE, pop, level, arm), rec[f"n_{arm}"])
                pct_key = pub.key(UPTAKE, pop, level, f"{arm} %")
                pct = pub.derived(pct_key, "percent", rec[f"pct_{arm}"], [n_cell, totals[arm]], of_counts=True)
                cells += [n_cell, pct]
            rows.append(tuple(cells))
        rows.append(
            (population_label(pop), level_label("kitbag_use", ANSWERED), totals["kitbag"], "", totals["control"], "")
        )
    return Table(
        UPTAKE,
        "Uptake: use of Kitbags at follow-up",
        ("Population", "Use of Kitbags", "Kitbags n", "Kitbags %", "Control n", "Control %"),
        tuple(rows),
        note="Percentages of those in the arm who answered at follow-up.",
    )


def excluded_table(excluded: dict[str, int], pub: Publisher) -> Table:
    """The stamp's excluded counts per participant type."""
    row = tuple(pub.people(pub.key(STAMP, kind, "excluded", "total"), n) for kind, n in excluded.items())
    header = tuple(population_label(BY_TYPE[kind].population) for kind in excluded)
    return Table(EXCLUDED_TABLE, "Excluded (withdrawn, objected or restricted)", header, (row,), label_columns=0)


def _arm_label(arm: str) -> str:
    return "Kitbags" if arm == "kitbag" else "Control"


def completeness_table(frame: pd.DataFrame, pub: Publisher) -> Table:
    """Participants with each score, by population, score, wave, local authority and arm."""
    rows = []
    for rec in frame.to_dict("records"):
        row_name = f"{rec['score']} {rec['wave']} {rec['local_authority']}"
        pop, arm = rec["population"], rec["arm"]
        total = pub.people(pub.key(COMPLETENESS, pop, row_name, f"{arm} participants"), rec["participants"])
        has = pub.people(pub.key(COMPLETENESS, pop, row_name, f"{arm} with score"), rec["with score"])
        pct_key = pub.key(COMPLETENESS, pop, row_name, f"{arm} %")
        pct = pub.derived(pct_key, "percent", rec["percent"], [total, has], of_counts=True)
        labels = (population_label(pop), score_label(rec["score"]), wave_label(rec["wave"]), rec["la_name"])
        rows.append((*labels, _arm_label(arm), total, has, pct))
    return Table(
        COMPLETENESS,
        "Completeness of measures",
        ("Population", "Score", "Wave", "Local authority", "Arm", "Participants", "With score", "%"),
        tuple(rows),
        label_columns=5,
    )


def attrition_table(frame: pd.DataFrame, pub: Publisher) -> Table:
    """Participants with a score at each wave, and the share retained."""
    rows = []
    for rec in frame.to_dict("records"):
        row_name, pop, arm = f"{rec['score']}", rec["population"], rec["arm"]
        cells = {
            wave: pub.people(pub.key(ATTRITION, pop, row_name, f"{arm} {wave}"), rec[wave])
            for wave in ("baseline", "followup")
        }
        kept_key = pub.key(ATTRITION, pop, row_name, f"{arm} retained %")
        kept = pub.derived(kept_key, "percent", rec["retained %"], list(cells.values()), of_counts=True)
        rows.append((population_label(pop), score_label(rec["score"]), _arm_label(arm), *cells.values(), kept))
    return Table(
        ATTRITION,
        "Attrition: participants with a score at each wave",
        ("Population", "Score", "Arm", "Baseline", "Follow-up", "Retained %"),
        tuple(rows),
        label_columns=3,
    )


def published_effects(results: Iterable[OutcomeResult], pub: Publisher) -> list[PublishedEffect]:
    """The effects a figure may show: the models the effectiveness table shows."""
    return [
        PublishedEffect(**vars(r.effect), outcome=r.outcome, label=outcome_label(r.outcome), population=r.population)
        for r in results
        if pub.model_shown(r)
    ]


__all__ = [
    "FAVOURS_CONTROL",
    "FAVOURS_KITBAGS",
    "NO_CLEAR",
    "VERDICT_RULE",
    "attrition_table",
    "baseline_table",
    "completeness_table",
    "direction",
    "not_estimable_text",
    "effect_shown",
    "effectiveness_table",
    "estimate_cells",
    "excluded_table",
    "flow_table",
    "published_effects",
    "summary_table",
    "team_flow_table",
    "uptake_table",
]
