"""The tables every report carries (analysis-plan.md §5), exact and before disclosure control.

Counts stay counts here; `sdc` decides what may be shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.ages import age_in_years
from kitbag_analysis.analysis.names import (
    ARM_CODES,
    ENROLLED,
    EXCLUDED,
    INCLUDED,
    TEAMS_RANDOMISED,
    WITH_BASELINE,
    WITH_FOLLOWUP,
    analysed_stage,
)
from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME, OUTCOMES, POPULATIONS, measure_scores
from kitbag_analysis.analysis.results import OutcomeResult
from kitbag_analysis.analysis.windows import child_windows
from kitbag_analysis.study.load import Study

ARMS = tuple(ARM_CODES.items())  # (name, code) pairs
AGE_BANDS = ((0, 4, "0–4"), (5, 10, "5–10"), (11, 15, "11–15"), (16, 200, "16+"))
ETHNIC_GROUPS = {"W": "White", "M": "Mixed", "A": "Asian", "B": "Black"}
OTHER_ETHNICITY = "Other/not known"
BASELINE_SCORES = {
    "children": ("sdq_total", "cries8_total"),
    "practitioners": ("gse_total", "pss10_total"),
    "carers": ("gse_total",),
}


def _arm_of(study: Study, people: str) -> pd.DataFrame:
    teams = study["teams"][["team_id", "arm"]]
    return study[people].merge(teams, on="team_id", how="inner")


def participant_flow(study: Study, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """CONSORT-style flow per population and arm."""
    rows = []
    teams = study["teams"]["arm"].value_counts()
    excluded = study.exclusions.merge(study["teams"][["team_id", "arm"]], on="team_id", how="left")
    for pop in POPULATIONS.values():
        people = _arm_of(study, pop.file)
        gone = excluded.loc[excluded["participant_type"] == pop.type]
        measures = study[pop.measures]

        def by_arm(frame: pd.DataFrame, arm_col: str = "arm") -> dict[str, int]:
            counts = frame[arm_col].value_counts()
            return {arm: int(counts.get(arm, 0)) for arm, _ in ARMS}

        def with_wave(wave: str, pop=pop, people=people, measures=measures) -> dict[str, int]:
            ids = measures.loc[measures["wave"] == wave, pop.id_column]
            return by_arm(people.loc[people[pop.id_column].isin(ids)])

        stages = [
            (TEAMS_RANDOMISED, {arm: int(teams.get(arm, 0)) for arm, _ in ARMS}),
            (ENROLLED, {a: by_arm(people)[a] + by_arm(gone)[a] for a, _ in ARMS}),
            (EXCLUDED, by_arm(gone)),
            (INCLUDED, by_arm(people)),
            (WITH_BASELINE, with_wave("baseline")),
            (WITH_FOLLOWUP, with_wave("followup")),
        ]
        for outcome in OUTCOMES:
            if outcome.population == pop.population:
                frame = frames[outcome.name]
                n = frame["arm"].value_counts()
                stages.append((analysed_stage(outcome.name), {arm: int(n.get(code, 0)) for arm, code in ARMS}))
        for stage, counts in stages:
            rows.append({"population": pop.population, "stage": stage, **counts})
    return pd.DataFrame(rows, columns=["population", "stage", "kitbag", "control"])


def _categorical(population: str, name: str, values: pd.Series, arm: pd.Series, levels: list[str]) -> list[dict]:
    rows = []
    totals = {a: int((arm == a).sum()) for a, _ in ARMS}
    for level in levels:
        row: dict = {"population": population, "characteristic": name, "level": level, "statistic": "n (%)"}
        p = {}
        for a, _ in ARMS:
            n = int(((values == level) & (arm == a)).sum())
            p[a] = n / totals[a] if totals[a] else np.nan
            row[f"n_{a}"], row[f"denominator_{a}"], row[f"pct_{a}"] = n, totals[a], 100 * p[a]
        spread = np.sqrt((p["kitbag"] * (1 - p["kitbag"]) + p["control"] * (1 - p["control"])) / 2)
        row["smd"] = (p["kitbag"] - p["control"]) / spread if spread > 0 else 0.0
        rows.append(row)
    return rows


def _continuous(population: str, name: str, values: pd.Series, arm: pd.Series) -> dict:
    row: dict = {"population": population, "characteristic": name, "level": "", "statistic": "mean (SD)"}
    stats = {}
    for a, _ in ARMS:
        v = values[(arm == a) & values.notna()]
        stats[a] = (v.mean(), v.var(ddof=1))
        row[f"n_{a}"], row[f"mean_{a}"], row[f"sd_{a}"] = len(v), v.mean(), v.std(ddof=1)
    spread = np.sqrt((stats["kitbag"][1] + stats["control"][1]) / 2)
    row["smd"] = (stats["kitbag"][0] - stats["control"][0]) / spread if spread > 0 else np.nan
    return row


def ethnic_group(codes: pd.Series) -> pd.Series:
    """DfE code to five groups by its first letter (W, M, A, B); the rest is Other/not known."""
    return codes.str[:1].map(ETHNIC_GROUPS).fillna(OTHER_ETHNICITY)


def age_band(age: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=age.index, dtype="object")
    for lo, hi, label in AGE_BANDS:
        out[(age >= lo) & (age <= hi)] = label
    return out


def categorical_characteristics(study: Study) -> list[tuple[str, str, pd.Series, pd.Series, list[str]]]:
    """(population, characteristic, value per person, arm per person, levels) for every
    categorical baseline characteristic: the one definition the table and ACRO's checks share."""
    kids = _arm_of(study, "children")
    windows = child_windows(study).set_index("child_id")["window_start"]
    age = age_in_years(kids["birth_year_month"], kids["child_id"].map(windows))
    staff = _arm_of(study, "practitioners")
    carers = _arm_of(study, "carers")
    return [_merged(study, *c) for c in _characteristics(kids, age, staff, carers)]


def _merged(
    study: Study, population: str, name: str, values: pd.Series, arm: pd.Series, levels: list[str]
) -> tuple[str, str, pd.Series, pd.Series, list[str]]:
    """A characteristic with the categories study.toml's `[disclosure] merge` joins (global
    recoding, analysis-plan.md §6.2): one level in place of its members, where the first stood."""
    recode = study.settings.disclosure.recode(name)
    if not recode:
        return population, name, values, arm, levels
    merged = list(dict.fromkeys(recode.get(level, level) for level in levels))
    return population, name, values.replace(recode), arm, merged


def _characteristics(
    kids: pd.DataFrame, age: pd.Series, staff: pd.DataFrame, carers: pd.DataFrame
) -> list[tuple[str, str, pd.Series, pd.Series, list[str]]]:
    return [
        ("children", "gender", kids["gender"], kids["arm"], ["female", "male", "other", "not_recorded"]),
        (
            "children",
            "ethnicity",
            ethnic_group(kids["ethnicity"]),
            kids["arm"],
            [*ETHNIC_GROUPS.values(), OTHER_ETHNICITY],
        ),
        ("children", "disability", kids["disability"], kids["arm"], ["yes", "no", "not_recorded"]),
        ("children", "uasc", kids["uasc"], kids["arm"], ["yes", "no"]),
        ("children", "legal_status", kids["legal_status"], kids["arm"], ["cin", "cp", "cla", "care_leaver"]),
        ("children", "age band", age_band(age), kids["arm"], [b[2] for b in AGE_BANDS]),
        ("practitioners", "role", staff["role"], staff["arm"], ["social_worker", "family_support_worker"]),
        ("carers", "carer_type", carers["carer_type"], carers["arm"], ["foster", "kinship"]),
    ]


def baseline_characteristics(study: Study) -> pd.DataFrame:
    """Characteristics by arm with standardised mean differences (kitbag − control)."""
    rows: list[dict] = []
    for population, name, values, arm, levels in categorical_characteristics(study):
        rows += _categorical(population, name, values, arm, levels)
    for population, scores in BASELINE_SCORES.items():
        pop = POPULATIONS[population]
        people = _arm_of(study, pop.file)
        scored = measure_scores(study, population)
        base = scored.loc[scored["wave"] == "baseline"].set_index("id")
        for score in scores:
            values = people[pop.id_column].map(base[score])
            rows.append(_continuous(population, f"baseline {score}", values, people["arm"]))
    return pd.DataFrame(rows)


def effectiveness(results: tuple[OutcomeResult, ...]) -> pd.DataFrame:
    """One row per outcome: n per arm, estimate and CI, effect size and CI, p, model."""
    rows = []
    for r in results:
        effect = r.effect
        rows.append(
            {
                "outcome": r.outcome,
                "label": OUTCOME_BY_NAME[r.outcome].label,
                "population": r.population,
                "kind": r.kind,
                "status": r.status,
                "n_kitbag": r.n["kitbag"],
                "n_control": r.n["control"],
                "estimate": r.estimate,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "effect_measure": effect.measure if effect else None,
                "effect": effect.value if effect else None,
                "effect_ci_low": effect.ci_low if effect else None,
                "effect_ci_high": effect.ci_high if effect else None,
                "p_value": r.p_value,
                "model": r.model,
                "icc": r.icc,
                "df": r.df,
                "df_resid": r.df_resid,
                "reason": r.reason or "",
            }
        )
    return pd.DataFrame(rows)


def follow_up_by_arm(frame: pd.DataFrame, kind: str) -> dict[str, dict[str, float]]:
    """The analysed participants' outcome by arm, exact: mean and SD of a score; events per 365
    days of exposure for a count; the number and share with the event for the binary outcome."""
    out: dict[str, dict[str, float]] = {}
    for arm, code in ARMS:
        part = frame.loc[frame["arm"] == code]
        n = len(part)
        if kind == "continuous":
            out[arm] = {"n": n, "mean": part["y"].mean(), "sd": part["y"].std(ddof=1)}
        elif kind == "count":
            exposure = part["exposure"].sum()
            out[arm] = {"n": n, "rate": 365 * part["y"].sum() / exposure if exposure > 0 else np.nan}
        else:
            events = int(part["y"].sum())
            out[arm] = {"n": n, "events": events, "pct": 100 * events / n if n else np.nan}
    return out


def uptake(study: Study) -> pd.DataFrame:
    """`kitbag_use` at follow-up by arm, for practitioners and carers."""
    rows = []
    levels = ["never", "rarely", "sometimes", "often", "not_asked"]
    for population in ("practitioners", "carers"):
        pop = POPULATIONS[population]
        people = _arm_of(study, pop.file)
        m = study[pop.measures]
        follow = m.loc[m["wave"] == "followup", [pop.id_column, "kitbag_use"]].merge(
            people[[pop.id_column, "arm"]], on=pop.id_column, how="inner"
        )
        rows += _categorical(population, "kitbag_use", follow["kitbag_use"], follow["arm"], levels)
    return pd.DataFrame(rows)
