"""What-Works statistics of analysis-plan.md §7 for one continuous outcome with status ok: the
total-variance effect size (§7.1), the MDES at randomisation and at analysis (§7.2) and attrition
(§7.3) here; compliance and CACE (§7.4, `compliance`), missing data and multiple imputation
(§7.5, `missing_data`), subgroups (§7.6, `subgroups`) and randomisation inference (§7.7,
`randomisation`) gathered from their modules into one typed `WhatWorks`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kitbag_analysis.analysis.models import Fit, gls_at, is_la_term, reml_maximum
from kitbag_analysis.analysis.outcomes import POPULATIONS, Outcome, outcome_frame
from kitbag_analysis.analysis.whatworks.compliance import Cace, cace
from kitbag_analysis.analysis.whatworks.missing_data import MissingData, missing_data
from kitbag_analysis.analysis.whatworks.randomisation import TeamDesign, permutation_p
from kitbag_analysis.analysis.whatworks.subgroups import SubgroupResult, subgroups
from kitbag_analysis.study.load import Study

POWER, ALPHA = 0.80, 0.05


def mdes(j: float, n_bar: float, rho: float, r2_1: float, r2_2: float, g2: int, p: float) -> float:
    """§7.2: M × sqrt(ρ(1 − R²₂)/(P(1 − P)J) + (1 − ρ)(1 − R²₁)/(P(1 − P)J n̄)),
    M = t₀.₉₇₅(df) + t₀.₈₀(df), df = J − g₂ − 2."""
    df = j - g2 - 2
    if df <= 0 or not 0 < p < 1 or n_bar <= 0:
        return math.nan
    m = stats.t.ppf(1 - ALPHA / 2, df) + stats.t.ppf(POWER, df)
    spread = p * (1 - p) * j
    return float(m * math.sqrt(rho * (1 - r2_2) / spread + (1 - rho) * (1 - r2_1) / (spread * n_bar)))


@dataclass(frozen=True)
class Interval:
    """A statistic with its 95% CI."""

    value: float
    ci_low: float
    ci_high: float

    def to_json(self) -> dict[str, float]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class Mdes:
    """§7.2: the minimum detectable effect size at analysis and at randomisation (NaN: no df)."""

    analysis: float
    randomisation: float


@dataclass(frozen=True)
class Attrition:
    """§7.3: the share of those enrolled not analysed, per arm and overall; the teams lost."""

    kitbag: float
    control: float
    overall: float
    difference: float  # kitbag − control
    teams: float  # share of randomised teams with no analysed participant


@dataclass(frozen=True)
class DesignCounts:
    """What §7.2–7.3 are built on (for disclosure control): people per arm, teams."""

    enrolled: dict[str, int]
    analysed: dict[str, int]
    teams_randomised: int
    teams_analysed: int


@dataclass(frozen=True)
class WhatWorks:
    """§7.1–7.3 for one continuous outcome in one unit (exact: results.json)."""

    g_total: Interval
    icc_unconditional: float
    mdes: Mdes
    attrition: Attrition
    counts: DesignCounts  # what the numbers are built on (for disclosure control)
    cace: dict[str, Cace]
    missing_data: MissingData
    subgroups: dict[str, SubgroupResult]
    permutation_p: float

    def to_json(self) -> dict[str, Any]:
        out = {
            "g_total": self.g_total.to_json(),
            "icc_unconditional": self.icc_unconditional,
            "mdes": {k: _finite(v) for k, v in asdict(self.mdes).items()},  # null: too few teams for any df
            "attrition": {k: _finite(v) for k, v in asdict(self.attrition).items()},
            "cace": {theta: c.to_json() for theta, c in self.cace.items()},
            "missing_data": self.missing_data.to_json(),
        }
        if self.subgroups:
            out["subgroups"] = {name: g.to_json() for name, g in self.subgroups.items()}
        out["permutation_p"] = self.permutation_p
        return out


def _finite(x: float) -> float | None:
    """A number results.json can hold (JSON has no NaN): None where it is undefined."""
    return float(x) if math.isfinite(x) else None


def _clamp(x: float) -> float:
    return float(min(max(x, 0.0), 1.0)) if math.isfinite(x) else 0.0


@dataclass(frozen=True)
class Unconditional:
    """M0 of §7.1: y ~ arm [+ LA] + (1|team), REML at the global maximum, on M1's rows."""

    team: float  # τ²₀ (0 at the boundary)
    residual: float  # σ²₀ (the OLS residual variance, n − p, at the boundary)

    @property
    def icc(self) -> float:
        return self.team / (self.team + self.residual)

    def g_total(self, fit: Fit) -> Interval:
        """b₁ / √(τ²₀ + σ²₀) with the CI of b₁ divided the same way."""
        total = math.sqrt(self.team + self.residual)
        lo, hi = fit.ci
        return Interval(fit.estimate / total, lo / total, hi / total)


def unconditional(frame: pd.DataFrame, X: pd.DataFrame) -> Unconditional:
    """Fit M0 on the analysed frame: M1's design without baseline and carer_type."""
    codes = pd.factorize(frame["team_id"], sort=True)[0]
    y = frame["y"].to_numpy(float)
    x0 = X[[c for c in X.columns if c in ("const", "arm") or is_la_term(c)]].to_numpy()
    gamma0, _, _ = reml_maximum(y, x0, codes)
    sigma2_0 = gls_at(y, x0, codes, gamma0)["sigma2"]
    return Unconditional(gamma0 * sigma2_0, sigma2_0)


def what_works(
    view: Study,
    outcome: Outcome,
    frame: pd.DataFrame,
    fit: Fit,
    X: pd.DataFrame,
    covariates: list[str],
    la_levels: list[str] | None,
    compliance: pd.DataFrame,
) -> WhatWorks:
    """§7 from the unit's view, the analysed frame, the §4 fit, its design and covariates, the LA
    levels of the pooled unit (None in a single LA) and the outcome's compliance counts."""
    m0 = unconditional(frame, X)
    lo, hi = fit.ci
    rho = m0.icc
    r2_1 = _clamp(1 - fit.variance["residual"] / m0.residual)
    r2_2 = _clamp(1 - fit.variance["team"] / m0.team) if m0.team > 0 else 0.0
    g2 = sum(is_la_term(c) for c in X.columns)

    teams = view["teams"]
    analysed_teams = frame.groupby("team_id")["arm"].first()
    pop = POPULATIONS[outcome.population]
    excluded = view.exclusions.loc[view.exclusions["participant_type"] == pop.type]
    people = pd.concat([view[pop.file][["team_id"]], excluded[["team_id"]]], ignore_index=True)
    people = people.merge(teams[["team_id", "arm"]], on="team_id")
    enrolled = {arm: int((people["arm"] == arm).sum()) for arm in ("kitbag", "control")}
    analysed = {"kitbag": int((frame["arm"] == 1).sum()), "control": int((frame["arm"] == 0).sum())}
    j_an = len(analysed_teams)
    j_rand = len(teams)
    at_analysis = mdes(j_an, len(frame) / j_an, rho, r2_1, r2_2, g2, float(analysed_teams.mean()))
    at_randomisation = mdes(
        j_rand, sum(enrolled.values()) / j_rand, rho, r2_1, r2_2, g2, float((teams["arm"] == "kitbag").mean())
    )
    rates = {arm: 1 - analysed[arm] / enrolled[arm] if enrolled[arm] else math.nan for arm in analysed}
    overall = 1 - sum(analysed.values()) / sum(enrolled.values())
    return WhatWorks(
        g_total=m0.g_total(fit),
        icc_unconditional=float(rho),
        mdes=Mdes(analysis=at_analysis, randomisation=at_randomisation),
        attrition=Attrition(
            kitbag=rates["kitbag"],
            control=rates["control"],
            overall=overall,
            difference=rates["kitbag"] - rates["control"],
            teams=float(1 - np.isin(teams["team_id"], analysed_teams.index).mean()),
        ),
        counts=DesignCounts(enrolled, analysed, teams_randomised=j_rand, teams_analysed=j_an),
        cace=cace(fit, compliance),
        missing_data=missing_data(
            outcome_frame(view, outcome), len(frame), covariates, la_levels, (fit.estimate, lo, hi)
        ),
        subgroups=subgroups(view, outcome, frame, covariates, la_levels),
        permutation_p=permutation_p(frame, X, fit.gamma, TeamDesign.from_teams(teams, la_levels or [view_la(teams)])),
    )


def view_la(teams: pd.DataFrame) -> str:
    """The one local authority of a single-LA unit."""
    return str(teams["local_authority"].iloc[0])


__all__ = [
    "Attrition",
    "DesignCounts",
    "Interval",
    "Mdes",
    "Unconditional",
    "WhatWorks",
    "mdes",
    "unconditional",
    "what_works",
]
