"""Refit an outcome's model with a formula of your own, in JupyterLab (secure side, exact).

`refit(study, unit, outcome, formula)` builds the outcome's analysis frame (analysis-plan.md §3:
who is analysed, y, baseline, exposure) joined with the participants' own columns (gender,
ethnicity, disability, uasc, legal_status, role, carer_type, ...), turns a statsmodels/patsy
formula over it into a design, and fits it with the same machinery as §4: REML at the global
maximum with model-based SEs (or the OLS cluster-robust fallback) for scores, the clustered
Poisson or logistic GLM for counts and the binary outcome. The plan's own formula reproduces
`analyse`: `y ~ arm + baseline` in one LA, `+ C(local_authority)` in `all`, `+ C(carer_type)` for
carers; counts take no baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from patsy import dmatrices
from scipy import stats

from kitbag_analysis.analysis.models import ICC_FLOOR, Z95, gls_at, reml_maximum
from kitbag_analysis.analysis.outcomes import POPULATIONS, analysis_frame, outcome_named
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import ALL, restrict


@dataclass
class Refit:
    """A refitted model: every coefficient with its SE, 95% CI and p, and the variance split."""

    outcome: str
    formula: str
    model: str
    n: int
    coefficients: pd.DataFrame  # term, estimate, se, ci_low, ci_high, p_value
    icc: float | None = None

    def __getitem__(self, term: str) -> pd.Series:
        return self.coefficients.set_index("term").loc[term]


def plan_formula(outcome: str, unit: str) -> str:
    """The analysis plan's model for ``outcome`` in ``unit`` as a formula."""
    o = outcome_named(outcome)
    terms = ["arm"] + (["baseline"] if o.kind != "count" else []) + [f"C({c})" for c in o.covariates]
    if unit == ALL:
        terms.append("C(local_authority)")
    return "y ~ " + " + ".join(terms)


def refit_frame(study: Study, unit: str, outcome: str) -> pd.DataFrame:
    """The outcome's analysis frame joined with the participants' own columns (by id)."""
    o = outcome_named(outcome)
    view = restrict(study, unit)
    frame = analysis_frame(view, o)
    people = view[POPULATIONS[o.population].file].rename(columns={POPULATIONS[o.population].id_column: "id"})
    extra = ["id", *(c for c in people.columns if c not in frame.columns)]
    return frame.merge(people[extra], on="id", how="left", validate="one_to_one")


def refit(study: Study, unit: str, outcome: str, formula: str | None = None) -> Refit:
    """Fit ``formula`` (default: the plan's) to ``outcome`` in ``unit`` by the rules of §4."""
    o = outcome_named(outcome)
    formula = formula or plan_formula(outcome, unit)
    data = refit_frame(study, unit, outcome)
    for column in data.columns:  # patsy reads text as categories; Arrow strings as plain objects
        if isinstance(data[column].dtype, pd.ArrowDtype) or data[column].dtype == "string":
            data[column] = data[column].astype(object)
    y, X = dmatrices(formula, data, return_type="dataframe", NA_action="drop")
    # the intercept, then numeric terms, then categories: the plan's formula gives §4's design exactly
    order = sorted(X.columns, key=lambda c: (c != "Intercept", c.startswith("C(")))
    X = pd.DataFrame({c: X[c].to_numpy(float) for c in order}, index=X.index)  # laid out as models.design lays it
    rows = data.loc[X.index]
    codes = pd.factorize(rows["team_id"], sort=True)[0]
    y = y.iloc[:, 0].to_numpy(float)
    if o.kind == "continuous":
        gamma, _, _ = reml_maximum(y, X.to_numpy(), codes)
        icc = gamma / (1 + gamma)
        if gamma > 0 and icc >= ICC_FLOOR:
            gls = gls_at(y, X.to_numpy(), codes, gamma)
            table = _table(X.columns, gls["beta"], np.sqrt(np.diag(gls["cov"])))
            return Refit(outcome, formula, "mixedlm", len(y), table, float(icc))
        fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": codes})
        return Refit(outcome, formula, "ols_cluster_robust", len(y), _table(X.columns, fit.params, fit.bse))
    family = sm.families.Poisson() if o.kind == "count" else sm.families.Binomial()
    offset = np.log(rows["exposure"].to_numpy(float)) if o.kind == "count" else None
    fit = sm.GLM(y, X, family=family, offset=offset).fit(cov_type="cluster", cov_kwds={"groups": codes})
    name = "poisson_glm_cluster" if o.kind == "count" else "logistic_glm_cluster"
    return Refit(outcome, formula, name, len(y), _table(X.columns, fit.params, fit.bse))


def _table(terms, beta, se) -> pd.DataFrame:  # noqa: ANN001
    beta, se = np.asarray(beta, float), np.asarray(se, float)
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": beta,
            "se": se,
            "ci_low": beta - Z95 * se,
            "ci_high": beta + Z95 * se,
            "p_value": 2 * stats.norm.sf(np.abs(beta / se)),
        }
    )


__all__ = ["Refit", "plan_formula", "refit", "refit_frame"]
