"""Refit an outcome's model with a formula of your own, in JupyterLab (secure side, exact).

`refit(study, unit, outcome, formula)` builds the outcome's analysis frame (analysis-plan.md §3:
who is analysed, y, baseline, exposure) joined with the participants' own columns (gender,
ethnicity, disability, uasc, legal_status, role, carer_type, ...), turns a statsmodels/patsy
formula over it into a design, and fits it with §4's own fits (`fit_continuous`, `fit_glm`):
REML at the global maximum with model-based SEs (or the OLS fallback with the bias-reduced
team-clustered SE) for scores, the Poisson or logistic GLM with the bias-reduced team-clustered
SE for counts and the binary outcome; every CI and p from t with §4's df (J − g₂ − 2, g₂ the
formula's local-authority terms). The plan's own formula reproduces
`analyse`: `y ~ arm + baseline` in one LA, `+ C(local_authority)` in `all`, `+ C(carer_type)` for
carers; counts take no baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from patsy import dmatrices

from kitbag_analysis.analysis.models import Fit, fit_continuous, fit_glm, t_interval, t_p_value
from kitbag_analysis.analysis.outcomes import POPULATIONS, analysis_frame, outcome_named
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import ALL, restrict


@dataclass
class Refit:
    """A refitted model: every coefficient with its SE, 95% CI and p (t with ``df``), and the
    variance split."""

    outcome: str
    formula: str
    model: str
    n: int
    df: float  # §4's J − g₂ − 2, of every CI and p-value in the table
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
    rows = data.loc[X.index].assign(y=y.iloc[:, 0].to_numpy(float))
    fit = fit_continuous(rows, X) if o.kind == "continuous" else fit_glm(rows, X, o.kind)
    return Refit(outcome, formula, fit.model, len(rows), fit.df, _table(fit), fit.icc)


def _table(fit: Fit) -> pd.DataFrame:
    """Every coefficient of ``fit`` with its SE, t-based 95% CI and p."""
    rows = []
    for term in fit.params.index:
        b, se = fit.combination({term: 1.0})
        lo, hi = t_interval(b, se, fit.df)
        rows.append((term, b, se, lo, hi, t_p_value(b, se, fit.df)))
    return pd.DataFrame(rows, columns=["term", "estimate", "se", "ci_low", "ci_high", "p_value"])


__all__ = ["Refit", "plan_formula", "refit", "refit_frame"]
