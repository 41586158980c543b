"""Disclosure control of everything a page shows (analysis-plan.md §6), in one place.

From a unit's exact analysis this module builds the typed *release*: every number the report
and data-quality pages show, one `Cell` each, with the text it is shown as. Rules:

- a count of people below ``sdc_threshold`` (zero included) is suppressed, shown as ``[c]``;
  so is every cell a suppression pattern names (secondary suppression, coordinated across the
  linked tables of the study: see `pattern`);
- a percentage is shown only where its numerator and its denominator are both shown; a mean,
  an SD or an SMD only where the count it is built on is shown (both arms' for an SMD);
- a model is shown only with at least ``MIN_RESIDUAL_DF`` residual degrees of freedom;
- no minimum or maximum of a person-level value, no row-level value, no participant id.
Teams are not people: team counts are shown as they are.

Templates only render a `Release`; they never decide what is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

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
from kitbag_analysis.analysis.results import ARMS, Effect, OutcomeResult
from kitbag_analysis.sdc import formats as fmt

SUPPRESSED = "[c]"  # how a suppressed number is shown: written by this module only
MIN_RESIDUAL_DF = 10
ANSWERED = "answered"  # the uptake table's total row: everyone who answered at follow-up
PEOPLE, TEAMS, DERIVED = "people", "teams", "derived"
TEAM_STAGES = ("teams randomised",)  # flow stages that count teams, not people


@dataclass(frozen=True, order=True)
class CellKey:
    """Where a count sits in the linked table set of a study."""

    unit: str
    table: str
    population: str
    row: str
    column: str

    @property
    def label(self) -> str:
        """A readable name for messages (never the value)."""
        return f"{self.unit} / {self.table} / {self.population} / {self.row} / {self.column}"


@dataclass(frozen=True)
class Cell:
    """One number as published: its key, what it measures, its exact value, the text shown."""

    key: CellKey
    measure: str  # n | teams | percent | mean | sd | smd
    value: float | None
    text: str
    suppressed: bool = False

    def to_json(self) -> dict[str, Any]:
        k = self.key
        value: Any = SUPPRESSED if self.suppressed else self.value
        return {
            "table": k.table,
            "population": k.population,
            "row": k.row,
            "column": k.column,
            "measure": self.measure,
            "unit": k.unit,
            "value": value,
        }


@dataclass(frozen=True)
class Table:
    """A published table: column headers and rows of cells (text, or a `Cell`)."""

    name: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str | Cell, ...], ...]
    note: str = ""
    label_columns: int = 2  # leading columns that name the row

    def cells(self) -> list[Cell]:
        """Every published number of the table (a mean (SD) cell counts as two)."""
        found: list[Cell] = []
        for row in self.rows:
            for c in row:
                if isinstance(c, _Composite):
                    found += c.parts
                elif isinstance(c, Cell):
                    found.append(c)
        return found

    def frame(self) -> pd.DataFrame:
        """The table as shown (text), e.g. for the output checker's CSV."""
        data = [[c.text if isinstance(c, Cell) else c for c in row] for row in self.rows]
        return pd.DataFrame(data, columns=list(self.header))


@dataclass(frozen=True)
class PublishedEffect(Effect):
    """An outcome's effect as a figure may show it (only published models)."""

    outcome: str = ""
    label: str = ""
    population: str = ""


@dataclass
class Release:
    """Everything one unit's pages show, disclosure-controlled."""

    unit: str
    unit_name: str
    threshold: int
    tables: dict[str, Table] = field(default_factory=dict)
    effects: list[PublishedEffect] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # models below the residual-df rule

    def cells(self) -> list[Cell]:
        return [c for t in self.tables.values() for c in t.cells()]

    def to_json(self) -> dict[str, Any]:
        """release.json: every number the pages show, one cell each."""
        return {
            "unit": self.unit,
            "threshold": self.threshold,
            "suppressed": SUPPRESSED,
            "cells": [c.to_json() | {"page_table": t.name} for t in self.tables.values() for c in t.cells()],
        }


# --- the suppression decision ---------------------------------------------------------------
class Publisher:
    """Decides and formats cells for one unit: primary suppression below the threshold, plus
    every cell of the study's suppression ``pattern`` (secondary, coordinated)."""

    def __init__(self, unit: str, threshold: int, pattern: Iterable[CellKey] = ()) -> None:
        self.unit = unit
        self.threshold = threshold
        self.pattern = frozenset(pattern)

    def key(self, table: str, population: str, row: str, column: str) -> CellKey:
        return CellKey(self.unit, table, population, row, column)

    def hidden(self, key: CellKey, n: float | None) -> bool:
        return key in self.pattern or (n is not None and not pd.isna(n) and n < self.threshold)

    def people(self, key: CellKey, n: float | None) -> Cell:
        """A count of people."""
        if n is None or pd.isna(n):
            return Cell(key, "n", None, "")
        if self.hidden(key, n):
            return Cell(key, "n", float(n), SUPPRESSED, True)
        return Cell(key, "n", float(n), fmt.count(n))

    def teams(self, key: CellKey, n: float) -> Cell:
        return Cell(key, "teams", float(n), fmt.count(n))

    @staticmethod
    def derived(
        key: CellKey,
        measure: str,
        value: float | None,
        on: Iterable[Cell],
        show: Callable[[float], str],
        small: bool = False,
    ) -> Cell:
        """A number built on counts: shown only where every count it is built on is shown (and,
        with ``small``, where a count it would reveal is not below the threshold)."""
        if value is None or pd.isna(value):
            return Cell(key, measure, None, "")
        if small or any(c.suppressed for c in on):
            return Cell(key, measure, float(value), SUPPRESSED, True)
        return Cell(key, measure, float(value), show(value))


def model_publishable(result: OutcomeResult) -> bool:
    """A model is shown only when estimable and with enough residual degrees of freedom."""
    return result.ok and result.df_resid is not None and result.df_resid >= MIN_RESIDUAL_DF


# --- the tables -------------------------------------------------------------------------------
def flow_table(flow: pd.DataFrame, pub: Publisher) -> Table:
    """Participant flow per population, stage and arm."""
    rows = []
    for rec in flow.itertuples(index=False):
        cells: list[str | Cell] = [population_label(rec.population), stage_label(rec.stage)]
        for arm in ARMS:
            key = pub.key("participant_flow", rec.population, rec.stage, arm)
            n = getattr(rec, arm)
            cells.append(pub.teams(key, n) if rec.stage in TEAM_STAGES else pub.people(key, n))
        rows.append(tuple(cells))
    return Table(
        "participant_flow",
        "Participant flow",
        ("Population", "Stage", "Kitbags", "Control"),
        tuple(rows),
        note=f"Counts of people below {pub.threshold} are shown as {SUPPRESSED}, with further cells "
        "where published totals would reveal them.",
    )


def _included(pub: Publisher, population: str, arm: str) -> CellKey:
    return pub.key("participant_flow", population, "included", arm)


def baseline_table(base: pd.DataFrame, pub: Publisher, included: dict[CellKey, Cell]) -> Table:
    """Characteristics by arm: n (%) or mean (SD) with its n, and the SMD."""
    rows = []
    for rec in base.to_dict("records"):
        pop, characteristic, level = rec["population"], rec["characteristic"], rec["level"]
        row_name = f"{characteristic}: {level}" if level else characteristic
        cells: list[str | Cell] = [population_label(pop), level_label(characteristic, level)]
        basis: list[Cell] = []  # what the SMD is built on
        for arm in ARMS:
            n_cell = pub.people(pub.key("baseline", pop, row_name, arm), rec[f"n_{arm}"])
            if rec["statistic"] == "n (%)":
                denominator = included.get(_included(pub, pop, arm))
                on = [n_cell] + ([denominator] if denominator else [])
                pct = pub.derived(
                    pub.key("baseline", pop, row_name, f"{arm} %"), "percent", rec[f"pct_{arm}"], on, fmt.percent
                )
                cells += [n_cell, pct]
                basis += on
            else:
                mean = pub.derived(
                    pub.key("baseline", pop, row_name, f"{arm} mean"), "mean", rec[f"mean_{arm}"], [n_cell], fmt.percent
                )
                sd = pub.derived(
                    pub.key("baseline", pop, row_name, f"{arm} SD"), "sd", rec[f"sd_{arm}"], [n_cell], fmt.percent
                )
                cells += [n_cell, _mean_sd(mean, sd)]
                basis.append(n_cell)
        smd = pub.derived(pub.key("baseline", pop, row_name, "SMD"), "smd", rec["smd"], basis, fmt.decimal)
        rows.append((*cells, smd))
    return Table(
        "baseline",
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


def _mean_sd(mean: Cell, sd: Cell) -> Cell:
    """One displayed cell holding a mean and its SD (both are in release.json via `parts`)."""
    text = SUPPRESSED if mean.suppressed else (f"{mean.text} ({sd.text})" if mean.text else "")
    return _Composite(mean.key, "mean", mean.value, text, mean.suppressed, (mean, sd))


@dataclass(frozen=True)
class _Composite(Cell):
    """A displayed cell made of two published numbers (mean and SD)."""

    parts: tuple[Cell, ...] = ()


def effectiveness_table(
    results: Iterable[OutcomeResult], pub: Publisher, follow_up: dict[str, dict] | None = None
) -> Table:
    """One row per outcome: n and the follow-up outcome per arm, estimate, effect size, p, model."""
    rows = []
    follow_up = follow_up or {}
    for r in results:
        n = {arm: pub.people(pub.key("effectiveness", r.population, r.outcome, arm), r.n[arm]) for arm in ARMS}
        shown = [_follow_up(pub, r, arm, n[arm], follow_up.get(r.outcome, {}).get(arm)) for arm in ARMS]
        head: list[str | Cell] = [outcome_label(r.outcome), population_label(r.population)]
        head += [n["kitbag"], shown[0], n["control"], shown[1]]
        if not r.ok:
            rows.append((*head, "not estimable", "", "", "", r.reason or ""))
        elif not model_publishable(r):
            rows.append((*head, "not shown", "", "", "", f"fewer than {MIN_RESIDUAL_DF} residual degrees of freedom"))
        else:
            estimate = fmt.interval(r.estimate, r.ci_low, r.ci_high)
            effect = effect_text(r.effect)
            model = model_label(r.model) + (f", ICC {r.icc:.3f}" if r.icc is not None else "")
            permutation = fmt.p_value(r.what_works.permutation_p) if r.what_works is not None else ""
            rows.append((*head, f"{estimate} [{_SCALE[r.kind]}]", effect, fmt.p_value(r.p_value), permutation, model))
    return Table(
        "effectiveness",
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


def _follow_up(pub: Publisher, r: OutcomeResult, arm: str, n: Cell, d: dict | None) -> str | Cell:
    """An arm's outcome at follow-up as published: built on the arm's analysed count."""
    if not d or not d["n"]:
        return ""

    def key(what: str) -> CellKey:
        return pub.key("effectiveness", r.population, r.outcome, f"{arm} {what}")

    if r.kind == "continuous":
        mean = pub.derived(key("mean"), "mean", d["mean"], [n], fmt.percent)
        sd = pub.derived(key("SD"), "sd", d["sd"], [n], fmt.percent)
        return _mean_sd(mean, sd)
    if r.kind == "count":
        return pub.derived(key("per 365 days"), "rate", d["rate"], [n], lambda v: f"{fmt.decimal(v)} per year")
    # a share of people reveals the number with (and without) the event: both must be publishable
    small = min(d["events"], d["n"] - d["events"]) < pub.threshold
    return pub.derived(key("%"), "percent", d["pct"], [n], lambda v: f"{fmt.percent(v)}%", small=small)


def direction(result: OutcomeResult, benefit: str) -> str:
    """Favours Kitbags / favours control / no clear difference, from the CI and the outcome's
    direction of benefit (lower or higher is better)."""
    e = result.effect
    if e.ci_low <= e.null <= e.ci_high:
        return "no clear difference"
    lower = e.ci_high < e.null
    return "favours Kitbags" if lower == (benefit == "lower") else "favours control"


def summary_table(results: Iterable[OutcomeResult], effectiveness: Table, benefit: dict[str, str]) -> Table:
    """Summary of findings: each outcome in plain English with its effect, direction and the
    number analysed (the effectiveness table's own cells, so the same suppression holds)."""
    n_cells = {row[0]: (row[2], row[4]) for row in effectiveness.rows}
    rows = []
    for r in results:
        label = outcome_label(r.outcome)
        what = f"{label}, in {population_label(r.population).lower()}"
        kit, con = n_cells[label]
        if model_publishable(r):
            rows.append((what, effect_text(r.effect), direction(r, benefit[r.outcome]), kit, con))
        else:
            rows.append((what, "not estimable" if not r.ok else "not shown", "", kit, con))
    return Table(
        "summary",
        "Summary of findings",
        ("What was measured, in whom", "Effect (95% CI)", "Direction", "Kitbags n", "Control n"),
        tuple(rows),
        note="Hedges' g: 0 is no difference; rate and odds ratios: 1 is no difference. 'No clear difference' "
        "when the 95% CI includes no difference.",
        label_columns=1,
    )


def effect_text(effect: Effect) -> str:
    """``Hedges' g -0.25 (-0.47 to -0.03)``: an effect size in words with its CI."""
    return f"{_MEASURE_WORDS[effect.measure]} {fmt.interval(effect.value, effect.ci_low, effect.ci_high)}"


_SCALE = {"continuous": "difference", "count": "log rate ratio", "binary": "log odds ratio"}
_MEASURE_WORDS = {"hedges_g": "Hedges' g", "irr": "rate ratio", "odds_ratio": "odds ratio"}


def uptake_table(uptake: pd.DataFrame, pub: Publisher) -> Table:
    """kitbag_use at follow-up by arm: n (%) of those answering."""
    rows = []
    for pop, part in uptake.groupby("population", sort=False):
        totals = {arm: pub.people(pub.key("uptake", pop, ANSWERED, arm), part[f"n_{arm}"].sum()) for arm in ARMS}
        for rec in part.to_dict("records"):
            level = rec["level"]
            cells: list[str | Cell] = [population_label(pop), level_label("kitbag_use", level)]
            for arm in ARMS:
                n_cell = pub.people(pub.key("uptake", pop, level, arm), rec[f"n_{arm}"])
                pct = pub.derived(
                    pub.key("uptake", pop, level, f"{arm} %"),
                    "percent",
                    rec[f"pct_{arm}"],
                    [n_cell, totals[arm]],
                    fmt.percent,
                )
                cells += [n_cell, pct]
            rows.append(tuple(cells))
        rows.append(
            (population_label(pop), level_label("kitbag_use", ANSWERED), totals["kitbag"], "", totals["control"], "")
        )
    return Table(
        "uptake",
        "Uptake: use of Kitbags at follow-up",
        ("Population", "Use of Kitbags", "Kitbags n", "Kitbags %", "Control n", "Control %"),
        tuple(rows),
        note="Percentages of those in the arm who answered at follow-up.",
    )


def excluded_table(excluded: dict[str, int], pub: Publisher) -> Table:
    """The stamp's excluded counts per participant type."""
    row = tuple(pub.people(pub.key("stamp", kind, "excluded", "total"), n) for kind, n in excluded.items())
    header = tuple(population_label(BY_TYPE[kind].population) for kind in excluded)
    return Table("excluded", "Excluded (withdrawn, objected or restricted)", header, (row,), label_columns=0)


def completeness_table(frame: pd.DataFrame, pub: Publisher) -> Table:
    """Participants with each score, by population, score, wave, local authority and arm."""
    rows = []
    for rec in frame.to_dict("records"):
        row_name = f"{rec['score']} {rec['wave']} {rec['local_authority']}"
        total = pub.people(
            pub.key("completeness", rec["population"], row_name, f"{rec['arm']} participants"), rec["participants"]
        )
        has = pub.people(
            pub.key("completeness", rec["population"], row_name, f"{rec['arm']} with score"), rec["with score"]
        )
        pct = pub.derived(
            pub.key("completeness", rec["population"], row_name, f"{rec['arm']} %"),
            "percent",
            rec["percent"],
            [total, has],
            fmt.percent,
        )
        rows.append(
            (
                population_label(rec["population"]),
                score_label(rec["score"]),
                wave_label(rec["wave"]),
                rec["la_name"],
                "Kitbags" if rec["arm"] == "kitbag" else "Control",
                total,
                has,
                pct,
            )
        )
    return Table(
        "completeness",
        "Completeness of measures",
        ("Population", "Score", "Wave", "Local authority", "Arm", "Participants", "With score", "%"),
        tuple(rows),
        label_columns=5,
    )


def attrition_table(frame: pd.DataFrame, pub: Publisher) -> Table:
    """Participants with a score at each wave, and the share retained."""
    rows = []
    for rec in frame.to_dict("records"):
        row_name = f"{rec['score']}"
        cells = {
            wave: pub.people(pub.key("attrition", rec["population"], row_name, f"{rec['arm']} {wave}"), rec[wave])
            for wave in ("baseline", "followup")
        }
        kept = pub.derived(
            pub.key("attrition", rec["population"], row_name, f"{rec['arm']} retained %"),
            "percent",
            rec["retained %"],
            list(cells.values()),
            fmt.percent,
        )
        rows.append(
            (
                population_label(rec["population"]),
                score_label(rec["score"]),
                "Kitbags" if rec["arm"] == "kitbag" else "Control",
                cells["baseline"],
                cells["followup"],
                kept,
            )
        )
    return Table(
        "attrition",
        "Attrition: participants with a score at each wave",
        ("Population", "Score", "Arm", "Baseline", "Follow-up", "Retained %"),
        tuple(rows),
        label_columns=3,
    )


def published_effects(results: Iterable[OutcomeResult]) -> list[PublishedEffect]:
    """The effects a figure may show: estimable models with enough residual df."""
    return [
        PublishedEffect(**vars(r.effect), outcome=r.outcome, label=outcome_label(r.outcome), population=r.population)
        for r in results
        if model_publishable(r)
    ]


__all__ = [
    "MIN_RESIDUAL_DF",
    "SUPPRESSED",
    "Cell",
    "CellKey",
    "PublishedEffect",
    "Publisher",
    "Release",
    "Table",
    "attrition_table",
    "baseline_table",
    "direction",
    "summary_table",
    "completeness_table",
    "effectiveness_table",
    "excluded_table",
    "flow_table",
    "model_publishable",
    "published_effects",
    "uptake_table",
]
