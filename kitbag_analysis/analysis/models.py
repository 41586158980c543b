"""The trial models of analysis-plan.md §4.

Continuous outcomes: a linear mixed model with a random team intercept, fitted by REML at the
*global* maximum of the REML likelihood over γ = τ²/σ² ≥ 0 (boundary included), as lme4 finds
it. The likelihood is statsmodels' `MixedLM.loglike(..., profile_fe=True)` (fixed effects and σ²
profiled out), evaluated in closed form from per-team sums (`TeamSums`, tested equal to
statsmodels' own evaluation); a log grid over γ refined by a bounded Brent search finds its
maximum, which is compared with the value at τ² = 0. The SE of the arm coefficient is the
model-based one, √ diag σ̂²(XᵀĤ⁻¹X)⁻¹ with Ĥ = I + γ̂ZZᵀ inverted per team in closed form.
At the boundary, or with an ICC below 0.001, OLS with the bias-reduced team-clustered SE is used
instead.

Count outcomes: Poisson GLM with log(exposure) offset; binary: logistic GLM.

Small-sample inference (the revised §4): every team-clustered SE is the bias-reduced sandwich of
Mancl and DeRouen (`clustered`: statsmodels' `GEE`, independence working correlation, the model's
family, link and offset, ``groups`` = team, ``fit(cov_type="bias_reduced")``), and every CI and
p-value is from the t distribution with the between-within degrees of freedom df = J − g₂ − 2
(`between_within_df`: J teams with an analysed participant in the model's rows, g₂ its LA terms).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

LEVEL = 0.95  # every interval of the plan is a 95% interval
MIN_TEAMS_PER_ARM = 2
MIN_PARTICIPANTS_PER_ARM = 10
ICC_FLOOR = 0.001
LOG10_GAMMA_GRID = np.arange(-6.0, 3.0001, 0.25)  # γ from 1e-6 to 1e3


class NotEstimable(Exception):
    """The plan's not-estimable rules, or a model that cannot be fitted; carries the reason."""


LA_TERM = "local_authority["  # how `design` names an LA dummy
LA_FORMULA_TERM = "C(local_authority)["  # how a formula's LA dummy is named (`refit`)


def is_la_term(column: str) -> bool:
    """Whether a design column is a local-authority dummy (of `design` or of a formula)."""
    return column.startswith((LA_TERM, LA_FORMULA_TERM))


def between_within_df(frame: pd.DataFrame, X: pd.DataFrame) -> int:
    """§4's df = J − g₂ − 2: J teams with an analysed participant in ``frame`` (the model's rows),
    g₂ the LA terms of the design ``X`` (LAs present − 1 in `all`, 0 in one LA)."""
    g2 = sum(is_la_term(str(c)) for c in X.columns)
    return int(frame["team_id"].nunique()) - g2 - 2


def t_critical(df: float) -> float:
    """t₀.₉₇₅(df): the multiplier of every 95% interval."""
    return float(stats.t.ppf(1 - (1 - LEVEL) / 2, df))


def t_interval(estimate: float, se: float, df: float) -> tuple[float, float]:
    """estimate ± t₀.₉₇₅(df) × SE."""
    half = t_critical(df) * se
    return estimate - half, estimate + half


def t_p_value(estimate: float, se: float, df: float) -> float:
    """Two-sided p = 2 P(T_df > |estimate / SE|)."""
    return float(2 * stats.t.sf(abs(estimate / se), df))


@dataclass(frozen=True)
class Fit:
    """What a model reports about the arm coefficient (on the model scale), with the df its CI
    and p-value use (§4: J − g₂ − 2) and its residual df (n − p, the disclosure rule of §6)."""

    model: str
    estimate: float
    se: float
    df_resid: float
    df: float
    icc: float | None = None
    variance: dict[str, float] = field(default_factory=dict)
    gamma: float = 0.0  # continuous: γ̂ = τ²/σ² at the REML maximum (0 under the fallback)
    params: pd.Series | None = None  # every fixed effect, named as the design's columns
    cov: pd.DataFrame | None = None  # their covariance (model-based, or cluster-robust)

    def combination(self, weights: dict[str, float]) -> tuple[float, float]:
        """(estimate, SE) of Σ wₖ βₖ from the fixed effects and their covariance."""
        w = pd.Series(weights, dtype=float).reindex(self.params.index, fill_value=0.0)
        return float(w @ self.params), float(np.sqrt(w @ self.cov @ w))

    @property
    def ci(self) -> tuple[float, float]:
        return t_interval(self.estimate, self.se, self.df)

    @property
    def p_value(self) -> float:
        return t_p_value(self.estimate, self.se, self.df)


def design(frame: pd.DataFrame, covariates: list[str], la_levels: list[str] | None) -> pd.DataFrame:
    """The fixed-effects design: intercept, arm, covariates, LA dummies (first LA = reference)."""
    cols: dict[str, np.ndarray] = {
        "const": np.ones(len(frame)),
        "arm": frame["arm"].to_numpy(float),
    }
    for name in covariates:
        if name == "carer_type":
            cols["carer_type[kinship]"] = (frame[name] == "kinship").to_numpy(float)
        else:
            cols[name] = frame[name].to_numpy(float)
    if la_levels:
        present = [la for la in la_levels if (frame["local_authority"] == la).any()]
        for la in present[1:]:
            cols[f"{LA_TERM}{la}]"] = (frame["local_authority"] == la).to_numpy(float)
    return pd.DataFrame(cols, index=frame.index)


# --- REML at the global maximum ------------------------------------------------------------
def reml_loglike_at_zero(y: np.ndarray, X: np.ndarray) -> float:
    """The REML log-likelihood at τ² = 0 (the OLS fit), in statsmodels' own parametrisation."""
    n, p = X.shape
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    qf = float(np.sum((y - X @ beta) ** 2))
    _, logdet_xtx = np.linalg.slogdet(X.T @ X)
    m = n - p
    return -m * np.log(qf) / 2 - logdet_xtx / 2 - m * np.log(2 * np.pi) / 2 + m * np.log(m) / 2 - m / 2


class TeamSums:
    """The sufficient statistics of a random-intercept model, per team: everything the REML
    likelihood and the GLS estimate at a given γ need, computed once (O(n p))."""

    def __init__(self, y: np.ndarray, X: np.ndarray, codes: np.ndarray) -> None:
        self.y, self.X, self.codes = y, X, codes
        self.n_j = np.bincount(codes).astype(float)
        self.sx = np.zeros((len(self.n_j), X.shape[1]))
        np.add.at(self.sx, codes, X)
        self.sy = np.bincount(codes, weights=y, minlength=len(self.n_j))
        self.xtx, self.xty = X.T @ X, X.T @ y

    def gls(self, gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
        """(β̂, XᵀH⁻¹X, yᵀ-residual quadratic form) at γ, with H_j⁻¹ = I − γ/(1 + γ n_j) 11ᵀ."""
        w = gamma / (1.0 + gamma * self.n_j)
        a = self.xtx - (self.sx * w[:, None]).T @ self.sx
        b = self.xty - (self.sx * w[:, None]).T @ self.sy
        beta = np.linalg.solve(a, b)
        r = self.y - self.X @ beta
        sr = np.bincount(self.codes, weights=r, minlength=len(self.n_j))
        return beta, a, float(r @ r - np.sum(w * sr**2))

    def reml_loglike(self, gamma: float) -> float:
        """The REML log-likelihood at γ with β and σ² profiled out: the value of statsmodels'
        ``MixedLM.loglike(params, profile_fe=True)`` (same constants), in closed form per team."""
        n, p = self.X.shape
        m = n - p
        _, a, quad = self.gls(gamma)
        _, logdet_a = np.linalg.slogdet(a)
        logdet_h = float(np.sum(np.log1p(gamma * self.n_j)))
        return float(
            -m * np.log(quad) / 2 - logdet_h / 2 - logdet_a / 2 - m * np.log(2 * np.pi) / 2 + m * np.log(m) / 2 - m / 2
        )


def statsmodels_reml_loglike(y: np.ndarray, X: np.ndarray, groups: np.ndarray, gamma: float) -> float:
    """statsmodels' own profiled REML log-likelihood at γ (the reference `TeamSums` is tested on)."""
    model = MixedLM(y, X, groups=groups)  # REML by default
    # what MixedLM.fit() sets before it evaluates the likelihood: no penalties
    model.fe_pen, model.cov_pen, model._cov_sing = None, None, 0
    params = MixedLMParams.from_components(fe_params=np.zeros(X.shape[1]), cov_re=np.array([[gamma]]))
    return float(model.loglike(params, profile_fe=True))


def reml_maximum(y: np.ndarray, X: np.ndarray, groups: np.ndarray) -> tuple[float, float, float]:
    """(γ̂, log-likelihood at γ̂, log-likelihood at 0) for the random-intercept model.

    γ̂ is 0 when the boundary is the global maximum. ``groups`` are team codes 0..J-1.
    """
    sums = TeamSums(y, X, np.asarray(groups))

    def loglike(log10_gamma: float) -> float:
        return sums.reml_loglike(10.0**log10_gamma)

    grid = np.array([loglike(g) for g in LOG10_GAMMA_GRID])
    best = int(np.nanargmax(grid))
    lo = LOG10_GAMMA_GRID[max(best - 1, 0)]
    hi = LOG10_GAMMA_GRID[min(best + 1, len(LOG10_GAMMA_GRID) - 1)]
    found = optimize.minimize_scalar(lambda g: -loglike(g), bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    log10_gamma, ll_best = float(found.x), -float(found.fun)
    if grid[best] > ll_best:
        log10_gamma, ll_best = float(LOG10_GAMMA_GRID[best]), float(grid[best])
    ll_zero = reml_loglike_at_zero(y, X)
    if ll_zero >= ll_best:
        return 0.0, ll_zero, ll_zero
    return 10.0**log10_gamma, ll_best, ll_zero


def gls_at(y: np.ndarray, X: np.ndarray, codes: np.ndarray, gamma: float) -> dict:
    """β̂, σ̂² (REML) and Cov(β̂) at γ, with H⁻¹ per team in closed form:
    H_j⁻¹ = I − γ/(1 + γ n_j) 11ᵀ."""
    n, p = X.shape
    beta, a, quad = TeamSums(y, X, np.asarray(codes)).gls(gamma)
    sigma2 = quad / (n - p)
    return {"beta": beta, "sigma2": sigma2, "cov": sigma2 * np.linalg.inv(a)}


def team_codes(frame: pd.DataFrame) -> np.ndarray:
    """Team codes 0..J-1 (teams in id order) of the model's rows."""
    return pd.factorize(frame["team_id"], sort=True)[0]


def inference_df(frame: pd.DataFrame, X: pd.DataFrame) -> int:
    """`between_within_df`, refused below 1: a t interval needs a degree of freedom."""
    df = between_within_df(frame, X)
    if df < 1:
        raise NotEstimable(f"no degrees of freedom left for the t interval (J − g₂ − 2 = {df})")
    return df


@dataclass(frozen=True)
class Clustered:
    """A GLM (or OLS) fitted with the bias-reduced team-clustered covariance."""

    params: pd.Series
    cov: pd.DataFrame
    fitted: np.ndarray  # the fitted means

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov)), index=self.params.index)


def clustered(
    y: np.ndarray,
    X: pd.DataFrame,
    codes: np.ndarray,
    family: sm.families.Family,
    offset: np.ndarray | None = None,
) -> Clustered:
    """§4's team-clustered fit: statsmodels' `GEE` with an independence working correlation, the
    model's family (canonical link) and offset, ``groups`` = team, ``fit(cov_type="bias_reduced")``
    (Mancl and DeRouen's sandwich); its estimates are the GLM's (OLS's for the Gaussian family).
    A model that separates, does not converge or whose sandwich is singular is not estimable."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            glm = sm.GLM(y, X, family=family, offset=offset).fit()  # separation and convergence checked here
            gee = sm.GEE(y, X, groups=codes, family=family, offset=offset, cov_struct=sm.cov_struct.Independence())
            result = gee.fit(start_params=glm.params.to_numpy(), cov_type="bias_reduced")
        except (PerfectSeparationWarning, ConvergenceWarning, np.linalg.LinAlgError) as exc:
            raise NotEstimable(f"the model could not be fitted ({type(exc).__name__})") from exc
    cov = np.asarray(result.cov_params(), float)
    params = pd.Series(np.asarray(result.params, float), index=X.columns)
    if not (np.isfinite(params).all() and np.isfinite(cov).all()):
        raise NotEstimable("the model gave no finite estimate")
    return Clustered(params, pd.DataFrame(cov, index=X.columns, columns=X.columns), np.asarray(result.fittedvalues))


def fit_continuous(frame: pd.DataFrame, X: pd.DataFrame) -> Fit:
    """Linear mixed model (REML, global maximum) or the OLS fallback with the bias-reduced
    team-clustered SE; CI and p from t with §4's df."""
    y = frame["y"].to_numpy(float)
    codes = team_codes(frame)
    df = inference_df(frame, X)
    df_resid = float(len(y) - X.shape[1])
    gamma, _, _ = reml_maximum(y, X.to_numpy(), codes)
    arm = list(X.columns).index("arm")
    icc = gamma / (1.0 + gamma)
    if gamma > 0 and icc >= ICC_FLOOR:
        gls = gls_at(y, X.to_numpy(), codes, gamma)
        return Fit(
            model="mixedlm",
            estimate=float(gls["beta"][arm]),
            se=float(np.sqrt(gls["cov"][arm, arm])),
            df_resid=df_resid,
            df=df,
            icc=float(icc),
            variance={"team": float(gamma * gls["sigma2"]), "residual": float(gls["sigma2"])},
            gamma=float(gamma),
            params=pd.Series(gls["beta"], index=X.columns),
            cov=pd.DataFrame(gls["cov"], index=X.columns, columns=X.columns),
        )
    ols = clustered(y, X, codes, sm.families.Gaussian())
    resid = y - ols.fitted
    return Fit(
        model="ols_cluster_robust",
        estimate=float(ols.params["arm"]),
        se=float(ols.bse["arm"]),
        df_resid=df_resid,
        df=df,
        icc=None,
        variance={"team": 0.0, "residual": float(resid @ resid / df_resid)},
        params=ols.params,
        cov=ols.cov,
    )


GLM_MODELS = {"count": "poisson_glm_cluster", "binary": "logistic_glm_cluster"}


def fit_glm(frame: pd.DataFrame, X: pd.DataFrame, kind: str) -> Fit:
    """Poisson (count, log-exposure offset) or logistic (binary) GLM with the bias-reduced
    team-clustered SE; CI and p from t with §4's df."""
    df = inference_df(frame, X)
    if kind == "count":
        family, offset = sm.families.Poisson(), np.log(frame["exposure"].to_numpy(float))
    else:
        family, offset = sm.families.Binomial(), None
    result = clustered(frame["y"].to_numpy(float), X, team_codes(frame), family, offset)
    estimate, se = float(result.params["arm"]), float(result.bse["arm"])
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        raise NotEstimable("the model gave no finite estimate for arm")
    return Fit(
        model=GLM_MODELS[kind],
        estimate=estimate,
        se=se,
        df_resid=float(len(frame) - X.shape[1]),
        df=df,
        params=result.params,
        cov=result.cov,
    )


def check_estimable(frame: pd.DataFrame) -> None:
    """The plan's rules: ≥ 2 teams and ≥ 10 analysed participants per arm; y must vary."""
    for arm, label in ((1, "kitbag"), (0, "control")):
        part = frame.loc[frame["arm"] == arm]
        teams = part["team_id"].nunique()
        if teams < MIN_TEAMS_PER_ARM:
            raise NotEstimable(f"fewer than {MIN_TEAMS_PER_ARM} teams in the {label} arm")
        if len(part) < MIN_PARTICIPANTS_PER_ARM:
            raise NotEstimable(f"fewer than {MIN_PARTICIPANTS_PER_ARM} analysed participants in the {label} arm")
    if frame["y"].nunique() < 2:
        raise NotEstimable("no variation in the outcome")


def hedges_g(frame: pd.DataFrame, fit: Fit) -> dict:
    """g = J b / s with s the pooled within-arm SD (ddof 1) of y; CI = J (CI of b) / s."""
    groups = [frame.loc[frame["arm"] == a, "y"] for a in (1, 0)]
    n1, n0 = (len(g) for g in groups)
    pooled = np.sqrt(((n1 - 1) * groups[0].var(ddof=1) + (n0 - 1) * groups[1].var(ddof=1)) / (n1 + n0 - 2))
    j = 1 - 3 / (4 * (n1 + n0) - 9)
    lo, hi = fit.ci
    return {
        "measure": "hedges_g",
        "value": float(j * fit.estimate / pooled),
        "ci_low": float(j * lo / pooled),
        "ci_high": float(j * hi / pooled),
    }


def ratio_effect(fit: Fit, measure: str) -> dict:
    lo, hi = fit.ci
    return {
        "measure": measure,
        "value": float(np.exp(fit.estimate)),
        "ci_low": float(np.exp(lo)),
        "ci_high": float(np.exp(hi)),
    }
