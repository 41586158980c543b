"""Refitting with a formula: the plan's formula reproduces §4; other covariates fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitbag_analysis.analysis.analyse import analyse
from kitbag_analysis.analysis.refit import plan_formula, refit
from kitbag_analysis.study.load import load_study


@pytest.fixture(scope="module")
def study(small_study_master: Path):
    return load_study(small_study_master)


@pytest.mark.parametrize("unit", ["haringey", "all"])
def test_the_plans_formula_reproduces_the_report(study, unit: str) -> None:
    for result in analyse(study, unit).outcomes:
        if not result.ok:
            continue
        fit = refit(study, unit, result.outcome)
        assert fit.model == result.model
        assert fit["arm"].estimate == pytest.approx(result.estimate, rel=1e-8, abs=1e-12)
        assert fit["arm"].se == pytest.approx(result.se, rel=1e-8, abs=1e-12)
        assert fit.df == result.df  # J − g₂ − 2: the formula's LA terms counted as the plan's
        assert fit["arm"].ci_low == pytest.approx(result.ci_low, rel=1e-8, abs=1e-12)
        assert fit["arm"].p_value == pytest.approx(result.p_value, rel=1e-7, abs=1e-12)


def test_a_categorical_covariate_fits(study) -> None:
    fit = refit(study, "all", "sdq_total", "y ~ arm + baseline + C(local_authority) + C(gender)")
    terms = set(fit.coefficients["term"])
    assert {"arm", "baseline", "C(gender)[T.male]"} <= terms  # text columns enter as categories
    assert fit.n > 100 and fit.coefficients["se"].gt(0).all()
    assert plan_formula("gse_carer", "all") == "y ~ arm + baseline + C(carer_type) + C(local_authority)"
    assert plan_formula("placement_moves", "bexley") == "y ~ arm"
