"""What the effectiveness notebook shows, as functions the notebook calls (it holds no logic).

Every published number passes `sdc` first: counts below the study's threshold show as ``[c]``
(with the percentages and means built on them), models need ten residual degrees of freedom,
and no minimum, maximum, row or participant id is ever shown.
"""

from __future__ import annotations

import html
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kitbag_analysis.analysis import UnitAnalysis, analyse
from kitbag_analysis.models import ICC_FLOOR, LOG10_GAMMA_GRID, Z95
from kitbag_analysis.outcomes import OUTCOMES, POPULATIONS
from kitbag_analysis.sdc import SUPPRESSED, model_publishable, safe_count, suppress_counts, suppression_mask
from kitbag_analysis.study import Study, load_study
from kitbag_analysis.units import ALL

STYLE = """<style>
.kb table {border-collapse: collapse; margin: 0.5em 0 1.2em; font-size: 0.9em}
.kb th, .kb td {border: 1px solid #ccc; padding: 3px 8px; text-align: right}
.kb th:first-child, .kb td:first-child {text-align: left}
.kb .stamp {background: #f4f6f8; border-left: 4px solid #1f5f8b; padding: 0.6em 1em}
.kb .dirty {background: #fff1f0; border-left-color: #c0392b}
.kb .dirty-mark {color: #c0392b; font-weight: bold}
.kb .note {color: #555; font-size: 0.9em}
</style>"""


@dataclass
class Report:
    """One unit's report: the loaded study, its analysis, the audit stamp."""

    unit: str
    study: Study
    analysis: UnitAnalysis
    stamp: dict
    per_unit: dict[str, list[dict]] = field(default_factory=dict)  # the forest plot (unit all)
    figures: dict[str, bytes] = field(default_factory=dict)  # PNGs as shown, for the output checker

    @property
    def threshold(self) -> int:
        return self.study.settings.sdc_threshold

    @property
    def unit_name(self) -> str:
        if self.unit == ALL:
            return "All local authorities (pooled trial)"
        return self.study.settings.local_authorities[self.unit]


def load(study_dir: str | Path, study_cache: str | Path | None = None) -> Study:
    """The study, from the batch's cache when given (validated once per batch), else loaded."""
    if study_cache and Path(study_cache).exists():
        with open(study_cache, "rb") as handle:
            return pickle.load(handle)
    return load_study(study_dir)


def build(
    study_dir: str | Path, unit: str, audit_stamp: str | dict = "", study_cache: str | Path | None = None
) -> Report:
    """Load, analyse and gather everything the report shows."""
    study = load(study_dir, study_cache)
    stamp = (
        json.loads(audit_stamp)
        if isinstance(audit_stamp, str) and audit_stamp
        else (audit_stamp or {"run_id": "interactive (not a batch run)"})
    )
    analysis = analyse(study, unit)
    mark_publishable(analysis.results["analyses"])
    report = Report(unit=unit, study=study, analysis=analysis, stamp=stamp)
    if unit == ALL:
        for other in study.settings.local_authorities:
            others = analyse(study, other).results["analyses"]
            report.per_unit[other] = mark_publishable(others)
        report.per_unit[ALL] = analysis.results["analyses"]
    return report


def mark_publishable(analyses: list[dict]) -> list[dict]:
    for a in analyses:
        a["publishable"] = a["status"] == "ok" and model_publishable(a.get("df_resid"))
    return analyses


def write_results(report: Report, path: str | Path) -> None:
    """results.json: the exact numbers (stays in the secure environment)."""
    if not path:
        return
    results = json.loads(json.dumps(report.analysis.results))
    for a in results["analyses"]:
        a.pop("publishable", None)
    Path(path).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


# --- sections ------------------------------------------------------------------------------
def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, na_rep="", border=0)


def header_html(report: Report) -> str:
    s = report.study.settings
    return (
        f"{STYLE}<div class='kb'><h1>{html.escape(s.name)}: effectiveness report</h1>"
        f"<h2>{html.escape(report.unit_name)}</h2></div>"
    )


def stamp_html(report: Report) -> str:
    """The audit stamp, minus anything disclosive, marked when the code had changes."""
    st = report.stamp
    dirty = st.get("git_dirty")
    mark = (
        (
            "<span class='dirty-mark'>UNCOMMITTED CODE CHANGES: this report was made from code "
            "that differs from the recorded commit.</span><br>"
        )
        if dirty
        else ""
    )
    excluded = report.analysis.results["excluded"]
    rows = [
        ("run", st.get("run_id")),
        ("created (UTC)", st.get("created_at")),
        ("tool version", st.get("tool_version")),
        ("code commit", f"{st.get('git_commit')}{' (uncommitted changes)' if dirty else ''}"),
        ("python and packages", ", ".join(f"{k} {v}" for k, v in st.get("packages", {}).items())),
        ("unit", report.unit),
        ("inputs (SHA-256)", "; ".join(f"{i['path']} {i['sha256'][:16]}…" for i in st.get("inputs", []))),
        ("notebook (SHA-256)", "; ".join(f"{k} {v[:16]}…" for k, v in st.get("notebook_sha256", {}).items())),
        (
            "excluded (withdrawn, objected or restricted)",
            ", ".join(f"{k}: {safe_count(v, report.threshold)}" for k, v in excluded.items()),
        ),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    cls = "stamp dirty" if dirty else "stamp"
    return f"<div class='kb'><div class='{cls}'><b>Audit stamp</b><br>{mark}<table>{body}</table></div></div>"


FLOW_TOTAL, FLOW_EXCLUDED = "enrolled", "excluded (withdrawn, objected or restricted)"
PEOPLE_FREE_STAGES = ("teams randomised",)  # teams are not people: shown as they are


def flow_table(report: Report) -> pd.DataFrame:
    """Participant flow as published. Enrolled = excluded + included, and the total excluded is in
    the stamp, so a suppressed excluded count suppresses both arms' excluded and enrolled."""
    flow = report.analysis.tables["participant_flow"]
    t = report.threshold
    shown = suppress_counts(flow, ["kitbag", "control"], t)
    people = ~flow["stage"].isin(PEOPLE_FREE_STAGES)
    for arm in ("kitbag", "control"):
        shown.loc[~people, arm] = flow.loc[~people, arm].map("{:,}".format)
    excluded = flow["stage"] == FLOW_EXCLUDED
    small = flow.loc[excluded, ["kitbag", "control"]].lt(t).any(axis=1)
    hit = flow.loc[excluded, "population"][small]
    secondary = flow["population"].isin(hit) & flow["stage"].isin([FLOW_EXCLUDED, FLOW_TOTAL])
    shown.loc[secondary, ["kitbag", "control"]] = SUPPRESSED
    return shown


def flow_html(report: Report) -> str:
    return (
        "<div class='kb'><h3>1. Participant flow</h3>"
        + _table(flow_table(report))
        + f"<p class='note'>Counts of people below {report.threshold} are shown as {SUPPRESSED}, "
        "with a second cell where a total would reveal them.</p></div>"
    )


def _fmt(x: float | None, digits: int = 2) -> str:
    return "" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def _n_pct(n: pd.Series, pct: pd.Series, threshold: int) -> pd.Series:
    """ "n (pct%)", or [c] where n is below the threshold."""
    text = n.map("{:,.0f}".format) + " (" + pct.map("{:.1f}".format) + "%)"
    return text.where(n >= threshold, SUPPRESSED)


def _categorical_masks(table: pd.DataFrame, groups: list[str], threshold: int) -> dict[str, pd.Series]:
    """Per arm, which cells to suppress (primary and secondary within each group)."""
    keys = [table[g] for g in groups]
    return {arm: suppression_mask(table[f"n_{arm}"], keys, threshold) for arm in ("kitbag", "control")}


def baseline_table(report: Report) -> pd.DataFrame:
    base = report.analysis.tables["baseline"]
    t = report.threshold
    counts = base["statistic"] == "n (%)"
    masks = _categorical_masks(base.loc[counts], ["population", "characteristic"], t)
    shown = base[["population", "characteristic", "level"]].copy()
    empty = pd.Series(index=base.index, dtype=float)
    for arm in ("kitbag", "control"):
        n = base[f"n_{arm}"]
        hide = masks[arm].reindex(base.index, fill_value=False)
        categorical = _n_pct(n, base.get(f"pct_{arm}", empty), t).where(~hide, SUPPRESSED)
        means = (
            base.get(f"mean_{arm}", empty).map("{:.1f}".format)
            + " ("
            + base.get(f"sd_{arm}", empty).map("{:.1f}".format)
            + "), n="
            + n.map("{:,.0f}".format)
        ).where(n >= t, SUPPRESSED)
        shown[arm] = categorical.where(counts, means)
    hidden = (shown["kitbag"] == SUPPRESSED) | (shown["control"] == SUPPRESSED)
    shown["SMD"] = base["smd"].map("{:.2f}".format).where(~hidden, SUPPRESSED)
    return shown


def baseline_html(report: Report) -> str:
    return (
        "<div class='kb'><h3>2. Baseline characteristics by arm</h3>"
        "<p class='note'>n (%) or mean (SD); SMD = standardised mean difference, kitbag − control.</p>"
        + _table(baseline_table(report))
        + "</div>"
    )


def effectiveness_table(report: Report) -> pd.DataFrame:
    t = report.threshold
    rows = []
    for a in report.analysis.results["analyses"]:
        row = {
            "outcome": a["outcome"],
            "population": a["population"],
            "n kitbag": safe_count(a["n"]["kitbag"], t),
            "n control": safe_count(a["n"]["control"], t),
        }
        if a["status"] != "ok":
            row.update(
                {"estimate (95% CI)": "not estimable", "effect size (95% CI)": "", "p": "", "model": a["reason"]}
            )
        elif not a["publishable"]:
            row.update(
                {
                    "estimate (95% CI)": "not shown",
                    "effect size (95% CI)": "",
                    "p": "",
                    "model": "fewer than 10 residual degrees of freedom (disclosure control)",
                }
            )
        else:
            e = a["effect"]
            scale = {
                "continuous": "difference",
                "count": "log rate ratio",
                "binary": "log odds ratio",
            }[a["kind"]]
            row.update(
                {
                    "estimate (95% CI)": f"{a['estimate']:.2f} ({a['ci_low']:.2f} to {a['ci_high']:.2f}) [{scale}]",
                    "effect size (95% CI)": f"{e['measure']} {e['value']:.2f} ({e['ci_low']:.2f} to {e['ci_high']:.2f})",  # noqa: E501
                    "p": f"{a['p_value']:.3f}" if a["p_value"] >= 0.001 else "<0.001",
                    "model": a["model"] + (f", ICC {a['icc']:.3f}" if a.get("icc") is not None else ""),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def effectiveness_html(report: Report) -> str:
    return "<div class='kb'><h3>3. Effectiveness</h3>" + _table(effectiveness_table(report)) + "</div>"


def uptake_table(report: Report) -> pd.DataFrame:
    up = report.analysis.tables["uptake"]
    masks = _categorical_masks(up, ["population"], report.threshold)
    shown = up[["population", "level"]].rename(columns={"level": "kitbag_use at follow-up"})
    for arm in ("kitbag", "control"):
        shown[arm] = _n_pct(up[f"n_{arm}"], up[f"pct_{arm}"], report.threshold).where(~masks[arm], SUPPRESSED)
    return shown


def uptake_html(report: Report) -> str:
    return "<div class='kb'><h3>4. Uptake</h3>" + _table(uptake_table(report)) + "</div>"


def population_figures(report: Report) -> list:
    """One figure per population (PNG images: embedded in the HTML, no file or network)."""
    from IPython.display import Image

    from kitbag_analysis.figures import png, population_effects

    analyses = report.analysis.results["analyses"]
    for pop in POPULATIONS:
        report.figures[f"figure_{pop}"] = png(population_effects(analyses, pop, report.unit))
    return [Image(data=report.figures[f"figure_{pop}"]) for pop in POPULATIONS]


def forest_figure(report: Report):
    """The forest plot of Hedges' g across units (the pooled report only), as a PNG image."""
    from IPython.display import Image

    from kitbag_analysis.figures import forest, png

    if not report.per_unit:
        return None
    report.figures["figure_forest"] = png(forest(report.per_unit))
    return Image(data=report.figures["figure_forest"])


def methods_html(report: Report) -> str:
    """The methods, written from the same declarations and constants the code uses."""
    s = report.study.settings
    items = "".join(
        f"<li><b>{o.name}</b> ({o.population}, {o.kind}): {html.escape(o.definition)}.</li>" for o in OUTCOMES
    )
    la = (
        "fixed effects for local authority (the randomisation strata)"
        if report.unit == ALL
        else "no local-authority terms (a single authority)"
    )
    return f"""<div class='kb'><h3>Methods</h3>
<p>Participants whose latest consent-register status is withdrawn, objected or restricted were
removed before any analysis (on a tie of dates the most protective status holds); only their
number appears above. Children, practitioners and carers take the arm of their team at
randomisation (intention to treat). Analysis is complete-case on each outcome and its
covariates.</p>
<p>Scale scores: reverse items reversed; a (sub)scale with enough answered items scores
round(mean of answered items × number of items), halves rounded away from zero; SDQ total
difficulties is the sum of the four difficulty subscales. Windows are half-open: the follow-up
window is [window start, window start + {s.followup_days} days), window start being the later of
the team's randomisation and the child's enrolment (the team's randomisation for practitioners).
Days looked after are the union of care episodes [start, end) clipped to the window, open
episodes running to the window's end.</p>
<ul>{items}</ul>
<p>Continuous outcomes: linear mixed model with a random intercept per team, fitted by REML at
the global maximum of the REML likelihood over the ratio of team to residual variance (a log
grid from 10<sup>{LOG10_GAMMA_GRID[0]:.0f}</sup> to 10<sup>{LOG10_GAMMA_GRID[-1]:.0f}</sup>
refined by a bounded search, compared with the boundary of no team variance), with the
model-based standard error as lme4 reports it. Where the maximum is at the boundary or the ICC is
below {ICC_FLOOR}, ordinary least squares with team-clustered standard errors is used instead
(model <code>ols_cluster_robust</code>). Hedges' g uses the pooled within-arm SD of the follow-up
outcome among analysed participants with the small-sample factor J. Counts: Poisson GLM with
log(exposure days) offset; referral: logistic GLM adjusted for the baseline indicator; both with
team-clustered standard errors (statsmodels' default small-sample correction). This report has
{la}. 95% CIs are estimate ± {Z95} × SE; p-values two-sided, normal. Not estimable: fewer than
2 teams or 10 analysed participants in either arm, or no variation in the outcome.</p>
<p>Ethnicity groups follow the first letter of the DfE code (W White, M Mixed, A Asian,
B Black; Chinese, any other, refused and not obtained as Other/not known). Ages are completed
years at the child's window start, taking birth on the first of the birth month.</p>
<p>Disclosure control: counts of people below {s.sdc_threshold}, and percentages or means built on
them, are shown as {SUPPRESSED}; models are shown only with at least 10 residual degrees of
freedom; no minimum, maximum, row-level value or participant id is published.</p></div>"""
