"""Missing data (analysis-plan.md §7.5), for continuous outcomes.

``missing_share`` = 1 − analysed / included. Where it exceeds ``MISSING_SHARE_LIMIT``:

(a) the missingness model: a logistic GLM of "follow-up score missing" on arm + baseline score
    [+ LA] among included participants with a baseline score, with §4's bias-reduced
    team-clustered SEs and t-based CIs and p-values (df = J − g₂ − 2 of its rows), odds ratios;
(b) multiple imputation: chained equations (statsmodels' `MICEData`, predictive mean matching
    from the ``MI_DONORS`` nearest donors, as R's `mice`) over the follow-up and baseline scores,
    with arm, the LA dummies and the team's mean observed baseline score as predictors;
    ``MI_IMPUTATIONS`` data sets drawn from one seeded generator (``MI_BURN_IN`` cycles, then
    ``MI_SKIP`` + 1 cycles between data sets, as statsmodels' `MICE.fit`); M1 refitted on each by
    §4 and pooled by Rubin's rules with Barnard–Rubin degrees of freedom (complete-data df: §4's
    J − g₂ − 2 of the included rows) and a t-based CI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.imputation.mice import MICEData

from kitbag_analysis.analysis.models import (
    NotEstimable,
    between_within_df,
    clustered,
    design,
    fit_continuous,
    t_critical,
    t_p_value,
    team_codes,
)

MISSING_SHARE_LIMIT = 0.05
MI_IMPUTATIONS = 20
MI_SEED = 20210423
MI_BURN_IN = 10
MI_SKIP = 3
MI_DONORS = 5  # predictive mean matching's donors (`MICEData(k_pmm=...)`; statsmodels' default is 20)
TEAM_MEAN = "team_mean_baseline"


@dataclass(frozen=True)
class Pooled:
    """Rubin's rules over m completed-data estimates."""

    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    m: int
    within: float  # Ū
    between: float  # B

    def to_json(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high, "df": self.df, "m": self.m}


def rubin(estimates: np.ndarray, variances: np.ndarray, df_complete: float) -> Pooled:
    """Q̄ = mean estimate; T = Ū + (1 + 1/m) B; Barnard–Rubin df
    ν = (ν_old ν_obs) / (ν_old + ν_obs), ν_old = (m − 1)/λ², ν_obs = (ν_com + 1)/(ν_com + 3) ν_com (1 − λ),
    λ = (1 + 1/m) B / T; CI = Q̄ ± t₀.₉₇₅(ν) √T."""
    q = np.asarray(estimates, float)
    u = np.asarray(variances, float)
    m = len(q)
    q_bar, u_bar = float(q.mean()), float(u.mean())
    b = float(q.var(ddof=1)) if m > 1 else 0.0
    t = u_bar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    nu_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    nu = nu_obs if lam == 0 else (m - 1) / lam**2 * nu_obs / ((m - 1) / lam**2 + nu_obs)
    half = float(stats.t.ppf(0.975, nu)) * math.sqrt(t)
    return Pooled(q_bar, math.sqrt(t), float(nu), q_bar - half, q_bar + half, m, u_bar, b)


MAX_LOG_ODDS = 15.0  # |log odds ratio| + t₀.₉₇₅ SE beyond this: (quasi-)separation, not an estimate


class Separation(Exception):
    """The missingness model separates (a term's odds ratio runs off to 0 or infinity)."""


@dataclass(frozen=True)
class OddsRatio:
    odds_ratio: float
    ci_low: float
    ci_high: float
    p_value: float

    def to_json(self) -> dict[str, float]:
        return {"odds_ratio": self.odds_ratio, "ci_low": self.ci_low, "ci_high": self.ci_high, "p_value": self.p_value}


@dataclass(frozen=True)
class MissingData:
    """§7.5 for one outcome in one unit."""

    missing_share: float
    missingness_model: dict[str, OddsRatio] | None = None
    missingness_df_resid: float | None = None
    missingness_reason: str | None = None
    mi: Pooled | None = None
    complete_case: tuple[float, float, float] | None = None  # (estimate, ci_low, ci_high), for the page

    @property
    def analysed(self) -> bool:
        """Whether the missingness model and MI were run (share above the limit)."""
        return self.missing_share > MISSING_SHARE_LIMIT

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"missing_share": self.missing_share}
        if self.analysed:
            out["missingness_model"] = (
                {term: o.to_json() for term, o in self.missingness_model.items()}
                if self.missingness_model is not None
                else None
            )
            if self.missingness_reason:
                out["missingness_reason"] = self.missingness_reason
            out["mi"] = self.mi.to_json() if self.mi else None
        return out


def missingness_model(included: pd.DataFrame, la_levels: list[str] | None) -> tuple[dict[str, OddsRatio], float]:
    """Odds ratios (every term but the intercept) of "follow-up missing" among included
    participants with a baseline score, and the model's residual df."""
    frame = included.loc[included["baseline"].notna()]
    X = design(frame, ["baseline"], la_levels)
    df = between_within_df(frame, X)
    if df < 1:
        raise NotEstimable(f"no degrees of freedom left for the t interval (J − g₂ − 2 = {df})")
    z = frame["y"].isna().to_numpy(float)
    result = clustered(z, X, team_codes(frame), sm.families.Binomial())
    multiplier = t_critical(df)
    out = {}
    for term in X.columns.drop("const"):
        b, se = float(result.params[term]), float(result.bse[term])
        if not (np.isfinite(b) and np.isfinite(se) and abs(b) + multiplier * se < MAX_LOG_ODDS):
            raise Separation(term)
        out[term] = OddsRatio(
            math.exp(b), math.exp(b - multiplier * se), math.exp(b + multiplier * se), t_p_value(b, se, df)
        )
    return out, float(len(frame) - X.shape[1])


class _OLS:
    """Ordinary least squares with the interface `MICEData` uses of statsmodels' OLS (``fit``,
    ``params``, ``cov_params()``, ``predict``) and its numbers (tested), without building a
    statsmodels model and its data handling on each of the chain's updates."""

    def __init__(self, endog: np.ndarray, exog: np.ndarray) -> None:
        self.endog, self.exog = endog, exog

    def fit(self) -> _OLS:
        xtx_inv = np.linalg.inv(self.exog.T @ self.exog)
        self.params = xtx_inv @ (self.exog.T @ self.endog)
        resid = self.endog - self.exog @ self.params
        self._cov = xtx_inv * float(resid @ resid) / (len(self.endog) - self.exog.shape[1])
        return self

    def cov_params(self) -> np.ndarray:
        return self._cov

    @staticmethod
    def predict(params: np.ndarray, exog: np.ndarray) -> np.ndarray:
        return exog @ params


class ChainedEquations(MICEData):
    """statsmodels' `MICEData` with each variable's default imputation model (OLS on an
    intercept and every other column, in column order) built directly as arrays instead of
    through a formula, and fitted by `_OLS`: the same matrices patsy would build, the same draws,
    the same imputations as `MICEData` itself (tested), without re-parsing a formula and
    re-building a model on every update."""

    def set_imputer(self, endog_name: str, **kwargs: object) -> None:  # statsmodels' signature
        super().set_imputer(endog_name, **kwargs)
        self.model_class[endog_name] = _OLS

    def _design(self, vname: str) -> tuple[np.ndarray, np.ndarray]:
        values = self.data.to_numpy(float)
        at = self.data.columns.get_loc(vname)
        exog = np.column_stack([np.ones(len(values)), np.delete(values, at, axis=1)])
        return values[:, at], exog

    def get_split_data(self, vname: str):  # noqa: ANN201 (statsmodels' signature)
        endog, exog = self._design(vname)
        ixo, ixm = self.ix_obs[vname], self.ix_miss[vname]
        return endog[ixo], exog[ixo], exog[ixm], {}, {}

    def get_fitting_data(self, vname: str):  # noqa: ANN201 (statsmodels' signature)
        endog, exog = self._design(vname)
        ix = self.ix_obs[vname]
        return endog[ix], exog[ix], {}, {}


def imputation_data(included: pd.DataFrame, la_levels: list[str] | None) -> pd.DataFrame:
    """What the chained equations see: y and baseline (with gaps), arm, LA dummies and the team's
    mean observed baseline (the unit's mean for a team with none)."""
    team_mean = included.groupby("team_id")["baseline"].transform("mean")
    data = pd.DataFrame(
        {
            "y": included["y"].to_numpy(float),
            "baseline": included["baseline"].to_numpy(float),
            "arm": included["arm"].to_numpy(float),
            TEAM_MEAN: team_mean.fillna(included["baseline"].mean()).to_numpy(float),
        }
    )
    if la_levels:
        present = [la for la in la_levels if (included["local_authority"] == la).any()]
        for la in present[1:]:
            data[f"la_{la}"] = (included["local_authority"] == la).to_numpy(float)
    return data


def multiple_imputation(
    included: pd.DataFrame,
    covariates: list[str],
    la_levels: list[str] | None,
    m: int = MI_IMPUTATIONS,
    seed: int = MI_SEED,
) -> Pooled:
    """MI of y and baseline by chained equations, M1 refitted on each completed data set by §4."""
    included = included.reset_index(drop=True)
    chain = ChainedEquations(imputation_data(included, la_levels), k_pmm=MI_DONORS, rng=np.random.default_rng(seed))
    chain.update_all(MI_BURN_IN)
    X = design(included.assign(baseline=0.0), covariates, la_levels)  # the baseline column is set per data set
    estimates, variances = [], []
    for _ in range(m):
        chain.update_all(MI_SKIP + 1)
        completed = included.assign(y=chain.data["y"].to_numpy(), baseline=chain.data["baseline"].to_numpy())
        fit = fit_continuous(completed, X.assign(baseline=completed["baseline"].to_numpy()))
        estimates.append(fit.estimate)
        variances.append(fit.se**2)
    return rubin(np.array(estimates), np.array(variances), float(between_within_df(included, X)))


def missing_data(
    included: pd.DataFrame,
    analysed: int,
    covariates: list[str],
    la_levels: list[str] | None,
    complete_case: tuple[float, float, float],
) -> MissingData:
    """§7.5 from the outcome's included participants (y and baseline with gaps) and the number
    analysed by §4."""
    share = 1 - analysed / len(included) if len(included) else math.nan
    if not share > MISSING_SHARE_LIMIT:
        return MissingData(share)
    try:
        model, df_resid = missingness_model(included, la_levels)
        reason = None
    except Separation:
        model, df_resid, reason = (
            None,
            None,
            "the missingness model separates (a group with nobody or everybody missing)",
        )
    except NotEstimable as exc:
        model, df_resid, reason = None, None, f"the missingness model is not estimable: {exc}"
    pooled = multiple_imputation(included, covariates, la_levels)
    return MissingData(share, model, df_resid, reason, pooled, complete_case)


__all__ = [
    "MI_DONORS",
    "MI_IMPUTATIONS",
    "MISSING_SHARE_LIMIT",
    "MissingData",
    "OddsRatio",
    "Pooled",
    "missing_data",
    "missingness_model",
    "multiple_imputation",
    "rubin",
]
