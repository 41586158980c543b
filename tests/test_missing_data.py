"""§7.5: Rubin's rules on hand-computed numbers, the chained equations against statsmodels'
own MICEData, the section's presence rules and MI with nothing missing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.imputation.mice import MICEData

from kitbag_analysis.analysis.analyse import analyse
from kitbag_analysis.analysis.models import design, fit_continuous
from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME, outcome_frame
from kitbag_analysis.analysis.whatworks.missing_data import (
    MI_DONORS,
    ChainedEquations,
    multiple_imputation,
    rubin,
)
from kitbag_analysis.study.load import load_study
from kitbag_analysis.study.units import restrict


def test_rubins_rules_by_hand() -> None:
    pooled = rubin(np.array([1.0, 1.2, 0.8, 1.4]), np.array([0.04, 0.05, 0.045, 0.055]), df_complete=50)
    # Q̄ = 1.1; Ū = 0.0475; B = (0.01 + 0.01 + 0.09 + 0.09) / 3 = 0.0666667
    # T = 0.0475 + (1 + 1/4) 0.0666667 = 0.1308333; λ = 0.0833333 / 0.1308333 = 0.6369427
    # ν_old = 3 / λ² = 7.394737; ν_obs = 51/53 × 50 × (1 − λ) = 17.467853
    # ν = ν_old ν_obs / (ν_old + ν_obs) = 5.195345
    assert pooled.estimate == pytest.approx(1.1)
    assert pooled.within == pytest.approx(0.0475)
    assert pooled.between == pytest.approx(0.0666667, rel=1e-6)
    assert pooled.se**2 == pytest.approx(0.1308333, rel=1e-6)
    assert pooled.df == pytest.approx(5.195345, rel=1e-6)
    half = stats.t.ppf(0.975, 5.195345) * math.sqrt(0.1308333)
    assert pooled.ci_low == pytest.approx(1.1 - half, rel=1e-6)
    assert pooled.ci_high == pytest.approx(1.1 + half, rel=1e-6)
    assert pooled.m == 4


def test_rubins_rules_without_between_variance() -> None:
    """Identical estimates: T = Ū and ν = ν_obs = (ν_com + 1)/(ν_com + 3) ν_com."""
    pooled = rubin(np.full(5, 2.0), np.full(5, 0.25), df_complete=30)
    assert pooled.se == pytest.approx(0.5)
    assert pooled.df == pytest.approx(31 / 33 * 30)


def test_chained_equations_are_statsmodels_micedata() -> None:
    rng = np.random.default_rng(3)
    n = 400
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "baseline": rng.normal(size=n),
            "arm": rng.integers(0, 2, n).astype(float),
            "team_mean_baseline": rng.normal(size=n),
        }
    )
    data.loc[rng.random(n) < 0.3, "y"] = np.nan
    data.loc[rng.random(n) < 0.1, "baseline"] = np.nan
    ours = ChainedEquations(data, k_pmm=MI_DONORS, rng=np.random.default_rng(11))
    theirs = MICEData(data, k_pmm=5, rng=np.random.default_rng(11))  # §7.5: 5 donors, as R's mice
    ours.update_all(6)
    theirs.update_all(6)
    np.testing.assert_array_equal(ours.data.to_numpy(), theirs.data.to_numpy())


@pytest.fixture(scope="module")
def small(small_study_master: Path):
    return load_study(small_study_master)


def test_mi_of_a_complete_frame_is_complete_case(small) -> None:
    """m imputations of data with no missing value pool to the complete-case fit exactly."""
    outcome = OUTCOME_BY_NAME["sdq_total"]
    included = outcome_frame(restrict(small, "all"), outcome)
    complete = included.dropna(subset=["y", "baseline"]).reset_index(drop=True)
    las = list(small.settings.local_authorities)
    fit = fit_continuous(complete, design(complete, ["baseline"], las))
    pooled = multiple_imputation(complete, ["baseline"], las, m=5)
    assert pooled.estimate == pytest.approx(fit.estimate, rel=1e-12)
    assert pooled.between == pytest.approx(0.0, abs=1e-20)
    assert pooled.se == pytest.approx(fit.se, rel=1e-12)
    # B = 0: ν = ν_obs = (ν_com + 1)/(ν_com + 3) ν_com with ν_com §4's J − g₂ − 2 (not n − p)
    nu_com = complete["team_id"].nunique() - (complete["local_authority"].nunique() - 1) - 2
    assert pooled.df == pytest.approx((nu_com + 1) / (nu_com + 3) * nu_com, rel=1e-12)


def test_mi_matches_with_five_donors(small, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain draws each imputation from the 5 nearest donors: another k gives other data."""
    from kitbag_analysis.analysis.whatworks import missing_data as md

    outcome = OUTCOME_BY_NAME["gse_carer"]
    included = outcome_frame(restrict(small, "all"), outcome)
    las = list(small.settings.local_authorities)
    five = multiple_imputation(included, ["baseline", "carer_type"], las, m=3)
    seen = []
    real = md.ChainedEquations.__init__

    def spy(self, data, *args, **kwargs):  # noqa: ANN001, ANN202
        seen.append(kwargs.get("k_pmm"))
        real(self, data, *args, **kwargs)

    monkeypatch.setattr(md.ChainedEquations, "__init__", spy)
    assert multiple_imputation(included, ["baseline", "carer_type"], las, m=3) == five
    assert seen == [5]


def test_mi_is_deterministic(small) -> None:
    outcome = OUTCOME_BY_NAME["gse_carer"]
    included = outcome_frame(restrict(small, "all"), outcome)
    las = list(small.settings.local_authorities)
    first = multiple_imputation(included, ["baseline", "carer_type"], las, m=4)
    again = multiple_imputation(included, ["baseline", "carer_type"], las, m=4)
    assert first == again
    assert first.between > 0  # something was imputed


def test_no_missing_outcome_no_mi_section(tmp_path: Path) -> None:
    """A study whose every included child has both scores: missing_share 0, no models, and the
    complete-case analysis is the §4 analysis."""
    from test_whatworks import mdes_study

    folder = mdes_study(tmp_path / "study")
    measures = pd.read_csv(folder / "child_measures.csv", dtype=str)
    children = pd.read_csv(folder / "children.csv", dtype=str)
    keep = measures.groupby("child_id")["wave"].transform("size") == 2
    measures.loc[keep].to_csv(folder / "child_measures.csv", index=False)
    withdrawn = children["child_id"].iloc[-1]
    has_both = set(measures.loc[keep, "child_id"]) | {withdrawn}
    children.loc[children["child_id"].isin(has_both)].to_csv(folder / "children.csv", index=False)
    analysis = analyse(load_study(folder), "bexley")
    result = analysis.results["sdq_total"]
    entry = result.to_json()
    assert entry["missing_data"] == {"missing_share": 0.0}
    frame = analysis.frames["sdq_total"]
    fit = fit_continuous(frame, design(frame, ["baseline"], None))
    assert (result.estimate, result.se) == (fit.estimate, fit.se)


def test_missingness_model_that_separates_is_reported_not_published(small) -> None:
    """One LA with nobody missing: the model 'fits' with an odds ratio near 0; that is no
    estimate, so the section says why instead (and the MI still runs)."""
    from kitbag_analysis.analysis.whatworks.missing_data import missing_data

    outcome = OUTCOME_BY_NAME["sdq_total"]
    included = outcome_frame(restrict(small, "all"), outcome)
    las = list(small.settings.local_authorities)
    rng = np.random.default_rng(1)
    y = included["y"].copy()
    y[included["local_authority"] == las[1]] = rng.integers(5, 30, int((included["local_authority"] == las[1]).sum()))
    included = included.assign(y=y.astype(float))
    analysed = int(included[["y", "baseline"]].notna().all(axis=1).sum())
    md = missing_data(included, analysed, ["baseline"], las, (0.0, -1.0, 1.0))
    assert md.missingness_model is None and "separates" in md.missingness_reason
    assert md.mi is not None
    json_entry = md.to_json()
    assert json_entry["missingness_model"] is None and "separates" in json_entry["missingness_reason"]
