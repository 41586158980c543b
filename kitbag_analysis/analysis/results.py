"""Typed results, kept from the model to the page (outputs.md, results.json).

An `OutcomeResult` is what one §4 model says about one outcome in one unit; `to_json()` gives
its entry of results.json exactly. Nothing downstream decorates it with keys: what may be shown
is decided by `publication`, from these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kitbag_analysis.analysis.models import Fit

OK = "ok"


class WhatWorksResult(Protocol):
    """The §7 statistics of one outcome (`whatworks.outcome_stats.WhatWorks`)."""

    def to_json(self) -> dict[str, Any]: ...


NOT_ESTIMABLE = "not_estimable"
NOT_DONE = "not_done"  # the impact evaluation was removed or stopped (analysis-plan.md §9)


@dataclass(frozen=True)
class Effect:
    """The effect size on its natural scale: Hedges' g, an incidence rate ratio or an odds ratio."""

    measure: str  # hedges_g | irr | odds_ratio
    value: float
    ci_low: float
    ci_high: float

    @property
    def null(self) -> float:
        """The value of no effect: 0 for g, 1 for a ratio."""
        return 0.0 if self.measure == "hedges_g" else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"measure": self.measure, "value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class OutcomeResult:
    """One outcome's analysis in one unit. ``status`` is ``ok`` (with every number) or
    ``not_estimable`` (with a ``reason`` and the counts only)."""

    outcome: str
    population: str
    kind: str  # continuous | count | binary
    status: str
    n: dict[str, int]  # analysed per arm
    n_teams: dict[str, int]  # teams with an analysed participant, per arm
    fit: Fit | None = None  # the §4 model whole: arm coefficient, params, covariance, variances
    effect: Effect | None = None
    reason: str | None = None  # why not estimable
    what_works: WhatWorksResult | None = None  # analysis-plan.md §7, continuous and ok only

    # what results.json and the pages read of the model, derived from it (never copied)
    @property
    def model(self) -> str | None:
        return self.fit.model if self.fit else None

    @property
    def estimate(self) -> float | None:  # model scale: difference, log rate ratio, log odds ratio
        return self.fit.estimate if self.fit else None

    @property
    def se(self) -> float | None:
        return self.fit.se if self.fit else None

    @property
    def ci_low(self) -> float | None:
        return self.fit.ci[0] if self.fit else None

    @property
    def ci_high(self) -> float | None:
        return self.fit.ci[1] if self.fit else None

    @property
    def p_value(self) -> float | None:
        return self.fit.p_value if self.fit else None

    @property
    def df(self) -> float | None:
        """The degrees of freedom of the CI and p-value (§4: J − g₂ − 2)."""
        return self.fit.df if self.fit else None

    @property
    def df_resid(self) -> float | None:
        """The model's residual df, n − p (the disclosure rule of §6)."""
        return self.fit.df_resid if self.fit else None

    @property
    def icc(self) -> float | None:
        """Continuous outcomes' ICC (None under the OLS fallback and for GLMs)."""
        return self.fit.icc if self.fit and self.kind == "continuous" else None

    @property
    def variance(self) -> dict[str, float] | None:
        """Continuous outcomes' team and residual variance."""
        return dict(self.fit.variance) if self.fit and self.kind == "continuous" else None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_json(self) -> dict[str, Any]:
        """This outcome's entry of results.json (exact numbers: stays in the secure environment)."""
        out: dict[str, Any] = {
            "outcome": self.outcome,
            "population": self.population,
            "kind": self.kind,
            "status": self.status,
            "model": self.model,
            "n": dict(self.n),
            "n_teams": dict(self.n_teams),
        }
        if not self.ok:
            out["reason"] = self.reason
            return out
        out.update(
            estimate=self.estimate,
            se=self.se,
            ci_low=self.ci_low,
            ci_high=self.ci_high,
            p_value=self.p_value,
            effect=self.effect.to_json() if self.effect else None,
            df=self.df,
            df_resid=self.df_resid,
        )
        if self.kind == "continuous":
            out["icc"] = self.icc
            out["variance"] = dict(self.variance or {})
        if self.what_works is not None:
            out.update(self.what_works.to_json())
        return out


@dataclass(frozen=True)
class UnitResults:
    """Every outcome of one unit, and who was excluded (counts per participant type)."""

    unit: str
    excluded: dict[str, int]
    outcomes: tuple[OutcomeResult, ...] = field(default_factory=tuple)

    def __getitem__(self, outcome: str) -> OutcomeResult:
        for result in self.outcomes:
            if result.outcome == outcome:
                return result
        raise KeyError(outcome)

    def to_json(self) -> dict[str, Any]:
        """results.json (outputs.md)."""
        return {
            "unit": self.unit,
            "excluded": dict(self.excluded),
            "analyses": [r.to_json() for r in self.outcomes],
        }


__all__ = ["NOT_DONE", "NOT_ESTIMABLE", "OK", "Effect", "OutcomeResult", "UnitResults"]
