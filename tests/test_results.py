"""Typed results and their results.json form (outputs.md)."""

from __future__ import annotations

import pandas as pd
import pytest

from kitbag_analysis.analysis.models import Fit, hedges_g, ratio_effect
from kitbag_analysis.analysis.results import Effect, OutcomeResult, UnitResults


def test_ok_and_not_estimable_entries() -> None:
    ok = OutcomeResult(
        "placement_moves",
        "children",
        "count",
        "ok",
        {"kitbag": 50, "control": 60},
        {"kitbag": 4, "control": 4},
        fit=Fit("poisson_glm_cluster", estimate=-0.2, se=0.1, df_resid=108, df=6),
        effect=Effect("irr", 0.82, 0.68, 0.99),
    )
    assert ok.model == "poisson_glm_cluster" and ok.df_resid == 108 and ok.df == 6 and ok.icc is None
    # 8 teams: df = 8 − 2 = 6, t.975(6) = 2.4469119; p = 2 P(T6 > 2) = 0.0924263
    assert ok.ci_low == pytest.approx(-0.2 - 2.4469119 * 0.1) and ok.p_value == pytest.approx(0.0924263, abs=1e-7)
    assert ok.fit.ci == (ok.ci_low, ok.ci_high)  # derived from the fit it keeps, never copied
    gone = OutcomeResult(
        "gse_carer",
        "carers",
        "continuous",
        "not_estimable",
        {"kitbag": 3, "control": 0},
        {"kitbag": 1, "control": 0},
        reason="fewer than 2 teams in the control arm",
    )
    units = UnitResults("bexley", {"child": 1, "practitioner": 0, "carer": 2}, (ok, gone))
    data = units.to_json()
    assert data["analyses"][0]["effect"] == {"measure": "irr", "value": 0.82, "ci_low": 0.68, "ci_high": 0.99}
    assert "icc" not in data["analyses"][0]  # continuous outcomes only
    assert data["analyses"][0]["df"] == 6 and data["analyses"][0]["df_resid"] == 108
    assert data["analyses"][1] == {
        "outcome": "gse_carer",
        "population": "carers",
        "kind": "continuous",
        "status": "not_estimable",
        "model": None,
        "n": {"kitbag": 3, "control": 0},
        "n_teams": {"kitbag": 1, "control": 0},
        "reason": "fewer than 2 teams in the control arm",
    }
    assert units["gse_carer"] is gone and Effect("irr", 1, 1, 1).null == 1.0


def test_effects_by_hand() -> None:
    fit = Fit("mixedlm", estimate=-1.0, se=0.5, df_resid=4, df=4)
    # CI of b: -1 ± t.975(4) × 0.5 = -1 ± 2.7764451 × 0.5 = (-2.3882226, 0.3882226);
    # t = -2 on 4 df -> p = 2 P(T4 > 2) = 0.1161165
    assert fit.ci == pytest.approx((-2.3882226, 0.3882226)) and fit.p_value == pytest.approx(0.1161165, abs=1e-7)
    frame = pd.DataFrame({"arm": [1, 1, 1, 0, 0, 0], "y": [1.0, 2, 3, 2, 4, 6]})
    # variances 1 and 4; pooled SD = sqrt((2·1 + 2·4) / 4) = 1.5811388; J = 1 - 3 / (4·6 - 9) = 0.8
    # g = 0.8 × -1 / 1.5811388 = -0.5059644; CI = 0.8 × (-2.3882226, 0.3882226) / 1.5811388
    g = hedges_g(frame, fit)
    assert g["value"] == pytest.approx(-0.5059644, abs=1e-7)
    assert (g["ci_low"], g["ci_high"]) == pytest.approx((-1.2083557, 0.1964268), abs=1e-6)
    # IRR on 20 df: exp(ln 0.8 ± 2.0859634 × 0.1) = 0.6493783, 0.9855581
    irr = ratio_effect(Fit("poisson_glm_cluster", estimate=-0.22314355, se=0.1, df_resid=50, df=20), "irr")
    assert irr["value"] == pytest.approx(0.8)
    assert (irr["ci_low"], irr["ci_high"]) == pytest.approx((0.6493783, 0.9855581), abs=1e-6)
