"""What-Works statistics §7.1–7.3: the MDES check values, g_total and the unconditional ICC
double-programmed against lme4, MDES and attrition on a hand-made study worked by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from handmade import CHILD, hexid, withdrawal, write_folder
from scipy import stats

from kitbag_analysis.analysis.analyse import analyse
from kitbag_analysis.analysis.models import design, fit_continuous
from kitbag_analysis.analysis.whatworks.outcome_stats import mdes, unconditional
from kitbag_analysis.study.load import load_study


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
    assert wk.g_total.value == pytest.approx(result.estimate / np.sqrt(total), rel=1e-3)
    assert wk.icc_unconditional == pytest.approx(m0.cov_re.iloc[0, 0] / total, rel=1e-2, abs=1e-4)
    assert wk.g_total.ci_low < wk.g_total.value < wk.g_total.ci_high
    assert 0 < wk.mdes.analysis < 2 and 0 < wk.mdes.randomisation < 2


# --- §7.1 double-programmed against lme4 --------------------------------------------------------
LME4 = Path(__file__).parent / "fixtures" / "lme4"
WHATWORKS = pd.read_csv(LME4 / "lme4_whatworks.csv").set_index("frame")
LAS = ["bexley", "haringey", "oxfordshire", "warwickshire"]


def _close(ours: float, lme4: float) -> bool:
    """1e-5 relative; a value lme4 leaves at rounding distance from 0 (a singular fit) is 0."""
    return abs(ours - lme4) <= 1e-5 * abs(lme4) or (abs(lme4) < 1e-10 and abs(ours) < 1e-10)


@pytest.mark.parametrize("name", list(WHATWORKS.index))
def test_total_variance_effect_size_matches_lme4(name: str) -> None:
    frame = pd.read_csv(LME4 / f"{name}.csv")
    covariates = ["baseline"] + (["carer_type"] if "carer_type" in frame else [])
    X = design(frame, covariates, LAS if "local_authority" in frame else None)
    fit = fit_continuous(frame, X)
    m0 = unconditional(frame, X)
    expected = WHATWORKS.loc[name]
    assert _close(fit.estimate, expected["b1"])
    assert _close(m0.team, expected["team_variance_0"])
    assert _close(m0.residual, expected["residual_variance_0"])
    assert _close(m0.g_total(fit).value, expected["g_total"])
    assert _close(m0.icc, expected["icc_unconditional"])


def test_fixtures_cover_m0_at_the_boundary() -> None:
    assert WHATWORKS.loc["m0_boundary", "singular_0"]
    frame = pd.read_csv(LME4 / "m0_boundary.csv")
    m0 = unconditional(frame, design(frame, ["baseline"], None))
    assert m0.team == 0.0 and m0.icc == 0.0
    # at the boundary σ²₀ is the OLS residual variance with n − p in the denominator
    ols = sm.OLS(frame["y"], sm.add_constant(frame[["arm"]])).fit()
    assert m0.residual == pytest.approx(ols.ssr / (len(frame) - 2), rel=1e-12)


# --- §7.2 at analysis, on a hand-made study ------------------------------------------------------
RANDOMISED = "2021-06-01"


def _sdq(emotional: int) -> dict[str, int]:
    """SDQ items whose total is 15 + emotional (0-10): every other subscale scores 5."""
    items = {f"sdq_{k:02d}": 1 for k in range(1, 26)}
    for k, item in enumerate((3, 8, 13, 16, 24)):
        items[f"sdq_{item:02d}"] = 2 if emotional > 2 * k + 1 else (1 if emotional > 2 * k else 0)
    return items


def mdes_study(folder: Path) -> Path:
    """One LA, seven teams: T01-T03 kitbag, T04-T06 control with four children each who have both
    SDQ waves (24 analysed); T07 kitbag with two children who have no follow-up; one more child
    in T01 withdrew. So J_rand = 7 (4 kitbag), enrolled 27; J_an = 6 (3 kitbag), analysed 24."""
    teams = [
        {"team_id": f"BEX-T{t:02d}", "local_authority": "bexley", "arm": arm, "randomised_on": RANDOMISED}
        for t, arm in enumerate(["kitbag"] * 3 + ["control"] * 3 + ["kitbag"], start=1)
    ]
    homes = {k: f"BEX-T{(k - 1) // 4 + 1:02d}" for k in range(1, 25)} | {25: "BEX-T07", 26: "BEX-T07", 27: "BEX-T01"}
    children = [{"child_id": hexid("C", k), "team_id": t, **CHILD} for k, t in homes.items()]
    rng = np.random.default_rng(7)
    measures = []
    for k in range(1, 28):
        base = int(rng.integers(0, 11))
        waves = [("baseline", "2021-05-20", base)]
        if k <= 24 or k == 27:
            follow = int(np.clip(base + rng.integers(-3, 4) - (k <= 12), 0, 10))
            waves.append(("followup", "2022-05-20", follow))
        for wave, day, emotional in waves:
            measures.append(
                {"child_id": hexid("C", k), "wave": wave, "informant": "carer", "assessed_on": day, **_sdq(emotional)}
            )
    consent = [withdrawal(hexid("C", 27))]
    return write_folder(folder, teams=teams, children=children, child_measures=measures, consent=consent)


def test_mdes_at_analysis_and_randomisation_by_hand(tmp_path: Path) -> None:
    analysis = analyse(load_study(mdes_study(tmp_path / "study")), "bexley")
    result = analysis.results["sdq_total"]
    assert result.ok and result.n == {"kitbag": 12, "control": 12}
    wk = result.what_works
    # ρ and the R² from M0 and M1 (by their definitions), then the formula by hand
    m0 = unconditional(analysis.frames["sdq_total"], design(analysis.frames["sdq_total"], ["baseline"], None))
    rho = m0.team / (m0.team + m0.residual)
    r2_1 = min(max(1 - result.variance["residual"] / m0.residual, 0), 1)
    r2_2 = min(max(1 - result.variance["team"] / m0.team, 0), 1) if m0.team > 0 else 0.0
    assert wk.icc_unconditional == pytest.approx(rho, rel=1e-12)

    def by_hand(j: int, n_bar: float, p: float) -> float:
        df = j - 0 - 2  # one LA: g2 = 0
        m = stats.t.ppf(0.975, df) + stats.t.ppf(0.80, df)
        return m * np.sqrt(rho * (1 - r2_2) / (p * (1 - p) * j) + (1 - rho) * (1 - r2_1) / (p * (1 - p) * j * n_bar))

    # at analysis: J = 6 teams with an analysed child, 3 of them kitbag, 24 analysed -> n̄ = 4;
    # df = 4, t.975(4) = 2.776445, t.80(4) = 0.940965
    assert by_hand(6, 24 / 6, 3 / 6) == pytest.approx(
        (2.776445 + 0.940965) * np.sqrt(rho * (1 - r2_2) / 1.5 + (1 - rho) * (1 - r2_1) / 6), rel=1e-6
    )
    assert wk.mdes.analysis == pytest.approx(by_hand(6, 4.0, 0.5), rel=1e-12)
    # at randomisation: J = 7 teams, 4 kitbag, 27 enrolled (the withdrawn child included)
    assert wk.mdes.randomisation == pytest.approx(by_hand(7, 27 / 7, 4 / 7), rel=1e-12)
    # attrition: kitbag 12 analysed of 4 + 4 + 4 + 1 (withdrawn) + 2 = 15 enrolled; control 12 of 12
    assert wk.attrition.kitbag == pytest.approx(1 - 12 / 15)
    assert wk.attrition.control == 0.0
    assert wk.attrition.overall == pytest.approx(1 - 24 / 27)
    assert wk.attrition.teams == pytest.approx(1 / 7)
    # missing data: 26 included, 24 analysed -> 1 - 24/26 > 5%, so both models are there
    for entry in analysis.results.to_json()["analyses"]:  # valid JSON: no NaN anywhere
        json.dumps(entry, allow_nan=False)
    md = result.to_json()["missing_data"]
    assert md["missing_share"] == pytest.approx(1 - 24 / 26)
    assert set(md) == {"missing_share", "missingness_model", "missingness_reason", "mi"}
    # both missing children are in a Kitbags team: no control child is missing, so the model of
    # missingness separates on arm and says so instead of an odds ratio of ~infinity
    assert md["missingness_model"] is None and "separates" in md["missingness_reason"]
    assert md["mi"]["m"] == 20
