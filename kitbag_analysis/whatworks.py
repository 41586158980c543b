"""What-Works statistics of analysis-plan.md §7, part one: the total-variance effect size (§7.1),
the minimum detectable effect size at randomisation and at analysis (§7.2) and attrition (§7.3),
for continuous outcomes with status ok. (Compliance, missing data, subgroups and randomisation
inference, §7.4–7.7, are not computed yet.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kitbag_analysis.models import Fit, gls_at, reml_maximum
from kitbag_analysis.outcomes import POPULATIONS, Outcome
from kitbag_analysis.study import Study

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
class WhatWorks:
    """§7.1–7.3 for one continuous outcome in one unit (exact: results.json)."""

    g_total: dict[str, float]
    icc_unconditional: float
    mdes: dict[str, float]
    attrition: dict[str, float]
    counts: dict[str, Any]  # what the numbers are built on (for disclosure control)

    def to_json(self) -> dict[str, Any]:
        return {
            "g_total": self.g_total,
            "icc_unconditional": self.icc_unconditional,
            "mdes": self.mdes,
            "attrition": self.attrition,
        }


def _clamp(x: float) -> float:
    return float(min(max(x, 0.0), 1.0)) if math.isfinite(x) else 0.0


def what_works(view: Study, outcome: Outcome, frame: pd.DataFrame, fit: Fit, X: pd.DataFrame) -> WhatWorks:
    """§7.1–7.3 from the unit's view, the analysed frame, the §4 fit and its design."""
    codes = pd.factorize(frame["team_id"], sort=True)[0]
    y = frame["y"].to_numpy(float)
    x0 = X[[c for c in X.columns if c in ("const", "arm") or c.startswith("local_authority[")]].to_numpy()
    gamma0, _, _ = reml_maximum(y, x0, codes)
    sigma2_0 = gls_at(y, x0, codes, gamma0)["sigma2"]
    tau2_0 = gamma0 * sigma2_0
    total = math.sqrt(tau2_0 + sigma2_0)
    lo, hi = fit.ci
    rho = tau2_0 / (tau2_0 + sigma2_0)
    r2_1 = _clamp(1 - fit.variance["residual"] / sigma2_0)
    r2_2 = _clamp(1 - fit.variance["team"] / tau2_0) if tau2_0 > 0 else 0.0
    g2 = sum(c.startswith("local_authority[") for c in X.columns)

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
        g_total={"value": fit.estimate / total, "ci_low": lo / total, "ci_high": hi / total},
        icc_unconditional=float(rho),
        mdes={"analysis": at_analysis, "randomisation": at_randomisation},
        attrition={
            "kitbag": rates["kitbag"],
            "control": rates["control"],
            "overall": overall,
            "difference": rates["kitbag"] - rates["control"],
            "teams": float(1 - np.isin(teams["team_id"], analysed_teams.index).mean()),
        },
        counts={"enrolled": enrolled, "analysed": analysed, "teams_randomised": j_rand, "teams_analysed": j_an},
    )


__all__ = ["WhatWorks", "mdes", "what_works"]
