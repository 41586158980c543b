"""What an output checker receives beside each report: `<unit>/sdc/` (analysis-plan.md §6).

ACRO re-checks the person-level frequency tables (baseline characteristics, uptake) with its
threshold rule; the tables as published (after kitbag's primary and secondary suppression),
the model results (ACRO has no GLM or mixed-model wrapper: kitbag checks their residual degrees
of freedom) and the figures are registered as custom outputs for review. `summary.json` says,
per output, what was suppressed or withheld and why.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from kitbag_analysis import report as rp
from kitbag_analysis.sdc import MIN_RESIDUAL_DF, SUPPRESSED, acro_review
from kitbag_analysis.tables import categorical_characteristics


def _uptake_people(report: rp.Report) -> list[tuple[str, pd.DataFrame]]:
    """Person-level kitbag_use at follow-up with arm, per population (for ACRO's crosstab)."""
    from kitbag_analysis.outcomes import POPULATIONS

    view = _view(report)
    frames = []
    for population in ("practitioners", "carers"):
        pop = POPULATIONS[population]
        teams = view["teams"][["team_id", "arm"]]
        people = view[pop.file].merge(teams, on="team_id")
        m = view[pop.measures]
        follow = m.loc[m["wave"] == "followup", [pop.id_column, "kitbag_use"]].merge(
            people[[pop.id_column, "arm"]], on=pop.id_column
        )
        frames.append((f"uptake_{population}", pd.DataFrame({"row": follow["kitbag_use"], "arm": follow["arm"]})))
    return frames


def _view(report: rp.Report):
    from kitbag_analysis.units import restrict

    return restrict(report.study, report.unit)


def write_release(report: rp.Report, sdc_dir: str | Path) -> dict:
    """Write ``sdc_dir`` (ACRO's summary in ``acro/``, the published tables, ``summary.json``)."""
    if not sdc_dir:
        return {}
    sdc_dir = Path(sdc_dir)
    published = sdc_dir / ".published"  # scratch: ACRO copies each registered file into acro/
    published.mkdir(parents=True, exist_ok=True)
    tables = {
        "participant_flow": rp.flow_table(report),
        "baseline_characteristics": rp.baseline_table(report),
        "effectiveness": rp.effectiveness_table(report),
        "uptake": rp.uptake_table(report),
    }
    custom: dict[str, tuple[Path, str]] = {}
    for name, table in tables.items():
        path = published / f"{name}.csv"
        table.to_csv(path, index=False)
        cells = int(table.isin([SUPPRESSED]).sum().sum())
        custom[name] = (
            path,
            f"{name} as published in report.html: {cells} cell(s) shown as {SUPPRESSED} "
            "(primary below the threshold and secondary against published totals)",
        )
    withheld = [
        a["outcome"] for a in report.analysis.results["analyses"] if a["status"] == "ok" and not a["publishable"]
    ]
    custom["effectiveness"] = (
        custom["effectiveness"][0],
        custom["effectiveness"][1]
        + (
            f"; models: GLM and mixed models checked by kitbag for >= {MIN_RESIDUAL_DF} residual degrees "
            f"of freedom; withheld: {', '.join(withheld) or 'none'}"
        ),
    )
    for name, data in report.figures.items():
        path = published / f"{name}.png"
        path.write_bytes(data)
        custom[name] = (
            path,
            "figure of aggregate effect estimates with 95% CIs; models shown only "
            f"with >= {MIN_RESIDUAL_DF} residual degrees of freedom",
        )
    view = _view(report)
    crosstabs = {}
    for population, name, values, arm, _levels in categorical_characteristics(view):
        crosstabs[f"baseline_{population}_{name.replace(' ', '_')}"] = pd.DataFrame({"row": values, "arm": arm})
    crosstabs.update(dict(_uptake_people(report)))
    statuses = acro_review(sdc_dir / "acro", report.threshold, crosstabs, custom)
    shutil.rmtree(published)
    summary = {
        "unit": report.unit,
        "threshold": report.threshold,
        "rules": [
            f"counts of people below {report.threshold} shown as {SUPPRESSED}, with the percentages, "
            "means and SMDs built on them",
            "secondary suppression: where a group's total is published, a second cell of the group",
            f"models shown only with >= {MIN_RESIDUAL_DF} residual degrees of freedom",
            "no minimum, maximum, row-level value or participant id",
        ],
        "outputs": {name: {"acro_status": status} for name, status in statuses.items()},
        "models_withheld": withheld,
        "release_candidates": ["report.html", "data_quality.html"],
        "stays_inside": ["report.ipynb", "data_quality.ipynb", "results.json"],
        "acro": "acro/results.json (ACRO's output-checking record of every output)",
    }
    (sdc_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
