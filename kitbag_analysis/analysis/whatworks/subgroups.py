"""Pre-specified subgroups (analysis-plan.md §7.6), for the children's scores.

With s the 0/1 indicator of a subgroup's first level, ``y ~ arm + baseline + s + arm·s [+ LA]``
is fitted by §4's rules (REML at the global maximum with the model-based covariance of the
fixed effects, or the OLS fallback with the bias-reduced cluster-robust covariance). The
interaction is reported with its SE and p from t with §4's df (J − g₂ − 2); the arm effect in
each level is b_arm (s = 0) or b_arm + b_int (s = 1), its SE from the covariance and CI
± t₀.₉₇₅(df) SE. A level with fewer than ``MIN_PARTICIPANTS_PER_ARM``
analysed in either arm is not estimable there (the interaction is still reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kitbag_analysis.analysis.models import MIN_PARTICIPANTS_PER_ARM, design, fit_continuous, t_interval, t_p_value
from kitbag_analysis.analysis.outcomes import SUBGROUPS, Outcome, Subgroup
from kitbag_analysis.analysis.results import NOT_ESTIMABLE, OK
from kitbag_analysis.study.load import Study

S, INTERACTION = "s", "arm:s"


@dataclass(frozen=True)
class LevelEffect:
    """The arm effect within one level of a subgroup."""

    status: str
    n: dict[str, int]  # analysed per arm in this level (exact; not published)
    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"status": self.status, "estimate": self.estimate, "se": self.se}
        out |= {"ci_low": self.ci_low, "ci_high": self.ci_high}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class SubgroupResult:
    """One subgroup of one outcome: the interaction and the effect in each level."""

    name: str
    model: str | None
    levels: dict[str, LevelEffect]
    estimate: float | None = None  # the interaction arm·s
    se: float | None = None
    p_value: float | None = None
    df_resid: float | None = None  # n − p (the disclosure rule of §6)
    df: float | None = None  # §4's J − g₂ − 2, of the p-value and the levels' CIs
    reason: str | None = None  # why the interaction could not be estimated

    def to_json(self) -> dict[str, Any]:
        interaction: dict[str, Any] = {"estimate": self.estimate, "se": self.se, "p_value": self.p_value, "df": self.df}
        if self.reason:
            interaction["reason"] = self.reason
        return {"interaction": interaction, "levels": {k: v.to_json() for k, v in self.levels.items()}}


def indicator(view: Study, frame: pd.DataFrame, subgroup: Subgroup) -> pd.Series:
    """s per analysed child: 1 in the subgroup's first level, else 0."""
    values = frame["id"].map(view["children"].set_index("child_id")[subgroup.column])
    return values.isin(subgroup.values).astype(float)


def fit_subgroup(
    frame: pd.DataFrame, s: pd.Series, covariates: list[str], la_levels: list[str] | None, subgroup: Subgroup
) -> SubgroupResult:
    """The interaction model for one subgroup on the outcome's analysed frame."""
    base = design(frame, covariates, la_levels)
    X = pd.concat([base[["const", "arm"]], base.drop(columns=["const", "arm"])], axis=1)
    X.insert(2, S, s.to_numpy())
    X.insert(3, INTERACTION, s.to_numpy() * frame["arm"].to_numpy(float))
    n = {
        level: {arm: int(((frame["arm"] == code) & (s == flag)).sum()) for arm, code in (("kitbag", 1), ("control", 0))}
        for level, flag in ((subgroup.level, 1.0), (subgroup.other, 0.0))
    }
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        return _without_interaction(frame, X, n, subgroup)
    fit = fit_continuous(frame, X)
    b_int, se_int = fit.combination({INTERACTION: 1.0})
    levels = {}
    for level, weights in ((subgroup.level, {"arm": 1.0, INTERACTION: 1.0}), (subgroup.other, {"arm": 1.0})):
        if min(n[level].values()) < MIN_PARTICIPANTS_PER_ARM:
            levels[level] = LevelEffect(NOT_ESTIMABLE, n[level], reason=SMALL_LEVEL)
            continue
        b, se = fit.combination(weights)
        levels[level] = LevelEffect(OK, n[level], b, se, *t_interval(b, se, fit.df))
    p = t_p_value(b_int, se_int, fit.df)
    return SubgroupResult(subgroup.name, fit.model, levels, b_int, se_int, p, fit.df_resid, fit.df)


SMALL_LEVEL = f"fewer than {MIN_PARTICIPANTS_PER_ARM} analysed participants in an arm of this level"
NO_INTERACTION = "the subgroup does not vary within both arms, so the interaction cannot be estimated"


def _without_interaction(
    frame: pd.DataFrame, X: pd.DataFrame, n: dict[str, dict[str, int]], subgroup: Subgroup
) -> SubgroupResult:
    """The subgroup does not vary within both arms: arm·s (and s, if constant) cannot be fitted.
    The interaction is not estimable; a level that passes the count rule still gets the arm
    effect of the model without the terms that cannot be fitted (its effect is then b_arm)."""
    reduced = X.drop(columns=[INTERACTION])
    if np.linalg.matrix_rank(reduced.to_numpy()) < reduced.shape[1]:
        reduced = reduced.drop(columns=[S])
    fit = fit_continuous(frame, reduced) if np.linalg.matrix_rank(reduced.to_numpy()) == reduced.shape[1] else None
    levels = {}
    for level in n:
        if min(n[level].values()) < MIN_PARTICIPANTS_PER_ARM or fit is None:
            levels[level] = LevelEffect(NOT_ESTIMABLE, n[level], reason=SMALL_LEVEL if fit else NO_INTERACTION)
            continue
        levels[level] = LevelEffect(OK, n[level], fit.estimate, fit.se, *fit.ci)
    return SubgroupResult(
        subgroup.name,
        fit.model if fit else None,
        levels,
        reason=NO_INTERACTION,
        df_resid=fit.df_resid if fit else None,
        df=fit.df if fit else None,
    )


def subgroups(
    view: Study, outcome: Outcome, frame: pd.DataFrame, covariates: list[str], la_levels: list[str] | None
) -> dict[str, SubgroupResult]:
    """Every subgroup the outcome declares."""
    return {
        name: fit_subgroup(frame, indicator(view, frame, SUBGROUPS[name]), covariates, la_levels, SUBGROUPS[name])
        for name in outcome.subgroups
    }


__all__ = ["LevelEffect", "SubgroupResult", "fit_subgroup", "indicator", "subgroups"]
