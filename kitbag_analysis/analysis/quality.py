"""Data quality, exact (before disclosure control): completeness of every score by wave, local
authority and arm, and attrition between the waves."""

from __future__ import annotations

import pandas as pd

from kitbag_analysis.analysis.outcomes import POPULATIONS, measure_scores
from kitbag_analysis.analysis.tables import BASELINE_SCORES
from kitbag_analysis.study.load import Study

WAVES = ("baseline", "followup")
COMPLETENESS_COLUMNS = [
    "population",
    "score",
    "wave",
    "local_authority",
    "la_name",
    "arm",
    "participants",
    "with score",
    "percent",
]


def completeness(view: Study) -> pd.DataFrame:
    """Participants and those with each score, by population, score, wave, LA and arm (every
    LA of the view with teams appears, with zero counts where it has no participants)."""
    teams = view["teams"][["team_id", "local_authority", "arm"]]
    names = dict(view.settings.local_authorities)
    grid = teams[["local_authority", "arm"]].drop_duplicates()
    parts = []
    for population, scores in BASELINE_SCORES.items():
        pop = POPULATIONS[population]
        people = view[pop.file][[pop.id_column, "team_id"]].merge(teams, on="team_id")
        scored = measure_scores(view, population)
        for wave in WAVES:
            at = scored.loc[scored["wave"] == wave].set_index("id")
            for score in scores:
                has = people[pop.id_column].map(at[score]).notna()
                counts = (
                    people.assign(has=has)
                    .groupby(["local_authority", "arm"])["has"]
                    .agg(participants="size", **{"with score": "sum"})
                    .reset_index()
                )
                counts = grid.merge(counts, on=["local_authority", "arm"], how="left").fillna(0)
                parts.append(counts.assign(population=population, score=score, wave=wave, block=len(parts)))
    if not parts:
        return pd.DataFrame(columns=COMPLETENESS_COLUMNS)
    frame = pd.concat(parts, ignore_index=True)
    frame[["participants", "with score"]] = frame[["participants", "with score"]].astype(int)
    frame["percent"] = (100 * frame["with score"] / frame["participants"]).where(frame["participants"] > 0)
    frame["la_name"] = frame["local_authority"].map(names)
    frame["la_order"] = frame["local_authority"].map({la: k for k, la in enumerate(names)})
    frame["arm_order"] = frame["arm"].map({"kitbag": 0, "control": 1})
    frame = frame.sort_values(["block", "arm_order", "la_order"], kind="stable")
    return frame[COMPLETENESS_COLUMNS].reset_index(drop=True)


def attrition(frame: pd.DataFrame) -> pd.DataFrame:
    """Participants with a score at baseline and at follow-up per population, score and arm."""
    if frame.empty:
        return pd.DataFrame(columns=["population", "score", "arm", "baseline", "followup", "retained %"])
    table = frame.pivot_table(
        index=["population", "score", "arm"], columns="wave", values="with score", aggfunc="sum", sort=False
    ).reset_index()
    table.columns.name = None
    table = table.reindex(columns=["population", "score", "arm", *WAVES], fill_value=0)
    table["retained %"] = (100 * table["followup"] / table["baseline"]).where(table["baseline"] > 0)
    return table


__all__ = ["attrition", "completeness"]
