"""`analyse(study, unit)` end to end: structure, known effects, not-estimable units, exclusion."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import read_csv_text
from scipy import stats

from kitbag_analysis.analysis.analyse import analyse
from kitbag_analysis.analysis.outcomes import OUTCOMES
from kitbag_analysis.study.load import load_study
from kitbag_analysis.synthetic.generate import TRUTH_FILE, SynthSpec, write_study


@pytest.fixture(scope="session")
def default_study(tmp_path_factory) -> Path:
    return write_study(tmp_path_factory.mktemp("default") / "study", SynthSpec())


@pytest.fixture(scope="session")
def pooled(default_study: Path):
    return analyse(load_study(default_study), "all")


def test_every_outcome_in_results_json_shape(pooled) -> None:
    results = pooled.results.to_json()
    assert results["unit"] == "all"
    assert set(results["excluded"]) == {"child", "practitioner", "carer"}
    names = [a["outcome"] for a in results["analyses"]]
    assert names == [o.name for o in OUTCOMES]
    for a in results["analyses"]:
        assert a["status"] == "ok"
        assert set(a["n"]) == set(a["n_teams"]) == {"kitbag", "control"}
        assert a["ci_low"] < a["estimate"] < a["ci_high"]
        # t on the between-within df: J teams analysed − 3 LA terms − 2
        assert a["df"] == sum(a["n_teams"].values()) - 3 - 2
        assert math.isclose(a["ci_high"] - a["estimate"], stats.t.ppf(0.975, a["df"]) * a["se"])
        assert a["effect"]["measure"] == {"continuous": "hedges_g", "count": "irr", "binary": "odds_ratio"}[a["kind"]]
    json.dumps(results)  # serialisable as results.json


def test_truth_inside_ci_with_right_sign(pooled, default_study: Path) -> None:
    truth = json.loads((default_study / TRUTH_FILE).read_text())["outcomes"]
    for a in pooled.results.to_json()["analyses"]:
        true = truth[a["outcome"]]["value"]
        assert a["ci_low"] <= true <= a["ci_high"], (a["outcome"], true, a["ci_low"], a["ci_high"])
        assert math.copysign(1, a["estimate"]) == math.copysign(1, true), a["outcome"]


def test_pooled_models_have_la_terms_single_la_none(pooled, default_study) -> None:
    """The pooled Poisson model is `y ~ arm + C(local_authority)` with the log-exposure offset
    and the bias-reduced team-clustered SE (computed independently: `plan_reference`); a single
    LA's has no LA term."""
    import numpy as np
    import statsmodels.formula.api as smf
    from plan_reference import glm_bias_reduced
    from statsmodels.api import families as sm_families

    def formula_fit(frame: pd.DataFrame, formula: str) -> tuple[float, float]:
        offset = np.log(frame["exposure"].to_numpy(float))
        model = smf.glm(formula, frame, family=sm_families.Poisson(), offset=offset)
        beta, cov = glm_bias_reduced(
            model.exog, frame["y"].to_numpy(float), frame["team_id"].to_numpy(), sm_families.Poisson(), offset
        )
        arm = model.exog_names.index("arm")
        return beta[arm], float(np.sqrt(cov[arm, arm]))

    frame = pooled.frames["placement_moves"]
    estimate, se = formula_fit(frame, "y ~ arm + C(local_authority)")
    result = pooled.results["placement_moves"]
    assert math.isclose(result.estimate, estimate, rel_tol=1e-9)
    assert math.isclose(result.se, se, rel_tol=1e-6)
    without, _ = formula_fit(frame, "y ~ arm")
    assert not math.isclose(result.estimate, without, rel_tol=1e-6)
    single = analyse(load_study(default_study), "bexley")
    local = single.frames["placement_moves"]
    assert set(local["local_authority"]) == {"bexley"}
    assert math.isclose(single.results["placement_moves"].estimate, formula_fit(local, "y ~ arm")[0], rel_tol=1e-9)
    assert single.results["placement_moves"].df == local["team_id"].nunique() - 2


def test_tables_are_there(pooled) -> None:
    flow = pooled.tables["participant_flow"]
    assert {
        "teams randomised",
        "enrolled",
        "excluded (withdrawn, objected or restricted)",
        "with a baseline measure",
        "with a follow-up measure",
        "analysed: sdq_total",
    } <= set(flow["stage"])
    base = pooled.tables["baseline"]
    assert {"gender", "ethnicity", "age band", "role", "carer_type", "baseline sdq_total"} <= set(
        base["characteristic"]
    )
    assert base["smd"].abs().max() < 1
    assert len(pooled.tables["effectiveness"]) == len(OUTCOMES)
    assert set(pooled.tables["uptake"]["population"]) == {"practitioners", "carers"}


def test_unit_with_too_few_teams_is_not_estimable(small_study_master: Path, tmp_path: Path) -> None:
    study_dir = tmp_path / "s"
    shutil.copytree(small_study_master, study_dir)
    teams = read_csv_text(study_dir / "teams.csv")
    bex_kitbag = teams[(teams["local_authority"] == "bexley") & (teams["arm"] == "kitbag")]["team_id"]
    teams.loc[teams["team_id"].isin(bex_kitbag.iloc[1:]), "arm"] = "control"
    teams.to_csv(study_dir / "teams.csv", index=False)
    study = load_study(study_dir)
    bexley = analyse(study, "bexley")
    for a in bexley.results.to_json()["analyses"]:
        assert a["status"] == "not_estimable" and "fewer than 2 teams in the kitbag arm" in a["reason"]
        assert "estimate" not in a
    haringey = analyse(study, "haringey")
    assert any(r.ok for r in haringey.outcomes)


def test_excluded_participants_contribute_nothing(small_study_master: Path, tmp_path: Path) -> None:
    """Give withdrawn / objected / restricted participants extreme values: nothing changes."""
    base_dir = tmp_path / "base"
    shutil.copytree(small_study_master, base_dir)
    extreme_dir = tmp_path / "extreme"
    shutil.copytree(small_study_master, extreme_dir)
    consent = read_csv_text(base_dir / "consent.csv")
    latest = consent.sort_values("status_changed_on").drop_duplicates("participant_id", keep="last")
    gone = set(latest.loc[latest["status"] != "active", "participant_id"])

    cm = read_csv_text(extreme_dir / "child_measures.csv")
    hit = cm["child_id"].isin(gone)
    assert hit.any()
    for col in cm.columns:
        if col.startswith("sdq_"):
            cm.loc[hit, col] = "2"
        if col.startswith("cries_"):
            cm.loc[hit, col] = "5"
    cm.to_csv(extreme_dir / "child_measures.csv", index=False)
    ab = read_csv_text(extreme_dir / "absence.csv")
    ab.loc[ab["practitioner_id"].isin(gone), "sickness_days"] = ab["days_employed"]
    ab.to_csv(extreme_dir / "absence.csv", index=False)
    pm = read_csv_text(extreme_dir / "carer_measures.csv")
    pm.loc[pm["carer_id"].isin(gone), [c for c in pm.columns if c.startswith("gse_")]] = "4"
    pm.to_csv(extreme_dir / "carer_measures.csv", index=False)
    ref = read_csv_text(extreme_dir / "referrals.csv")
    kids = read_csv_text(extreme_dir / "children.csv")
    extra = pd.DataFrame({"child_id": sorted(gone & set(kids["child_id"])), "referral_date": "2020-09-01"})
    pd.concat([ref, extra]).to_csv(extreme_dir / "referrals.csv", index=False)

    for unit in ("all", "oxfordshire"):
        a = analyse(load_study(base_dir), unit).results.to_json()
        b = analyse(load_study(extreme_dir), unit).results.to_json()
        assert a == b
