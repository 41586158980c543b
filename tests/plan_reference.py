"""The revised analysis-plan §4 computed independently of the package (numpy and scipy from the
formulas, statsmodels only for the GLM's point estimates): the bias-reduced sandwich of Mancl and
DeRouen (Biometrics 2001) and the t interval on the between-within degrees of freedom."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats


def between_within_df(teams: pd.Series, n_la_terms: int) -> int:
    """df = J − g₂ − 2 (J teams among the model's rows, g₂ its LA terms)."""
    return int(teams.nunique()) - n_la_terms - 2


def t_ci(estimate: float, se: float, df: float) -> tuple[float, float]:
    half = stats.t.ppf(0.975, df) * se
    return estimate - half, estimate + half


def t_p(estimate: float, se: float, df: float) -> float:
    return float(2 * stats.t.sf(abs(estimate / se), df))


def bias_reduced_cov(X: np.ndarray, resid: np.ndarray, weights: np.ndarray, teams: np.ndarray) -> np.ndarray:
    """Mancl–DeRouen for a canonical-link GLM under independence: with W = diag(var(μ̂)) and
    B = XᵀWX, H_i = W_i X_i B⁻¹ X_iᵀ per team and Cov = B⁻¹ Σ_i X_iᵀ (I − H_i)⁻¹ r_i r_iᵀ
    (I − H_i)⁻ᵀ X_i B⁻¹ (r the response residuals; the scale cancels)."""
    b_inv = np.linalg.inv(X.T @ (X * weights[:, None]))
    meat = np.zeros_like(b_inv)
    for team in np.unique(teams):
        rows = teams == team
        xi, wi = X[rows], weights[rows]
        h = (xi * wi[:, None]) @ b_inv @ xi.T
        score = xi.T @ np.linalg.solve(np.eye(rows.sum()) - h, resid[rows])
        meat += np.outer(score, score)
    return b_inv @ meat @ b_inv


def ols_bias_reduced(X: np.ndarray, y: np.ndarray, teams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and their bias-reduced team-clustered covariance."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return beta, bias_reduced_cov(X, y - X @ beta, np.ones(len(y)), teams)


def glm_bias_reduced(
    X: np.ndarray, y: np.ndarray, teams: np.ndarray, family: sm.families.Family, offset: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A canonical-link GLM's coefficients (statsmodels' GLM) and their bias-reduced covariance."""
    fit = sm.GLM(y, X, family=family, offset=offset).fit()
    mu = np.asarray(fit.fittedvalues)
    beta = np.asarray(fit.params)
    return beta, bias_reduced_cov(X, y - mu, family.variance(mu), teams)
