"""What the data-quality notebook shows: contract status, completeness, attrition."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from data_contracts import validate_study
from kitbag_analysis.outcomes import POPULATIONS, measure_scores
from kitbag_analysis.report import STYLE, load
from kitbag_analysis.sdc import SUPPRESSED, suppression_mask
from kitbag_analysis.study import Study
from kitbag_analysis.units import ALL, restrict

SCORES = {
    "children": ("sdq_total", "cries8_total"),
    "practitioners": ("gse_total", "pss10_total"),
    "carers": ("gse_total",),
}


def contract_status_html(study_dir: str | Path, study_cache: str = "") -> str:
    """Every contract's status: from the batch's validation when cached, else validated now."""
    report = load(study_dir, study_cache).report if study_cache else validate_study(study_dir).report
    if report.ok:
        body = "<p>Every contract of study-data.md holds.</p>"
    else:
        rows = pd.DataFrame(
            [{"file": f.file, "column": f.column, "check": f.check, "rows failing": f.count} for f in report.failures]
        )
        body = rows.to_html(index=False, border=0)
    return f"{STYLE}<div class='kb'><h2>Contract status</h2>{body}</div>"


def completeness(study: Study, unit: str) -> pd.DataFrame:
    """Share of participants with each score, by population, score, wave, arm and LA."""
    view = restrict(study, unit)
    rows = []
    teams = view["teams"][["team_id", "local_authority", "arm"]]
    for population, scores in SCORES.items():
        pop = POPULATIONS[population]
        people = view[pop.file][[pop.id_column, "team_id"]].merge(teams, on="team_id")
        scored = measure_scores(view, population)
        for wave in ("baseline", "followup"):
            at = scored.loc[scored["wave"] == wave].set_index("id")
            for score in scores:
                has = people[pop.id_column].map(at[score]).notna()
                grouped = has.groupby([people["local_authority"], people["arm"]])
                for (la, arm), part in grouped:
                    rows.append(
                        {
                            "population": population,
                            "score": score,
                            "wave": wave,
                            "local_authority": la,
                            "arm": arm,
                            "participants": len(part),
                            "with score": int(part.sum()),
                        }
                    )
    frame = pd.DataFrame(rows)
    frame["percent"] = 100 * frame["with score"] / frame["participants"]
    return frame


def completeness_html(study_dir: str | Path, unit: str, study_cache: str = "") -> str:
    study = load(study_dir, study_cache)
    t = study.settings.sdc_threshold
    frame = completeness(study, unit)
    shown = frame.astype(object)
    # participants per LA and arm add up to the arm's total, published in the report's flow
    groups = [frame["population"], frame["score"], frame["wave"], frame["arm"]]
    small = suppression_mask(frame["participants"], groups, t)
    low = frame["with score"] < t
    shown["participants"] = frame["participants"].map("{:,}".format).where(~small, SUPPRESSED)
    shown["with score"] = frame["with score"].map("{:,}".format).where(~(low | small), SUPPRESSED)
    shown["percent"] = frame["percent"].map("{:.1f}".format).where(~(low | small), SUPPRESSED)
    title = "all local authorities" if unit == ALL else html.escape(study.settings.local_authorities[unit])
    attrition = frame.pivot_table(
        index=["population", "score", "arm"], columns="wave", values="with score", aggfunc="sum"
    ).reset_index()
    attrition["retained %"] = 100 * attrition["followup"] / attrition["baseline"]
    att = attrition.astype(object)
    for col in ("baseline", "followup"):
        att[col] = attrition[col].map("{:,.0f}".format).where(attrition[col] >= t, SUPPRESSED)
    small = attrition[["baseline", "followup"]].min(axis=1) < t
    att["retained %"] = attrition["retained %"].map("{:.1f}".format).where(~small, SUPPRESSED)
    return (
        f"<div class='kb'><h2>Completeness of measures ({title})</h2>"
        + shown.to_html(index=False, border=0)
        + "<h2>Attrition: participants with a score at each wave</h2>"
        + att.to_html(index=False, border=0)
        + "</div>"
    )
