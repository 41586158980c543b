"""Compliance and the complier average causal effect (analysis-plan.md §7.4).

A team *used Kitbags* when at least θ of its practitioners who gave a follow-up `kitbag_use`
answer (anything but `not_asked`) answered `sometimes` or `often`; a team with no such answer
did not. p_arm is the share of an outcome's analysed participants whose team used Kitbags, and
CACE = b₁ / (p_kitbag − p_control), its CI the CI of b₁ divided the same way, reported only
when the difference in compliance is at least ``MIN_COMPLIANCE_DIFFERENCE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pandas as pd

from kitbag_analysis.analysis.models import Fit
from kitbag_analysis.analysis.names import ARMS
from kitbag_analysis.analysis.outcomes import OUTCOMES
from kitbag_analysis.analysis.results import NOT_ESTIMABLE, OK
from kitbag_analysis.study.load import Study

THETAS = (0.25, 0.5, 0.75)  # the main rule is MAIN_THETA; the others are sensitivity rows
MAIN_THETA = 0.5
MIN_COMPLIANCE_DIFFERENCE = Fraction(1, 5)  # compared exactly: 0.6 − 0.4 is 0.2, not 0.19999999999999996
USED_ANSWERS = ("sometimes", "often")
NOT_ASKED = "not_asked"
FOLLOWUP = "followup"


def theta_key(theta: float) -> str:
    """How θ names its entry in results.json: "0.25", "0.5", "0.75"."""
    return f"{theta:g}"


def team_use(view: Study) -> pd.DataFrame:
    """Per team with at least one follow-up answer: practitioners answering and those who said
    `sometimes` or `often` (excluded practitioners are already gone from ``view``)."""
    answers = view["practitioner_measures"]
    answers = answers.loc[(answers["wave"] == FOLLOWUP) & (answers["kitbag_use"] != NOT_ASKED)]
    answers = answers.merge(view["practitioners"][["practitioner_id", "team_id"]], on="practitioner_id")
    used = answers["kitbag_use"].isin(USED_ANSWERS)
    return pd.DataFrame({"answered": answers.groupby("team_id").size(), "used": used.groupby(answers["team_id"]).sum()})


def teams_using(use: pd.DataFrame, theta: float) -> pd.Index:
    """The teams that used Kitbags at threshold θ (share of answers ≥ θ)."""
    return use.index[use["used"] >= theta * use["answered"]]


def compliance_counts(view: Study, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """For every continuous outcome, θ and arm: analysed participants whose team used Kitbags
    (``used``) and whose team did not (``not_used``). Exact counts; published via `publication`."""
    use = team_use(view)
    rows = []
    for outcome in OUTCOMES:
        frame = frames.get(outcome.name)
        if outcome.kind != "continuous" or frame is None or frame.empty:
            continue
        for theta in THETAS:
            using = frame["team_id"].isin(teams_using(use, theta))
            for arm_code, arm in ((1, "kitbag"), (0, "control")):
                in_arm = frame["arm"] == arm_code
                used = int((using & in_arm).sum())
                rows.append((outcome.name, outcome.population, theta, arm, used, int(in_arm.sum()) - used))
    return pd.DataFrame(rows, columns=["outcome", "population", "theta", "arm", "used", "not_used"])


@dataclass(frozen=True)
class Cace:
    """The CACE at one θ: compliance per arm and, when the arms differ enough, the estimate."""

    theta: float
    status: str
    compliance: dict[str, float]  # share of the analysed whose team used Kitbags, per arm
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "status": self.status,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "compliance": {arm: v if math.isfinite(v) else None for arm, v in self.compliance.items()},
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def cace(fit: Fit, counts: pd.DataFrame) -> dict[str, Cace]:
    """CACE at each θ from the §4 fit (b₁ and its CI) and the outcome's compliance counts."""
    out = {}
    lo, hi = fit.ci
    for theta in THETAS:
        at = counts.loc[counts["theta"] == theta].set_index("arm")
        exact = {arm: _share(int(at.loc[arm, "used"]), int(at.loc[arm, "not_used"])) for arm in ARMS}
        share = {arm: math.nan if v is None else float(v) for arm, v in exact.items()}
        if None in exact.values() or exact["kitbag"] - exact["control"] < MIN_COMPLIANCE_DIFFERENCE:
            reason = f"compliance differs by less than {float(MIN_COMPLIANCE_DIFFERENCE):g} between the arms"
            out[theta_key(theta)] = Cace(theta, NOT_ESTIMABLE, share, reason=reason)
        else:
            d = float(exact["kitbag"] - exact["control"])
            out[theta_key(theta)] = Cace(theta, OK, share, fit.estimate / d, lo / d, hi / d)
    return out


def _share(used: int, not_used: int) -> Fraction | None:
    total = used + not_used
    return Fraction(used, total) if total else None


__all__ = ["Cace", "MAIN_THETA", "THETAS", "cace", "compliance_counts", "team_use", "teams_using", "theta_key"]
