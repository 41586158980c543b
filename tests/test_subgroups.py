"""§7.6: the interaction model and the effect in each level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from plan_reference import ols_bias_reduced, t_ci, t_p

from kitbag_analysis.analysis.outcomes import SUBGROUPS
from kitbag_analysis.analysis.whatworks.subgroups import fit_subgroup


def frame_with_subgroup(team_sd: float, n_teams: int = 16, small_level: bool = False, seed: int = 5):
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_teams):
        u = rng.normal(0, team_sd)
        arm = t % 2
        for _ in range(int(rng.integers(8, 15))):
            s = float(rng.random() < (0.03 if small_level else 0.4))
            base = rng.normal(14, 5)
            y = 3 + 0.6 * base - 1.0 * arm - 0.8 * arm * s + 0.5 * s + u + rng.normal(0, 3)
            rows.append((f"BEX-T{t:02d}", arm, y, base, s))
    frame = pd.DataFrame(rows, columns=["team_id", "arm", "y", "baseline", "s"])
    return frame, frame["s"]


def test_fallback_model_is_ols_with_the_interaction() -> None:
    frame, s = frame_with_subgroup(team_sd=0.0, seed=1)
    result = fit_subgroup(frame, s, ["baseline"], None, SUBGROUPS["looked_after"])
    assert result.model == "ols_cluster_robust"
    X = smf.ols("y ~ arm + baseline + s + arm:s", frame).exog  # const, arm, baseline, s, arm:s
    beta, v = ols_bias_reduced(X, frame["y"].to_numpy(float), frame["team_id"].to_numpy())
    df = frame["team_id"].nunique() - 2  # 16 teams, one LA: 14
    assert result.df == df == 14
    assert result.estimate == pytest.approx(beta[4], rel=1e-10)
    assert result.se == pytest.approx(np.sqrt(v[4, 4]), rel=1e-8)
    assert result.p_value == pytest.approx(t_p(beta[4], np.sqrt(v[4, 4]), df), rel=1e-7)
    cla, other = result.levels["cla"], result.levels["other"]
    assert other.estimate == pytest.approx(beta[1], rel=1e-10)
    assert cla.estimate == pytest.approx(beta[1] + beta[4], rel=1e-10)
    se = np.sqrt(v[1, 1] + v[4, 4] + 2 * v[1, 4])
    assert cla.se == pytest.approx(se, rel=1e-8)
    assert (cla.ci_low, cla.ci_high) == pytest.approx(t_ci(beta[1] + beta[4], se, df), rel=1e-8)


def test_mixed_model_level_effects_from_the_covariance() -> None:
    frame, s = frame_with_subgroup(team_sd=2.0)
    result = fit_subgroup(frame, s, ["baseline"], None, SUBGROUPS["disability"])
    assert result.model == "mixedlm"
    yes, other = result.levels["yes"], result.levels["other"]
    assert yes.estimate == pytest.approx(other.estimate + result.estimate, rel=1e-10)
    assert yes.se > other.se  # fewer in the first level
    assert result.p_value == pytest.approx(t_p(result.estimate, result.se, frame["team_id"].nunique() - 2))
    assert (yes.ci_low, yes.ci_high) == pytest.approx(t_ci(yes.estimate, yes.se, result.df))


def test_small_level_not_estimable_but_interaction_reported() -> None:
    frame, s = frame_with_subgroup(team_sd=1.0, small_level=True, seed=2)  # 3 and 3 in the first level
    counts = frame.assign(s=s).groupby(["s", "arm"]).size()
    assert counts.loc[1.0].min() < 10
    result = fit_subgroup(frame, s, ["baseline"], None, SUBGROUPS["uasc"])
    assert result.levels["yes"].status == "not_estimable" and result.levels["yes"].estimate is None
    assert result.levels["no"].status == "ok"
    assert result.estimate is not None and result.p_value is not None
    entry = result.to_json()
    assert set(entry) == {"interaction", "levels"} and set(entry["levels"]) == {"yes", "no"}


def test_subgroup_without_variation_is_not_estimable() -> None:
    """Nobody in the first level: no interaction, no first-level effect, but the other level (all
    the analysed, at least 10 per arm) still gets the arm effect (§7.6's only rule is the count)."""
    frame, _ = frame_with_subgroup(team_sd=1.0)
    result = fit_subgroup(frame, pd.Series(0.0, index=frame.index), ["baseline"], None, SUBGROUPS["uasc"])
    assert result.estimate is None and result.reason
    assert result.levels["yes"].status == "not_estimable"
    from kitbag_analysis.analysis.models import design, fit_continuous

    primary = fit_continuous(frame, design(frame, ["baseline"], None))
    assert result.levels["no"].status == "ok" and result.levels["no"].estimate == pytest.approx(primary.estimate)
