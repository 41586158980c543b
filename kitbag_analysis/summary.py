"""What a loaded study holds, per local authority and arm (counts for the evaluator's terminal;
published tables go through disclosure control in the reports)."""

from __future__ import annotations

import pandas as pd

from kitbag_analysis.study import Study


def holdings(study: Study) -> pd.DataFrame:
    """One row per local authority (plus ``all``): teams, participants, measures, exclusions."""
    teams = study["teams"][["team_id", "local_authority", "arm"]]

    def per_la(frame: pd.DataFrame, id_col: str | None = None) -> pd.Series:
        on_team = frame.merge(teams, on="team_id", how="inner")
        if id_col:
            on_team = on_team.drop_duplicates(id_col)
        return on_team.groupby("local_authority").size()

    def measured(people: str, measures: str, id_col: str, wave: str) -> pd.Series:
        m = study[measures]
        ids = m.loc[m["wave"] == wave, [id_col]]
        return per_la(ids.merge(study[people][[id_col, "team_id"]], on=id_col))

    table = pd.DataFrame({
        "teams (kitbag)": teams[teams["arm"] == "kitbag"].groupby("local_authority").size(),
        "teams (control)": teams[teams["arm"] == "control"].groupby("local_authority").size(),
        "children": per_la(study["children"]),
        "children with follow-up": measured("children", "child_measures", "child_id",
                                            "followup"),
        "practitioners": per_la(study["practitioners"]),
        "carers": per_la(study["carers"]),
    })  # fmt: skip
    excluded = study.exclusions.merge(teams, on="team_id", how="left")
    for kind in ("child", "practitioner", "carer"):
        table[f"excluded {kind}"] = (
            excluded[excluded["participant_type"] == kind].groupby("local_authority").size()
        )
    table = table.reindex(list(study.settings.local_authorities)).fillna(0).astype(int)
    table.loc["all"] = table.sum()
    table.index.name = "unit"
    return table
