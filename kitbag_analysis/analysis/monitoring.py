"""Interim monitoring (analysis-plan.md §8), exact: recruitment, uptake, contamination and
completeness of one unit of a study cut to a date (`study.asof`), each progression criterion
rated against study.toml's [progression]. Counts stay counts here; `sdc` decides what is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from data_contracts.participants import PARTICIPANTS
from kitbag_analysis.analysis.names import ARMS, CONTROL, KITBAG
from kitbag_analysis.analysis.windows import child_windows
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import ALL, restrict

USED = ("sometimes", "often")  # answers that count as using Kitbags
NOT_ASKED = "not_asked"
NOT_RATED = "not_rated"
RATINGS = ("green", "amber", "red", NOT_RATED)

# criterion -> (population whose answers or records count, arms, what the share is of)
UPTAKE_CRITERIA: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uptake_practitioners": (("practitioners",), (KITBAG,)),
    "uptake_carers": (("carers",), (KITBAG,)),
    "contamination": (("practitioners", "carers"), (CONTROL,)),
}
CRITERIA = (*UPTAKE_CRITERIA, "baseline_completeness", "followup_completeness", "recruitment")
POPULATION = {  # the population each criterion counts (the key of its published cells)
    "uptake_practitioners": "practitioners",
    "uptake_carers": "carers",
    "contamination": "practitioners and carers",
    "baseline_completeness": "children",
    "followup_completeness": "children",
    "recruitment": "children",
}


@dataclass(frozen=True)
class Rated:
    """One criterion of one unit: numerator of denominator, the share with its 95% Wilson
    interval (none for recruitment, a share of a target) and its rating."""

    numerator: int
    denominator: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    rating: str

    def to_json(self) -> dict[str, Any]:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "rating": self.rating,
        }


@dataclass
class UnitMonitoring:
    """One unit's monitoring, exact (results.json), with the counts disclosure control needs."""

    unit: str
    as_of: dt.date
    enrolled: dict[str, int]  # per arm, excluded participants included (as the flow counts)
    excluded: int  # children excluded (withdrawn, objected or restricted) by the cut date
    target: int | None
    criteria: dict[str, Rated] = field(default_factory=dict)
    quarters: pd.DataFrame = field(default_factory=pd.DataFrame)  # quarter, arm, numerator, denominator

    @property
    def included(self) -> int:
        return sum(self.enrolled.values()) - self.excluded

    def to_json(self) -> dict[str, Any]:
        """results.json of a monitoring unit (outputs.md, "Interim monitoring")."""
        return {
            "unit": self.unit,
            "as_of": self.as_of.isoformat(),
            "recruitment": {**self.enrolled, "target": self.target},
            "criteria": {name: c.to_json() for name, c in self.criteria.items()},
            "uptake_by_quarter": [
                {"quarter": q, "arm": a, "numerator": int(n), "denominator": int(d)}
                for q, a, n, d in self.quarters[["quarter", "arm", "numerator", "denominator"]].itertuples(index=False)
            ],
        }


def wilson(numerator: int, denominator: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a share."""
    low, high = proportion_confint(numerator, denominator, alpha=0.05, method="wilson")
    return float(low), float(high)


def rate(study: Study, name: str, numerator: int, denominator: int) -> Rated:
    """A share rated against the study's [progression]: "not rated" below the threshold."""
    criterion = study.settings.progression.criteria[name]
    if denominator < study.settings.sdc_threshold:
        return Rated(numerator, denominator, None, None, None, NOT_RATED)
    share = numerator / denominator
    low, high = wilson(numerator, denominator)
    return Rated(numerator, denominator, share, low, high, criterion.rate(share))


def _answers(view: Study, population: str) -> pd.DataFrame:
    """Every kitbag_use answer (not `not_asked`) of a population: id, arm, date, used."""
    p = next(p for p in PARTICIPANTS if p.population == population)
    people = view[p.file][[p.id_column, "team_id"]].merge(view["teams"][["team_id", "arm"]], on="team_id")
    m = view[p.measures][[p.id_column, "wave", "completed_on", "kitbag_use"]].merge(people, on=p.id_column)
    return pd.DataFrame(
        {
            "id": m[p.id_column],
            "arm": m["arm"],
            "wave": m["wave"],
            "completed_on": pd.to_datetime(m["completed_on"]),
            "kitbag_use": m["kitbag_use"],
        }
    )


def _latest(answers: pd.DataFrame) -> pd.DataFrame:
    """Each participant's latest row by the cut (a later wave wins a tie of dates)."""
    ordered = answers.assign(_w=(answers["wave"] == "followup").astype(int))
    ordered = ordered.sort_values(["id", "completed_on", "_w"], kind="stable")
    return ordered.drop_duplicates("id", keep="last").drop(columns="_w")


def _uptake(answers: dict[str, pd.DataFrame], populations: tuple[str, ...], arms: tuple[str, ...]) -> tuple[int, int]:
    """(using, answered) among the arms' participants whose latest answer is not `not_asked`."""
    latest = pd.concat([_latest(answers[p]) for p in populations], ignore_index=True)
    asked = latest.loc[latest["arm"].isin(arms) & (latest["kitbag_use"] != NOT_ASKED)]
    return int(asked["kitbag_use"].isin(USED).sum()), len(asked)


def quarters_of(study: Study) -> list[str]:
    """The calendar quarters with any answer in the whole (cut) study: every unit shows them all."""
    answers = pd.concat([_answers(study, p) for p in ("practitioners", "carers")], ignore_index=True)
    asked = answers.loc[answers["kitbag_use"] != NOT_ASKED, "completed_on"]
    return sorted(asked.dt.to_period("Q").astype(str).unique())


def _by_quarter(answers: dict[str, pd.DataFrame], quarters: list[str]) -> pd.DataFrame:
    """Uptake by calendar quarter of the answer and arm, practitioners and carers together: people
    answering in the quarter (their latest answer in it), and those of them using Kitbags."""
    frames = []
    for population, frame in answers.items():
        asked = frame.loc[frame["kitbag_use"] != NOT_ASKED]
        asked = asked.assign(quarter=asked["completed_on"].dt.to_period("Q").astype(str))
        asked = asked.assign(id=population + ":" + asked["id"])
        frames.append(asked)
    asked = pd.concat(frames, ignore_index=True).sort_values(["id", "quarter", "completed_on"], kind="stable")
    asked = asked.drop_duplicates(["id", "quarter"], keep="last")
    asked = asked.assign(used=asked["kitbag_use"].isin(USED).astype(int))
    counts = asked.groupby(["quarter", "arm"])["used"].agg(numerator="sum", denominator="size")
    grid = pd.MultiIndex.from_product([quarters, list(ARMS)], names=["quarter", "arm"])
    counts = counts.reindex(grid, fill_value=0).reset_index()
    return counts.astype({"numerator": int, "denominator": int})


def monitor(study: Study, unit: str, as_of: dt.date, quarters: list[str] | None = None) -> UnitMonitoring:
    """Every §8 criterion of ``unit`` in ``study`` (already cut to ``as_of``: `study.asof`)."""
    view = restrict(study, unit)
    settings = view.settings
    kids = view["children"][["child_id", "team_id"]].merge(view["teams"][["team_id", "arm"]], on="team_id")
    gone = view.exclusions.loc[view.exclusions["participant_type"] == "child"].merge(
        view["teams"][["team_id", "arm"]], on="team_id", how="left"
    )
    included, excluded = kids["arm"].value_counts(), gone["arm"].value_counts()
    enrolled = {arm: int(included.get(arm, 0)) + int(excluded.get(arm, 0)) for arm in ARMS}
    targets = settings.progression.recruitment_target
    if unit == ALL:
        target = sum(targets.values()) if targets and set(targets) == set(settings.local_authorities) else None
    else:
        target = targets.get(unit)
    result = UnitMonitoring(unit, as_of, enrolled, len(gone), target)

    answers = {p: _answers(view, p) for p in ("practitioners", "carers")}
    for name, (populations, arms) in UPTAKE_CRITERIA.items():
        result.criteria[name] = rate(view, name, *_uptake(answers, populations, arms))

    measures = view["child_measures"]
    baseline = kids["child_id"].isin(measures.loc[measures["wave"] == "baseline", "child_id"])
    result.criteria["baseline_completeness"] = rate(view, "baseline_completeness", int(baseline.sum()), len(kids))
    windows = child_windows(view).set_index("child_id")["followup_end"]
    closed = kids["child_id"].map(windows) <= pd.Timestamp(as_of) + pd.Timedelta(days=1)
    followed = kids["child_id"].isin(measures.loc[measures["wave"] == "followup", "child_id"])
    result.criteria["followup_completeness"] = rate(
        view, "followup_completeness", int((closed & followed).sum()), int(closed.sum())
    )
    if target is not None:
        total = sum(enrolled.values())
        rating = settings.progression.criteria["recruitment"].rate(total / target)
        result.criteria["recruitment"] = Rated(total, target, total / target, None, None, rating)
    result.quarters = _by_quarter(answers, quarters if quarters is not None else quarters_of(study))
    return result


__all__ = ["CRITERIA", "NOT_RATED", "POPULATION", "RATINGS", "Rated", "UnitMonitoring", "monitor", "wilson"]
