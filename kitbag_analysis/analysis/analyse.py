"""`analyse(study, unit)`: every outcome of analysis-plan.md §3 for one unit, in the structure
of results.json (outputs.md), plus the §5 tables before disclosure control."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kitbag_analysis.analysis import tables
from kitbag_analysis.analysis.models import (
    NotEstimable,
    check_estimable,
    design,
    fit_continuous,
    fit_glm,
    hedges_g,
    ratio_effect,
)
from kitbag_analysis.analysis.outcomes import OUTCOMES, Outcome, analysis_frame
from kitbag_analysis.analysis.results import NOT_DONE, NOT_ESTIMABLE, OK, Effect, OutcomeResult, UnitResults
from kitbag_analysis.analysis.whatworks.compliance import compliance_counts
from kitbag_analysis.analysis.whatworks.outcome_stats import what_works
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import ALL, restrict

EFFECT_MEASURE = {"count": "irr", "binary": "odds_ratio"}


@dataclass
class UnitAnalysis:
    """One unit's typed results (results.json) and its §5 tables (exact, before disclosure
    control), with the analysis frames and the study as the unit sees it (secure side only)."""

    unit: str
    results: UnitResults
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    view: Study | None = field(default=None, repr=False)

    @property
    def outcomes(self) -> tuple[OutcomeResult, ...]:
        return self.results.outcomes


def _arm_counts(frame: pd.DataFrame, what: str) -> dict[str, int]:
    by_arm = frame.groupby("arm")[what].nunique() if what == "team_id" else frame.groupby("arm").size()
    return {"kitbag": int(by_arm.get(1, 0)), "control": int(by_arm.get(0, 0))}


def analyse_outcome(
    study: Study,
    outcome: Outcome,
    pooled: bool,
    compliance: pd.DataFrame | None = None,
    frame: pd.DataFrame | None = None,
) -> tuple[OutcomeResult, pd.DataFrame]:
    """Fit one outcome; a not-estimable outcome is a status with a reason, never an error.
    ``compliance``: the unit's compliance counts (`compliance.compliance_counts`), for §7.4;
    ``frame``: the outcome's analysis frame when already built."""
    frame = analysis_frame(study, outcome) if frame is None else frame
    base = {
        "outcome": outcome.name,
        "population": outcome.population,
        "kind": outcome.kind,
        "n": _arm_counts(frame, "id"),
        "n_teams": _arm_counts(frame, "team_id"),
    }
    try:
        if frame.empty:
            raise NotEstimable(f"no {outcome.population} analysed in this unit")
        check_estimable(frame)
        covariates = ["baseline"] if "baseline" in frame else []
        covariates += list(outcome.covariates)
        la_levels = list(study.settings.local_authorities) if pooled else None
        X = design(frame, covariates, la_levels)
        if outcome.kind == "continuous":
            fit = fit_continuous(frame, X)
            effect = hedges_g(frame, fit)
        else:
            fit = fit_glm(frame, X, outcome.kind)
            effect = ratio_effect(fit, EFFECT_MEASURE[outcome.kind])
    except NotEstimable as reason:
        return OutcomeResult(status=NOT_ESTIMABLE, reason=str(reason), **base), frame
    continuous = outcome.kind == "continuous"
    extra = None
    if continuous:
        if compliance is None:
            compliance = compliance_counts(study, {outcome.name: frame})
        mine = compliance.loc[compliance["outcome"] == outcome.name]
        extra = what_works(study, outcome, frame, fit, X, covariates, la_levels, mine)
    result = OutcomeResult(status=OK, fit=fit, effect=Effect(**effect), what_works=extra, **base)
    return result, frame


def analyse(study: Study, unit: str) -> UnitAnalysis:
    """Every outcome for ``unit`` (an LA slug or ``all``), with the §5 tables."""
    view = restrict(study, unit)
    frames = {outcome.name: analysis_frame(view, outcome) for outcome in OUTCOMES}
    compliance = compliance_counts(view, frames)
    impact = study.settings.impact
    if not impact.done:  # analysis-plan.md §9: no §4 model and no §7 statistic is fitted
        reason = f"not done: the impact evaluation was {impact.status} on {impact.decided_on} ({impact.reason})"
        return _counts_only(view, unit, frames, NOT_DONE, reason, compliance)
    results = [analyse_outcome(view, o, unit == ALL, compliance, frames[o.name])[0] for o in OUTCOMES]
    typed = UnitResults(unit=unit, excluded=view.excluded, outcomes=tuple(results))
    return UnitAnalysis(unit, typed, _tables(view, frames, typed.outcomes, compliance), frames, view)


def analysis_counts(study: Study, unit: str) -> UnitAnalysis:
    """``analyse`` without fitting any model: the analysed counts and the §5 tables only (what
    disclosure control needs to know about every unit before any unit publishes)."""
    view = restrict(study, unit)
    frames = {outcome.name: analysis_frame(view, outcome) for outcome in OUTCOMES}
    return _counts_only(view, unit, frames, NOT_ESTIMABLE, "counts only: no model fitted")


def _counts_only(
    view: Study,
    unit: str,
    frames: dict[str, pd.DataFrame],
    status: str,
    reason: str,
    compliance: pd.DataFrame | None = None,
) -> UnitAnalysis:
    """Every outcome with its analysed counts and ``status`` (no model), with the §5 tables."""
    counts = tuple(
        OutcomeResult(
            outcome=o.name,
            population=o.population,
            kind=o.kind,
            status=status,
            reason=reason,
            n=_arm_counts(frames[o.name], "id"),
            n_teams=_arm_counts(frames[o.name], "team_id"),
        )
        for o in OUTCOMES
    )
    typed = UnitResults(unit=unit, excluded=view.excluded, outcomes=counts)
    return UnitAnalysis(unit, typed, _tables(view, frames, counts, compliance), frames, view)


def _tables(
    view: Study,
    frames: dict[str, pd.DataFrame],
    results: tuple[OutcomeResult, ...],
    compliance: pd.DataFrame | None = None,
) -> dict:
    return {
        "participant_flow": tables.participant_flow(view, frames),
        "baseline": tables.baseline_characteristics(view),
        "effectiveness": tables.effectiveness(results),
        "uptake": tables.uptake(view),
        "compliance": compliance_counts(view, frames) if compliance is None else compliance,
    }


__all__ = ["UnitAnalysis", "analyse", "analyse_outcome", "analysis_counts"]
