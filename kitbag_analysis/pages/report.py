"""What the report notebooks call: build a unit's report (exact analysis + disclosure-controlled
release) and render its sections. The notebooks hold no logic; this module holds no rule of
what may be shown (that is `publication`) and no HTML (that is `templates/pages`).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitbag_analysis import atomic
from kitbag_analysis.analysis.analyse import UnitAnalysis, analyse, analysis_counts
from kitbag_analysis.analysis.labels import population_label
from kitbag_analysis.analysis.models import (
    ICC_FLOOR,
    LOG10_GAMMA_GRID,
    MIN_PARTICIPANTS_PER_ARM,
    MIN_TEAMS_PER_ARM,
)
from kitbag_analysis.analysis.names import EXCLUDED_TABLE, FLOW, SUMMARY
from kitbag_analysis.analysis.outcomes import OUTCOMES
from kitbag_analysis.errors import ReleaseRefused
from kitbag_analysis.pages import html
from kitbag_analysis.sdc import consort
from kitbag_analysis.sdc import release_tables as pb
from kitbag_analysis.sdc.cells import SUPPRESSED, PublishedEffect, Release
from kitbag_analysis.sdc.history import pattern_over_time
from kitbag_analysis.sdc.ledger import read_ledger
from kitbag_analysis.sdc.linked import key_json, linked_set
from kitbag_analysis.sdc.pattern import Pattern
from kitbag_analysis.sdc.policy import describe
from kitbag_analysis.sdc.release import headline, make_release
from kitbag_analysis.sdc.rules import MIN_RESIDUAL_DF, Publisher, subgroup_least
from kitbag_analysis.study.load import Study, load_study
from kitbag_analysis.study.units import ALL, check_unit, unit_name

EFFECTIVENESS_TITLE = "effectiveness report"


QUALITY_TITLE = "data quality"


@dataclass
class Report:
    """One unit's report: the exact analysis (secure side), the release (what is shown), the
    audit stamp and, for the pooled unit, every unit's published effects (the forest plot)."""

    unit: str
    study: Study
    analysis: UnitAnalysis
    release: Release
    stamp: dict[str, Any]
    pattern: Pattern | None = None
    per_unit: dict[str, list[PublishedEffect]] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)  # PNG copies of the figures shown, for ACRO's record

    @property
    def threshold(self) -> int:
        return self.study.settings.sdc_threshold

    @property
    def unit_name(self) -> str:
        return unit_name(self.study, self.unit)


# --- loading and analysing, with the run's in-memory cache -----------------------------------
_MEMO: dict[tuple, Any] = {}  # this process's (the kernel's) analyses of the run's study


def _memo_key(study_cache: str | Path | None) -> tuple | None:
    """The run's in-memory study file, by path and identity (a new run, a new key)."""
    if not study_cache:
        return None
    try:
        info = Path(study_cache).stat()
    except OSError:
        return None
    return (str(study_cache), info.st_dev, info.st_ino)


def _cached(study_cache: str | Path | None, what: str, make: Any) -> Any:  # noqa: ANN401
    key = _memo_key(study_cache)
    if key is None:
        return make()
    if _MEMO.get("key") != key:  # another run's study: forget its analyses
        _MEMO.clear()
        _MEMO["key"] = key
    if what not in _MEMO:
        _MEMO[what] = make()
    return _MEMO[what]


def _run_cache(study_cache: str | Path) -> dict[str, Any]:
    """What the run sends its kernels (`runs.private_folder`): the study and its pattern."""
    with open(study_cache, "rb") as handle:
        return pickle.load(handle)


def load(study_dir: str | Path, study_cache: str | Path | None = None) -> Study:
    """The study, from the run's in-memory cache when given (validated once per run)."""
    if _memo_key(study_cache) is not None:
        return _cached(study_cache, "run", lambda: _run_cache(study_cache))["study"]
    return load_study(study_dir)


def unit_analysis(study: Study, unit: str, study_cache: str | Path | None = None) -> UnitAnalysis:
    """``analyse(study, unit)``, reused within this kernel when another notebook of the run has
    already analysed this unit (kept in memory only)."""
    return _cached(study_cache, f"analysis-{unit}", lambda: analyse(study, unit))


def suppression_pattern(study: Study, study_cache: str | Path | None = None) -> Pattern:
    """The study's suppression pattern, coordinated over every unit and proven by the audit:
    computed once per study and settings (deterministic, so a single-unit report and a batch
    publish the same cells); a run computes it once and sends it with the study."""
    if _memo_key(study_cache) is not None:
        return _cached(study_cache, "run", lambda: _run_cache(study_cache))["pattern"]
    linked = linked_set(study)
    return pattern_over_time(linked, study.settings.sdc_threshold, read_ledger(study.path), "report")


# --- building ---------------------------------------------------------------------------------
def _stamp(audit_stamp: str | dict | None) -> dict[str, Any]:
    if isinstance(audit_stamp, dict) and audit_stamp:
        return audit_stamp
    if isinstance(audit_stamp, str) and audit_stamp:
        return json.loads(audit_stamp)
    return {"run_id": "interactive (not a batch run)"}


def build(
    study_dir: str | Path, unit: str, audit_stamp: str | dict = "", study_cache: str | Path | None = None
) -> Report:
    """Load (or reuse), analyse and gather everything a unit's pages show."""
    study = load(study_dir, study_cache)
    check_unit(study, unit)
    analysis = unit_analysis(study, unit, study_cache)
    pattern = suppression_pattern(study, study_cache)
    release = make_release(study, analysis, pattern.protection)
    _check_linked(release, pattern)
    report = Report(unit, study, analysis, release, _stamp(audit_stamp), pattern)
    if unit == ALL:
        for other in study.settings.local_authorities:
            shown = Publisher(other, study.settings.sdc_threshold, pattern.protection)
            report.per_unit[other] = pb.published_effects(unit_analysis(study, other, study_cache).outcomes, shown)
        report.per_unit[ALL] = report.release.effects
    return report


def _check_linked(release: Release, pattern: Pattern) -> None:
    """Every count the release shows is a cell of the audited linked set, with the same value."""
    values = pattern.linked.values if pattern.linked else {}
    for cell in release.cells():
        if cell.measure == "n" and cell.value is not None and values.get(cell.key) != int(cell.value):
            raise ReleaseRefused(f"the release is refused: {cell.key.label} is not in the audited table set.")


# --- outputs that stay inside or go to the output checker ------------------------------------
def write_outputs(report: Report, results_path: str | Path = "", sdc_dir: str | Path = "") -> None:
    """results.json (exact, stays inside), release.json (what the pages show) and the output
    checker's record in ``sdc_dir``. Interactive runs (no paths) write nothing."""
    if results_path:
        results_path = Path(results_path)
        atomic.write_text(results_path, json.dumps(report.analysis.results.to_json(), indent=2) + "\n")
        atomic.write_text(results_path.with_name("release.json"), json.dumps(release_json(report), indent=2) + "\n")
    if results_path:
        atomic.write_text(Path(results_path).with_name(BRIEF), brief_html(report))
    if results_path and report.unit == ALL:  # the trial's reporting checklist and abstract (outputs.md)
        folder = Path(results_path).parent
        checklist = consort_checklist(report)
        atomic.write_text(folder / CONSORT_JSON, json.dumps(consort_json(report, checklist), indent=2) + "\n")
        atomic.write_text(folder / CONSORT_HTML, consort_checklist_html(report, checklist))
        atomic.write_text(folder / consort.ABSTRACT_PAGE, abstract_html(report))
    if sdc_dir:
        from kitbag_analysis.sdc.output_checker import write_record

        summary = write_record(report, sdc_dir)
        atomic.write_text(Path(sdc_dir) / "summary.html", sdc_summary_html(report, summary))


BRIEF = "brief.html"
CONSORT_HTML, CONSORT_JSON = "consort.html", "consort.json"
# what the pooled unit publishes beside its pages: the reporting checklist and the abstract
REPORTING = (CONSORT_HTML, CONSORT_JSON, consort.ABSTRACT_PAGE)


def consort_basis(report: Report) -> consort.Basis:
    """What the checklist and the abstract read: the release, the settings, the ledger's earlier
    releases this one is protected against, and the months teams were randomised."""
    s = report.study.settings
    history = report.pattern.history if report.pattern else None
    return consort.Basis(
        report.release,
        s,
        consort.earlier_releases(history.against if history else ()),
        consort.randomisation_months(report.study.frames["teams"], s.local_authorities),
    )


def consort_checklist(report: Report) -> consort.Checklist:
    """The trial's CONSORT 2025 checklist with the cluster extension, filled from this release."""
    return consort.checklist(consort_basis(report))


def consort_json(report: Report, checklist: consort.Checklist) -> dict[str, Any]:
    """consort.json: every item in order, its status and what fills it (cells as printed)."""
    return {"study": report.study.settings.name, "run_id": report.stamp.get("run_id", ""), "unit": report.unit} | (
        checklist.to_json()
    )


def consort_checklist_html(report: Report, checklist: consort.Checklist) -> str:
    """consort.html: the checklist as a page (each reported item links to its section of report.html)."""
    return html.render(
        "checklist",
        run_id=report.stamp.get("run_id", ""),
        study_name=report.study.settings.name,
        title=checklist.title,
        statement=consort.STATEMENT,
        stamp=stamp_compact_html(report, "the whole audit stamp is at the end of the effectiveness report"),
        counts=checklist.counts(),
        items=checklist.items,
        reported=consort.REPORTED,
    )


def abstract_html(report: Report) -> str:
    """abstract.html: the structured abstract (CONSORT for abstracts) from the same release."""
    return html.render(
        "abstract",
        run_id=report.stamp.get("run_id", ""),
        study_name=report.study.settings.name,
        title=consort.report_title(report.study.settings.name),
        stamp=stamp_compact_html(report, "the whole audit stamp is at the end of the effectiveness report"),
        sections=consort.abstract(consort_basis(report)),
    )


def brief_figure_html(report: Report) -> str:
    """The brief's one figure: every published effect of the unit (a g panel, a ratio panel)."""
    from dataclasses import replace as with_label

    from kitbag_analysis.pages.figures import alt_text, population_effects, svg

    effects = [
        with_label(e, label=f"{e.label} ({population_label(e.population).lower()})") for e in report.release.effects
    ]
    fig = population_effects(effects, f"Effect of Kitbags ({report.unit_name})")
    if fig is None:
        return ""
    caption = "Scores: Hedges' g (0 = no difference). Counts and referral: ratio on a log scale (1 = no difference)."
    return html.figure(svg(fig), f"Effect estimates with 95% CIs. {alt_text(effects)}", caption)


def brief_html(report: Report) -> str:
    """``<unit>/brief.html``: the summary of findings, the flow, one figure and how to read them,
    from the release only (two A4 pages at most in print)."""
    from kitbag_analysis.sdc.release_tables import VERDICT_RULE

    return html.render(
        "brief",
        run_id=report.stamp.get("run_id", ""),
        study_name=report.study.settings.name,
        unit_name=report.unit_name,
        stamp=stamp_compact_html(report, "the whole audit stamp is at the end of the effectiveness report"),
        summary=report.release.tables.get(SUMMARY),  # none where the impact evaluation was removed (§9)
        impact=impact_html(report.study),
        flow=report.release.tables[FLOW],
        figure=brief_figure_html(report),
        verdict_rule=VERDICT_RULE,
        suppressed=SUPPRESSED,
        threshold=report.threshold,
    )


def ledger_status(study: Study) -> str:
    """What the study's release ledger says (the output checker's page)."""
    path = Path(study.path) / "release_ledger.json"
    if not path.is_file():
        return "no earlier releases (the study has no release_ledger.json)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "release_ledger.json is present but unreadable"
    releases = data.get("releases") if isinstance(data, dict) else data
    if isinstance(releases, list):
        return f"{len(releases)} earlier release(s) recorded; this release's audit counts them as published"
    return "release_ledger.json is present"


def sdc_summary_html(report: Report, summary: dict[str, Any]) -> str:
    """``<unit>/sdc/summary.html``: the output checker's summary.json as a page."""
    from collections import Counter

    from kitbag_analysis.sdc.output_checker import WHY

    by_table: dict[str, list[dict]] = {}
    for cell in summary.get("suppressed", []):
        title = report.release.tables[cell["table"]].title if cell["table"] in report.release.tables else cell["table"]
        by_table.setdefault(title, []).append(cell)
    acro = summary.get("acro", {})
    statuses = acro.get("statuses", {})
    checked = acro.get("checks", {})
    items = [(name, {"status": status, "summary": checked.get(name, "")}) for name, status in statuses.items()]
    return html.render(
        "sdc_summary",
        run_id=report.stamp.get("run_id", ""),
        study_name=report.study.settings.name,
        unit_name=report.unit_name,
        stamp=stamp_compact_html(report, "the whole audit stamp is at the end of the effectiveness report"),
        s=summary,
        kinds=dict(Counter(c["why"] for c in summary.get("suppressed", []))),
        by_table=by_table,
        why=WHY,
        ledger=ledger_status(report.study),
        acro=items,
        acro_counts=dict(Counter(statuses.values())),
        reporting=REPORTING if report.unit == ALL else (),
        reporting_cells=len(consort_checklist(report).cells()) if report.unit == ALL else 0,
    )


def release_json(report: Report) -> dict[str, Any]:
    """release.json: every number the pages show, one cell each, with the identities and
    orderings among counts that touch this unit's cells (what `kitbag audit` re-solves)."""
    data = report.release.to_json() | {
        "study": report.study.settings.name,
        "unit_name": report.unit_name,
        "title": consort.report_title(report.study.settings.name),
        "headline": headline(report.release),
    }
    linked = report.pattern.linked if report.pattern else None
    if linked is not None:
        mine = {c.key for c in report.release.cells()}
        data["identities"] = [i.to_json() for i in linked.identities if mine.intersection(i.cells)]
        data["bounds"] = [
            {"smaller": key_json(a), "larger": key_json(b)} for a, b in linked.bounds if a in mine or b in mine
        ]
    return data


def counts_releases(study_dir: str | Path) -> tuple[list[dict[str, Any]], Pattern]:
    """Every unit's release.json as a batch of ``study_dir`` would publish its counts and the numbers
    built on them (no model is fitted), honouring the study's ledger, with the pattern: what two
    successive releases give a reader to compare (tests/test_ledger.py, benchmarks/ledger_cost.py)."""
    study = load_study(study_dir)
    pattern = suppression_pattern(study)
    releases = []
    for unit in study.units:
        analysis = analysis_counts(study, unit)
        release = make_release(study, analysis, pattern.protection)
        releases.append(release_json(Report(unit, study, analysis, release, {}, pattern)))
    return releases, pattern


# --- sections (HTML) ----------------------------------------------------------------------------
NOT_DONE = (
    "the effectiveness models (analysis-plan.md §4) and the What-Works statistics (§7: effect sizes on the "
    "total variance, MDES, compliance and CACE, missing-data and subgroup analyses, randomisation inference)"
)


def impact_html(study: Study) -> str:
    """The statement every page opens with when the impact evaluation was removed or the trial
    stopped (analysis-plan.md §9): why, when, and what was not done ('' when planned)."""
    impact = study.settings.impact
    if impact.done:
        return ""
    return html.render(
        "impact",
        status=impact.status,
        reason=impact.reason,
        decided_on=impact.decided_on.isoformat() if impact.decided_on else "",
        not_done=NOT_DONE,
    )


def header_html(report: Report, title: str = EFFECTIVENESS_TITLE) -> str:
    """A page's title: the effectiveness report's names the design (CONSORT cluster extension 1a)."""
    name = report.study.settings.name
    heading = consort.report_title(name) if title == EFFECTIVENESS_TITLE else f"{name}: {title}"
    return html.render("header", heading=heading, subheading=report.unit_name) + impact_html(report.study)


def stamp_html(report: Report) -> str:
    """The audit stamp, minus anything disclosive, marked when the code had changes."""
    st = report.stamp
    dirty = bool(st.get("git_dirty"))
    excluded = report.release.tables[EXCLUDED_TABLE]
    counts = ", ".join(f"{h}: {c.text}" for h, c in zip(excluded.header, excluded.rows[0], strict=True))
    rows = [
        ("run", st.get("run_id")),
        ("created (UTC)", st.get("created_at")),
        ("tool version", st.get("tool_version")),
        ("code commit", f"{st.get('git_commit')}{' (uncommitted changes)' if dirty else ''}"),
        ("python and packages", ", ".join(f"{k} {v}" for k, v in st.get("packages", {}).items())),
        ("unit", report.unit),
        ("inputs (SHA-256)", "; ".join(f"{i['path']} {i['sha256'][:16]}…" for i in st.get("inputs", []))),
        ("notebook (SHA-256)", "; ".join(f"{k} {v[:16]}…" for k, v in st.get("notebook_sha256", {}).items())),
        ("excluded (withdrawn, objected or restricted)", counts),
    ]
    return html.render("stamp", rows=rows, dirty=dirty, run_id=st.get("run_id", ""))


def stamp_compact_html(report: Report, where: str = "the whole audit stamp is at the end of this page") -> str:
    """The audit stamp in one line for the top of a page (run, date, version, commit)."""
    st = report.stamp
    commit = str(st.get("git_commit") or "")[:12]
    return html.render(
        "stamp_compact",
        run_id=st.get("run_id", ""),
        created=st.get("created_at", ""),
        version=st.get("tool_version", ""),
        commit=commit,
        dirty=bool(st.get("git_dirty")),
        where=where,
    )


def section_html(report: Report, *names: str, heading: str = "", intro: str = "", first: bool = False) -> str:
    """One or more of the release's tables under a heading (an impact table of a removed or
    stopped evaluation reads "not done", analysis-plan.md §9)."""
    impact = report.study.settings.impact
    if not impact.done and any(n not in report.release.tables for n in names):
        intro = f"Not done: the impact evaluation was {impact.status} ({impact.decided_on}): {impact.reason}"
    tables = [report.release.tables[n] for n in names if n in report.release.tables]
    return html.render("section", tables=tables, heading=heading, intro=intro, first=first)


def consort_html(report: Report, heading: str = "") -> str:
    """The participant flow drawn as a CONSORT-style diagram per population (inline SVG), from the
    flow table's published cells: the text of each box is exactly the table's."""
    flow = report.release.tables[FLOW]
    populations: dict[str, list[dict]] = {}
    for row in flow.rows:
        population, stage, kitbag, control = row
        populations.setdefault(population, []).append({"label": stage, "kitbag": kitbag.text, "control": control.text})
    return html.render(
        "consort",
        heading=heading,
        suppressed=SUPPRESSED,
        populations=[{"label": label, "stages": stages} for label, stages in populations.items()],
    )


def population_figures_html(report: Report) -> str:
    """One figure per population, from the published effects only (SVG embedded, alt text)."""
    from kitbag_analysis.pages.figures import alt_text, png, population_effects, svg

    parts = []
    for population in dict.fromkeys(o.population for o in OUTCOMES):
        effects = [e for e in report.release.effects if e.population == population]
        fig = population_effects(effects, f"{population_label(population)}: effect of Kitbags ({report.unit_name})")
        if fig is None:
            continue
        report.figures[f"figure_{population}"] = png(fig)
        data = svg(fig)
        alt = f"{population_label(population)}: effect estimates with 95% CIs. {alt_text(effects)}"
        caption = (
            "Scores: Hedges' g (0 = no difference). Counts and referral: ratio on a log scale (1 = no difference)."
        )
        parts.append(html.figure(data, alt, caption))
    return "".join(parts)


def forest_html(report: Report) -> str:
    """The forest plot of Hedges' g across units (the pooled report only)."""
    from kitbag_analysis.pages.figures import alt_text, forest, png, svg

    if not report.per_unit:
        return ""
    names = {u: report.study.settings.local_authorities.get(u, "Pooled (all)") for u in report.per_unit}
    fig = forest(report.per_unit, names)
    if fig is None:
        return ""
    report.figures["figure_forest"] = png(fig)
    data = svg(fig)
    alt = "Forest plot of Hedges' g by local authority with the pooled estimate. " + alt_text(
        [e for effects in report.per_unit.values() for e in effects if e.measure == "hedges_g"]
    )
    return html.figure(data, alt, "Hedges' g with 95% CI per local authority; the diamond is the pooled estimate.")


def methods_html(report: Report) -> str:
    """The methods, written from the same declarations and constants the code uses."""
    s = report.study.settings
    glossary = [(o.name, o.label) for o in OUTCOMES] + [
        ("hedges_g", "Hedges' g"),
        ("irr", "incidence rate ratio"),
        ("odds_ratio", "odds ratio"),
        ("mixedlm", "linear mixed model"),
        ("ols_cluster_robust", "OLS with bias-reduced team-clustered SEs"),
        ("poisson_glm_cluster", "Poisson GLM with bias-reduced team-clustered SEs"),
        ("logistic_glm_cluster", "logistic GLM with bias-reduced team-clustered SEs"),
        ("df", "degrees of freedom of the t intervals and p-values (J − g₂ − 2)"),
        (SUPPRESSED, "suppressed by disclosure control"),
    ]
    pattern = getattr(report, "pattern", None)  # (the methods text of a page without a run's pattern)
    return html.render(
        "methods",
        followup_days=s.followup_days,
        randomised=consort.randomisation_text(
            consort.randomisation_months(report.study.frames["teams"], s.local_authorities)
        ),
        final_collection=s.final_collection.isoformat(),
        outcomes=[{"label": o.label, "population": o.population, "definition": o.definition} for o in OUTCOMES],
        grid_low=f"{LOG10_GAMMA_GRID[0]:.0f}",
        grid_high=f"{LOG10_GAMMA_GRID[-1]:.0f}",
        icc_floor=ICC_FLOOR,
        la_terms="fixed effects for local authority (the randomisation strata)"
        if report.unit == ALL
        else "no local-authority terms (a single authority)",
        g2_words="the local-authority terms (the authorities present less one)"
        if report.unit == ALL
        else "0 (no local-authority terms)",
        min_teams=MIN_TEAMS_PER_ARM,
        min_participants=MIN_PARTICIPANTS_PER_ARM,
        threshold=s.sdc_threshold,
        suppressed=SUPPRESSED,
        policy=describe(s.disclosure, s.sdc_threshold),
        pattern_method=pattern.method if pattern else "",
        pattern_seconds=f"{pattern.seconds:.1f}" if pattern else "",
        time_limit=f"{pattern.time_limit:g}" if pattern else "",
        earlier=_earlier_releases(report),
        min_df=MIN_RESIDUAL_DF,
        subgroup_least=subgroup_least(s.sdc_threshold),
        glossary=glossary,
        ww=_whatworks_methods(report),
        verdict_rule=pb.VERDICT_RULE,
    )


def _earlier_releases(report: Report) -> str:
    """The releases in the study's ledger this one is protected against, in words ('' for none)."""
    pattern = getattr(report, "pattern", None)  # (the methods text of a page without a run's pattern)
    history = pattern.history if pattern else None
    if not history or not history.against:
        return ""
    named = ", ".join(f"{a.kind} {a.run_id} (released {a.released_at[:10]})" for a in history.against)
    return f"{len(history.against)} earlier release(s): {named}"


def _whatworks_methods(report: Report) -> dict[str, Any]:
    """The constants of analysis-plan.md §7 as the methods section states them."""
    from kitbag_analysis.analysis.labels import subgroup_level_label
    from kitbag_analysis.analysis.outcomes import SUBGROUPS
    from kitbag_analysis.analysis.whatworks import compliance, missing_data, outcome_stats, randomisation

    return {
        "la_terms": " and local authority" if report.unit == ALL else "",
        "power": f"{outcome_stats.POWER:.0%}".rstrip("%"),
        "alpha": f"{outcome_stats.ALPHA:.0%}".rstrip("%"),
        "main_theta": f"{compliance.MAIN_THETA:g}",
        "other_thetas": " and ".join(f"{t:g}" for t in compliance.THETAS if t != compliance.MAIN_THETA),
        "min_difference": f"{float(compliance.MIN_COMPLIANCE_DIFFERENCE):g}",
        "missing_limit": f"{missing_data.MISSING_SHARE_LIMIT:.0%}",
        "m": missing_data.MI_IMPUTATIONS,
        "donors": missing_data.MI_DONORS,
        "mi_seed": missing_data.MI_SEED,
        "burn_in": missing_data.MI_BURN_IN,
        "skip_plus_one": missing_data.MI_SKIP + 1,
        "subgroups": "; ".join(
            f"{s.label} ({subgroup_level_label(s.column, s.level)} against {subgroup_level_label(s.column, s.other)})"
            for s in SUBGROUPS.values()
        ),
        "permutations": f"{randomisation.PERMUTATIONS:,}",
        "permutation_seed": randomisation.SEED,
    }


def contract_status_html(report: Report) -> str:
    """Every contract's status, from the validation the study was loaded with."""
    validation = report.study.report
    return html.render("contract_status", ok=validation.ok, files=len(report.study.frames), failures=None)


__all__ = [
    "BRIEF",
    "CONSORT_HTML",
    "CONSORT_JSON",
    "REPORTING",
    "abstract_html",
    "consort_checklist",
    "consort_checklist_html",
    "consort_json",
    "Report",
    "brief_html",
    "build",
    "counts_releases",
    "header_html",
    "impact_html",
    "load",
    "sdc_summary_html",
    "stamp_compact_html",
    "stamp_html",
    "write_outputs",
]
