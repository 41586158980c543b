"""What-Works statistics §7.1–7.3: the MDES check values, and attrition and the total-variance
effect size on the small synthetic study, checked against numbers computed another way."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import statsmodels.formula.api as smf

from kitbag_analysis.analysis import analyse
from kitbag_analysis.study import load_study
from kitbag_analysis.whatworks import mdes


def test_mdes_check_values_of_the_plan() -> None:
    assert mdes(40, 20, 0.2, 0, 0, 0, 0.5) == pytest.approx(0.44548, abs=1e-5)
    assert mdes(40, 20, 0.2, 0.5, 0.5, 1, 0.5) == pytest.approx(0.31523, abs=1e-5)
    assert mdes(24, 10, 0.1, 0.4, 0, 0, 0.5) == pytest.approx(0.46975, abs=1e-5)
    # by hand for J 40, n 20, rho 0.2, P 1/2: df 38, M = t.975 + t.80 = 2.024394 + 0.851427 = 2.875821;
    # sqrt(0.2 / 10 + 0.8 / 200) = sqrt(0.024) = 0.154919 -> 0.445525 (the plan rounds to 0.44548 with its t)
    assert math.isnan(mdes(2, 20, 0.2, 0, 0, 0, 0.5))  # no degrees of freedom left


@pytest.fixture(scope="module")
def pooled(small_study_master: Path):
    return analyse(load_study(small_study_master), "all")


def test_attrition_from_the_flow_table(pooled) -> None:
    flow = pooled.tables["participant_flow"]
    for result in pooled.outcomes:
        entry = result.to_json()
        if result.kind != "continuous" or not result.ok:
            assert "attrition" not in entry
            continue
        rows = flow[flow["population"] == result.population].set_index("stage")
        for arm in ("kitbag", "control"):
            enrolled = rows.loc["enrolled", arm]  # excluded participants included
            analysed = rows.loc[f"analysed: {result.outcome}", arm]
            assert entry["attrition"][arm] == pytest.approx(1 - analysed / enrolled)
        a = entry["attrition"]
        assert a["difference"] == pytest.approx(a["kitbag"] - a["control"])


def test_total_variance_effect_size_uses_the_unconditional_model(pooled) -> None:
    result = pooled.results["sdq_total"]
    frame = pooled.frames["sdq_total"]
    wk = result.what_works
    # M0 by statsmodels' own REML fit (no baseline): its variances give the same denominator
    m0 = smf.mixedlm("y ~ arm + C(local_authority)", frame, groups=frame["team_id"]).fit(reml=True)
    total = float(m0.cov_re.iloc[0, 0] + m0.scale)
    assert wk.g_total["value"] == pytest.approx(result.estimate / np.sqrt(total), rel=1e-3)
    assert wk.icc_unconditional == pytest.approx(m0.cov_re.iloc[0, 0] / total, rel=1e-2, abs=1e-4)
    assert wk.g_total["ci_low"] < wk.g_total["value"] < wk.g_total["ci_high"]
    assert 0 < wk.mdes["analysis"] < 2 and 0 < wk.mdes["randomisation"] < 2
