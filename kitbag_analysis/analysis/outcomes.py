"""The outcomes of analysis-plan.md §3, declared once as data, and the analysis frames built
from those declarations (one row per analysed participant: id, team, arm, LA, y, covariates)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from data_contracts.errors import UnusableInput
from data_contracts.participants import BY_POPULATION, Participant
from kitbag_analysis.analysis.scoring import score_measures
from kitbag_analysis.analysis.windows import (
    child_windows,
    days_looked_after,
    in_window,
    practitioner_windows,
)
from kitbag_analysis.study.load import Study

POPULATIONS: dict[str, Participant] = BY_POPULATION  # who an outcome is about


@dataclass(frozen=True)
class Subgroup:
    """A pre-specified subgroup (analysis-plan.md §7.6): children whose ``column`` is one of
    ``values`` form the first level (s = 1), everyone else the second."""

    name: str
    column: str  # in children.csv
    values: tuple[str, ...]
    level: str  # the first level's name (s = 1)
    other: str  # the second level's name (s = 0)
    label: str = ""


SUBGROUPS: dict[str, Subgroup] = {
    s.name: s
    for s in (
        Subgroup("looked_after", "legal_status", ("cla",), "cla", "other", "Looked after (legal status CLA)"),
        Subgroup("uasc", "uasc", ("yes",), "yes", "no", "Unaccompanied asylum-seeking child"),
        Subgroup("disability", "disability", ("yes",), "yes", "other", "Disability"),
    )
}


@dataclass(frozen=True)
class Outcome:
    """One outcome: who, what kind of model, and how its frame is built."""

    name: str
    population: str  # key of POPULATIONS
    kind: str  # continuous | count | binary
    definition: str  # the sentence the methods section prints
    score: str | None = None  # continuous: scale score at follow-up; baseline is a covariate
    covariates: tuple[str, ...] = ()  # beyond the baseline (e.g. carer_type)
    events: str | None = None  # count: the file of events
    event_date: str | None = None
    event_filter: tuple[str, tuple[str, ...]] | None = None  # (column, counted values)
    exposure: str | None = None  # count: days_looked_after | days_employed
    label: str = ""  # a reader's name for the outcome
    benefit: str = "lower"  # which direction is better for the participant: lower | higher
    subgroups: tuple[str, ...] = ()  # §7.6: keys of SUBGROUPS analysed for this outcome


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "sdq_total",
        "children",
        "continuous",
        "SDQ total difficulties at follow-up, adjusted for baseline",
        score="sdq_total",
        label="Emotional and behavioural difficulties (SDQ total)",
        subgroups=tuple(SUBGROUPS),
    ),
    Outcome(
        "cries8_total",
        "children",
        "continuous",
        "CRIES-8 total at follow-up, adjusted for baseline",
        score="cries8_total",
        label="Trauma symptoms (CRIES-8)",
        subgroups=tuple(SUBGROUPS),
    ),
    Outcome(
        "placement_moves",
        "children",
        "count",
        "placements starting in the follow-up window with reason P, T, U or B, per day looked after in the window",
        events="placements",
        event_date="episode_start",
        event_filter=("reason_new_episode", ("P", "T", "U", "B")),
        exposure="days_looked_after",
        label="Placement moves",
    ),
    Outcome(
        "missing_episodes",
        "children",
        "count",
        "missing or away episodes starting in the follow-up window, per day looked after in the window",
        events="missing_episodes",
        event_date="missing_start",
        exposure="days_looked_after",
        label="Missing episodes",
    ),
    Outcome(
        "referral_followup",
        "children",
        "binary",
        "any referral in the follow-up window, adjusted for any referral in the baseline window",
        events="referrals",
        event_date="referral_date",
        label="Referral to children's social care",
    ),
    Outcome(
        "gse_practitioner",
        "practitioners",
        "continuous",
        "GSE total at follow-up, adjusted for baseline",
        score="gse_total",
        label="Practitioner self-efficacy (GSE)",
        benefit="higher",
    ),
    Outcome(
        "pss10_total",
        "practitioners",
        "continuous",
        "PSS-10 total at follow-up, adjusted for baseline",
        score="pss10_total",
        label="Practitioner stress (PSS-10)",
    ),
    Outcome(
        "sickness_days",
        "practitioners",
        "count",
        "sickness days over months whose first day is in the follow-up window, per day employed in those months",
        events="absence",
        exposure="days_employed",
        label="Practitioner sickness absence",
    ),
    Outcome(
        "gse_carer",
        "carers",
        "continuous",
        "GSE total at follow-up, adjusted for baseline and carer type",
        score="gse_total",
        covariates=("carer_type",),
        label="Carer self-efficacy (GSE)",
        benefit="higher",
    ),
)
OUTCOME_BY_NAME = {o.name: o for o in OUTCOMES}


class UnknownOutcome(UnusableInput, KeyError):
    """An outcome name the analysis plan does not have (a KeyError too, for callers that look up)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def outcome_named(name: str) -> Outcome:
    """The outcome called ``name``; an unknown name is refused listing the valid ones."""
    try:
        return OUTCOME_BY_NAME[name]
    except KeyError:
        valid = ", ".join(OUTCOME_BY_NAME)
        raise UnknownOutcome(f"unknown outcome {name!r}; the outcomes of the analysis plan are: {valid}.") from None


def _people(study: Study, population: Participant) -> pd.DataFrame:
    """Participants with their team's arm (1 = kitbag) and local authority."""
    teams = study["teams"][["team_id", "local_authority", "arm"]]
    people = study[population.file].merge(teams, on="team_id", how="inner")
    people["arm"] = (people["arm"] == "kitbag").astype(int)
    return people.rename(columns={population.id_column: "id"})


def measure_scores(study: Study, population: str) -> pd.DataFrame:
    """Scores per participant and wave for a population's measures file (cached per study)."""
    key = ("scores", population)
    if key not in study._cache:
        pop = POPULATIONS[population]
        scored = score_measures(study[pop.measures], pop.measures)
        study._cache[key] = scored.rename(columns={pop.id_column: "id"})
    return study._cache[key]


def _continuous(study: Study, outcome: Outcome) -> pd.DataFrame:
    scores = measure_scores(study, outcome.population)
    wave = scores.set_index(["id", "wave"])[outcome.score].unstack("wave")
    wave = wave.reindex(columns=["baseline", "followup"])
    people = _people(study, POPULATIONS[outcome.population])
    frame = people.assign(y=people["id"].map(wave["followup"]), baseline=people["id"].map(wave["baseline"]))
    return frame[["id", "team_id", "local_authority", "arm", "y", "baseline", *outcome.covariates]]


def _child_events(study: Study, outcome: Outcome, windows: pd.DataFrame) -> pd.DataFrame:
    events = study[outcome.events]
    if outcome.event_filter:
        column, values = outcome.event_filter
        events = events.loc[events[column].isin(values)]
    return events[["child_id", outcome.event_date]].merge(windows, on="child_id", how="inner")


def _child_count(study: Study, outcome: Outcome) -> pd.DataFrame:
    windows = child_windows(study)
    ev = _child_events(study, outcome, windows)
    hit = in_window(ev[outcome.event_date], ev["window_start"], ev["followup_end"])
    counts = hit.groupby(ev["child_id"]).sum()
    people = _people(study, POPULATIONS["children"])
    exposure = _exposure(study, windows).set_axis(windows["child_id"])
    frame = people.assign(
        y=people["id"].map(counts).fillna(0).astype(float),
        exposure=people["id"].map(exposure).fillna(0),
    )
    return frame[["id", "team_id", "local_authority", "arm", "y", "exposure"]]


def _exposure(study: Study, windows: pd.DataFrame) -> pd.Series:
    if "days_looked_after" not in study._cache:
        study._cache["days_looked_after"] = days_looked_after(study["placements"], windows)
    return study._cache["days_looked_after"]


def _referral(study: Study, outcome: Outcome) -> pd.DataFrame:
    windows = child_windows(study)
    ev = _child_events(study, outcome, windows)
    date = ev[outcome.event_date]
    follow = in_window(date, ev["window_start"], ev["followup_end"]).groupby(ev["child_id"]).any()
    base = in_window(date, ev["baseline_start"], ev["window_start"]).groupby(ev["child_id"]).any()
    people = _people(study, POPULATIONS["children"])
    frame = people.assign(
        y=people["id"].isin(follow.index[follow]).astype(float),
        baseline=people["id"].isin(base.index[base]).astype(float),
    )
    return frame[["id", "team_id", "local_authority", "arm", "y", "baseline"]]


def _sickness(study: Study, outcome: Outcome) -> pd.DataFrame:
    windows = practitioner_windows(study)
    absence = study["absence"].merge(windows, on="practitioner_id", how="inner")
    first_day = pd.to_datetime(absence["month"] + "-01", format="%Y-%m-%d")
    inside = absence.loc[in_window(first_day, absence["window_start"], absence["followup_end"])]
    sums = inside.groupby("practitioner_id")[["sickness_days", "days_employed"]].sum()
    people = _people(study, POPULATIONS["practitioners"])
    frame = people.assign(
        y=people["id"].map(sums["sickness_days"]).fillna(0).astype(float),
        exposure=people["id"].map(sums["days_employed"]).fillna(0).astype(float),
    )
    return frame[["id", "team_id", "local_authority", "arm", "y", "exposure"]]


def outcome_frame(study: Study, outcome: Outcome) -> pd.DataFrame:
    """Every participant of the outcome's population with y and covariates (before the
    complete-case and zero-exposure rules, which `analysis_frame` applies)."""
    if outcome.kind == "continuous":
        return _continuous(study, outcome)
    if outcome.kind == "binary":
        return _referral(study, outcome)
    if outcome.exposure == "days_employed":
        return _sickness(study, outcome)
    return _child_count(study, outcome)


def analysis_frame(study: Study, outcome: Outcome) -> pd.DataFrame:
    """The participants analysed: complete cases on y and covariates; positive exposure."""
    frame = outcome_frame(study, outcome)
    needed = [c for c in ("y", "baseline", *outcome.covariates) if c in frame]
    keep = frame[needed].notna().all(axis=1)
    if "exposure" in frame:
        keep &= frame["exposure"] > 0
    return frame.loc[keep].reset_index(drop=True)
