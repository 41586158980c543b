"""Trial models (analysis-plan.md §4): double-programmed against lme4, and against the plan's
bias-reduced sandwich and t intervals computed independently (`plan_reference`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from plan_reference import between_within_df, glm_bias_reduced, ols_bias_reduced, t_ci, t_p
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

from kitbag_analysis.analysis.models import (
    ICC_FLOOR,
    NotEstimable,
    check_estimable,
    design,
    fit_continuous,
    fit_glm,
    reml_loglike_at_zero,
    reml_maximum,
)
from kitbag_analysis.analysis.models import between_within_df as package_df

LME4 = Path(__file__).parent / "fixtures" / "lme4"
RESULTS = pd.read_csv(LME4 / "lme4_results.csv").set_index("frame")
LAS = ["bexley", "haringey", "oxfordshire", "warwickshire"]


def _fixture(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(LME4 / f"{name}.csv")
    covariates = ["baseline"] + (["carer_type"] if "carer_type" in frame else [])
    X = design(frame, covariates, LAS if "local_authority" in frame else None)
    return frame, X


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


@pytest.mark.parametrize("name", list(RESULTS.index))
def test_mixed_model_matches_lme4(name: str) -> None:
    frame, X = _fixture(name)
    expected = RESULTS.loc[name]
    fit = fit_continuous(frame, X)
    lme4_choice = "mixedlm" if expected["icc"] >= ICC_FLOOR else "ols_cluster_robust"
    assert fit.model == lme4_choice
    assert rel(fit.estimate, expected["estimate"]) < 1e-5
    if fit.model == "mixedlm":
        assert rel(fit.se, expected["se"]) < 1e-5
        assert rel(fit.icc, expected["icc"]) < 1e-5
        assert rel(fit.variance["team"], expected["team_variance"]) < 1e-4


def test_fixture_set_covers_the_hard_cases() -> None:
    assert RESULTS.loc["clear_team_effect", "icc"] > 0.05
    assert RESULTS.loc["boundary", "icc"] < ICC_FLOOR  # lme4 at (or next to) the boundary
    frame, X = _fixture("stops_short")
    groups = pd.factorize(frame["team_id"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = MixedLM(frame["y"].to_numpy(float), X.to_numpy(), groups=groups).fit(reml=True)
    gamma, ll, _ = reml_maximum(frame["y"].to_numpy(float), X.to_numpy(), groups)
    assert ll - default.llf > 0.1  # statsmodels' default fit() stopped short here
    assert gamma > 0


@pytest.mark.parametrize("name", list(RESULTS.index))
def test_reml_likelihood_is_lme4s(name: str) -> None:
    frame, X = _fixture(name)
    groups = pd.factorize(frame["team_id"])[0]
    _, ll, _ = reml_maximum(frame["y"].to_numpy(float), X.to_numpy(), groups)
    assert abs(ll - RESULTS.loc[name, "reml_loglik"]) < 1e-5


def test_reml_at_zero_is_statsmodels_limit() -> None:
    frame, X = _fixture("clear_team_effect")
    groups = pd.factorize(frame["team_id"])[0]
    model = MixedLM(frame["y"].to_numpy(float), X.to_numpy(), groups=groups)
    model.fe_pen, model.cov_pen, model._cov_sing = None, None, 0
    params = MixedLMParams.from_components(fe_params=np.zeros(X.shape[1]), cov_re=np.array([[1e-10]]))
    near_zero = model.loglike(params, profile_fe=True)
    assert abs(reml_loglike_at_zero(frame["y"].to_numpy(float), X.to_numpy()) - near_zero) < 1e-6


def test_boundary_falls_back_to_ols_with_the_bias_reduced_se() -> None:
    frame, X = _fixture("boundary")
    fit = fit_continuous(frame, X)
    assert fit.model == "ols_cluster_robust" and fit.icc is None
    teams = frame["team_id"].to_numpy()
    beta, cov = ols_bias_reduced(X.to_numpy(), frame["y"].to_numpy(float), teams)
    arm = list(X.columns).index("arm")
    assert rel(fit.estimate, beta[arm]) < 1e-10 and rel(fit.se, np.sqrt(cov[arm, arm])) < 1e-8
    df = between_within_df(frame["team_id"], 0)
    assert fit.df == df and fit.df_resid == len(frame) - X.shape[1]
    assert fit.ci == pytest.approx(t_ci(beta[arm], np.sqrt(cov[arm, arm]), df), rel=1e-8)
    assert fit.p_value == pytest.approx(t_p(beta[arm], np.sqrt(cov[arm, arm]), df), rel=1e-7)
    # the bias-reduced SE is larger than the ordinary sandwich's (statsmodels' cluster SE)
    ordinary = sm.OLS(frame["y"].to_numpy(float), X).fit(cov_type="cluster", cov_kwds={"groups": teams})
    assert fit.se > ordinary.bse["arm"]


@pytest.mark.parametrize("name", list(RESULTS.index))
def test_every_interval_is_t_on_the_between_within_df(name: str) -> None:
    frame, X = _fixture(name)
    fit = fit_continuous(frame, X)
    g2 = 3 if "local_authority" in frame else 0  # the fixtures with LAs hold all four
    assert fit.df == between_within_df(frame["team_id"], g2)
    assert fit.ci == pytest.approx(t_ci(fit.estimate, fit.se, fit.df), rel=1e-12)
    assert fit.p_value == pytest.approx(t_p(fit.estimate, fit.se, fit.df), rel=1e-10)


def _poisson_frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 600
    team = rng.integers(0, 24, n)
    la = np.array(LAS)[team % 4]
    arm = (team // 4) % 2
    exposure = rng.integers(20, 366, n).astype(float)
    y = rng.poisson(exposure / 365 * np.exp(0.3 - 0.3 * arm + rng.normal(0, 0.3, 24)[team]))
    base = (rng.random(n) < 0.3).astype(float)
    yb = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.8 * base - 0.4 * arm)))).astype(float)
    return pd.DataFrame(
        {
            "y": y.astype(float),
            "exposure": exposure,
            "arm": arm,
            "baseline": base,
            "yb": yb,
            "team_id": [f"T{t:02d}" for t in team],
            "local_authority": la,
        }
    )


@pytest.mark.parametrize("pooled", [False, True])
def test_poisson_has_the_bias_reduced_se_and_t_interval(pooled: bool) -> None:
    frame = _poisson_frame()
    X = design(frame, [], LAS if pooled else None)
    fit = fit_glm(frame, X, "count")
    beta, cov = glm_bias_reduced(
        X.to_numpy(),
        frame["y"].to_numpy(float),
        frame["team_id"].to_numpy(),
        sm.families.Poisson(),
        np.log(frame["exposure"].to_numpy(float)),
    )
    assert rel(fit.estimate, beta[1]) < 1e-8
    assert rel(fit.se, np.sqrt(cov[1, 1])) < 1e-6
    df = between_within_df(frame["team_id"], 3 if pooled else 0)  # 24 teams: 22 or 19
    assert fit.df == df == (19 if pooled else 22)
    assert fit.ci == pytest.approx(t_ci(beta[1], np.sqrt(cov[1, 1]), df), rel=1e-6)
    assert fit.p_value == pytest.approx(t_p(beta[1], np.sqrt(cov[1, 1]), df), rel=1e-5)


@pytest.mark.parametrize("pooled", [False, True])
def test_logistic_has_the_bias_reduced_se_and_t_interval(pooled: bool) -> None:
    frame = _poisson_frame().assign(y=lambda f: f["yb"])
    X = design(frame, ["baseline"], LAS if pooled else None)
    fit = fit_glm(frame, X, "binary")
    beta, cov = glm_bias_reduced(
        X.to_numpy(), frame["y"].to_numpy(float), frame["team_id"].to_numpy(), sm.families.Binomial()
    )
    assert rel(fit.estimate, beta[1]) < 1e-8
    assert rel(fit.se, np.sqrt(cov[1, 1])) < 1e-6
    df = between_within_df(frame["team_id"], 3 if pooled else 0)
    assert fit.df == df
    assert fit.ci == pytest.approx(t_ci(beta[1], np.sqrt(cov[1, 1]), df), rel=1e-6)


def test_no_degree_of_freedom_is_not_estimable() -> None:
    """Four teams in four LAs: J − g₂ − 2 = 4 − 3 − 2 < 1, so no t interval exists."""
    frame = _poisson_frame()
    four = frame.loc[frame["team_id"].isin(["T00", "T05", "T02", "T07"])]
    assert four["local_authority"].nunique() == 4 and four["arm"].nunique() == 2
    X = design(four, [], LAS)
    assert package_df(four, X) == -1
    with pytest.raises(NotEstimable, match="no degrees of freedom"):
        fit_glm(four, X, "count")


def test_not_estimable_rules() -> None:
    frame = _poisson_frame()
    with pytest.raises(NotEstimable, match="fewer than 2 teams in the kitbag arm"):
        check_estimable(frame.loc[(frame["arm"] == 0) | (frame["team_id"] == "T04")])
    small = pd.concat([frame[frame["arm"] == 0], frame[frame["arm"] == 1].head(9)])
    with pytest.raises(NotEstimable, match="fewer than 10 analysed participants in the kitbag arm"):
        check_estimable(small)
    with pytest.raises(NotEstimable, match="no variation"):
        check_estimable(frame.assign(y=1.0))
    check_estimable(frame)


@pytest.mark.parametrize("name", list(RESULTS.index))
def test_closed_form_likelihood_is_statsmodels(name: str) -> None:
    """The per-team closed form the search evaluates is statsmodels' profiled REML likelihood."""
    from kitbag_analysis.analysis.models import TeamSums, statsmodels_reml_loglike

    frame, X = _fixture(name)
    y, x = frame["y"].to_numpy(float), X.to_numpy()
    groups = pd.factorize(frame["team_id"], sort=True)[0]
    sums = TeamSums(y, x, groups)
    for gamma in (1e-6, 1e-3, 0.02, 0.3, 1.0, 50.0):
        assert sums.reml_loglike(gamma) == pytest.approx(statsmodels_reml_loglike(y, x, groups, gamma), abs=1e-8)
