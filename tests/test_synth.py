"""`kitbag synth`: realistic, valid, deterministic, with known true effects."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from conftest import snapshot

from data_contracts import validate_study
from kitbag_analysis.cli import main
from kitbag_analysis.study.load import load_study
from kitbag_analysis.synthetic.generate import TRUTH_FILE, SynthSpec, generate

OUTCOMES = [
    "sdq_total",
    "cries8_total",
    "placement_moves",
    "missing_episodes",
    "referral_followup",
    "gse_practitioner",
    "pss10_total",
    "sickness_days",
    "gse_carer",
]


def test_default_size_validates_clean(tmp_path: Path) -> None:
    assert main(["synth", "--out", str(tmp_path / "s")]) == 0
    validated = validate_study(tmp_path / "s")
    assert validated.report.ok, validated.report.failures[:5]
    assert 8500 <= len(validated.frames["children"]) <= 9500
    truth = json.loads((tmp_path / "s" / TRUTH_FILE).read_text())
    assert sorted(truth["outcomes"]) == sorted(OUTCOMES)


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        main(["synth", "--out", str(tmp_path / name), "--children", "300", "--seed", "5"])
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    main(["synth", "--out", str(tmp_path / "c"), "--children", "300", "--seed", "6"])
    assert snapshot(tmp_path / "a") != snapshot(tmp_path / "c")


def test_parquet_output_validates(tmp_path: Path) -> None:
    assert main(["synth", "--out", str(tmp_path / "p"), "--children", "300", "--format", "parquet"]) == 0
    assert validate_study(tmp_path / "p").report.ok


def test_study_has_the_realistic_features(small_study_master: Path) -> None:
    files, _ = generate(SynthSpec(seed=7, children=400))
    teams = files["teams"]
    assert set(teams["local_authority"]) == {"bexley", "haringey", "oxfordshire", "warwickshire"}
    per_la = teams.groupby("local_authority")["arm"].value_counts().unstack()
    assert (per_la >= 2).all().all()  # randomised within LA
    assert files["placements"]["episode_end"].isna().any()  # open episodes
    assert set(files["placements"]["reason_new_episode"]) >= {"S", "P"}
    measures = files["child_measures"]
    assert measures.filter(like="sdq_").isna().any().any()  # blank items
    assert (measures["wave"] == "followup").sum() < (measures["wave"] == "baseline").sum()
    consent = files["consent"]
    assert consent["participant_id"].duplicated().any()  # histories
    dates = pd.to_datetime(consent["status_changed_on"])
    withdrawn = consent["status"] == "withdrawn"
    assert (dates[withdrawn] < "2022-03-01").any() and (dates[withdrawn] >= "2022-03-01").any()
    study = load_study(small_study_master)
    assert all(v > 0 for v in study.excluded.values())


def test_null_effect_size(tmp_path: Path) -> None:
    _, truth = generate(SynthSpec(children=300, effect_size=0.0))
    assert all(abs(o["value"]) < 1e-12 for o in truth["outcomes"].values())


def test_synth_refuses_a_folder_holding_a_study(tmp_path, capsys) -> None:
    from conftest import snapshot

    from kitbag_analysis.cli import main

    assert main(["synth", "--out", str(tmp_path / "p"), "--children", "100", "--format", "parquet"]) == 0
    before = snapshot(tmp_path / "p")
    assert main(["synth", "--out", str(tmp_path / "p"), "--children", "100"]) == 2
    assert "already holds study files" in capsys.readouterr().err
    assert snapshot(tmp_path / "p") == before  # no CSV written beside the Parquet study
    assert main(["validate", str(tmp_path / "p")]) == 0


def test_what_works_options_leave_the_default_study_alone() -> None:
    """missing="mar" and uptake < 1 use a second random stream: every other value is the same."""
    base, _ = generate(SynthSpec(children=600, seed=9))
    other, truth = generate(SynthSpec(children=600, seed=9, missing="mar", uptake=0.5))
    for name in ("teams", "children", "placements", "carers", "absence"):
        pd.testing.assert_frame_equal(base[name], other[name])
    sdq = truth["outcomes"]["sdq_total"]
    assert abs(sdq["complier_value"]) > abs(sdq["value"])  # only compliers' children benefit


def test_missing_at_random_depends_on_baseline() -> None:
    files, _ = generate(SynthSpec(children=4000, seed=3, missing="mar"))
    m = files["child_measures"]
    base = m.loc[m["wave"] == "baseline"].set_index("child_id")
    items = [c for c in m.columns if c.startswith("sdq_")]
    level = base[items].apply(pd.to_numeric, errors="coerce").mean(axis=1)
    followed = base.index.isin(m.loc[m["wave"] == "followup", "child_id"])
    high = level > level.median()
    assert followed[~high].mean() - followed[high].mean() > 0.05  # high baseline, more often missing


def test_partial_uptake_is_a_team_property() -> None:
    files, _ = generate(SynthSpec(children=600, seed=4, uptake=0.5))
    m = files["practitioner_measures"].merge(files["practitioners"], on="practitioner_id").merge(files["teams"])
    follow = m.loc[(m["wave"] == "followup") & (m["arm"] == "kitbag")]
    used = follow["kitbag_use"].isin(["sometimes", "often"]).groupby(follow["team_id"]).mean()
    assert set(used.unique()) <= {0.0, 1.0} and 0 < used.mean() < 1


def test_the_real_trials_shape() -> None:
    """teams / practitioners / carers give the real trial's shape (benchmarks/simulation.py):
    teams shared between the LAs in LA_DESIGN's proportions, each with at least 2 per arm."""
    from kitbag_analysis.synthetic.generate import LA_DESIGN, teams_per_la

    assert teams_per_la(None) == {slug: d[1] for slug, d in LA_DESIGN.items()}
    # 24 teams in 12:14:18:16 -> 4.8, 5.6, 7.2, 6.4 -> floors 4, 5, 7, 6 (22), the two largest
    # remainders (0.8 Bexley, 0.6 Haringey) take one each
    assert teams_per_la(24) == {"bexley": 5, "haringey": 6, "oxfordshire": 7, "warwickshire": 6}
    files, _ = generate(SynthSpec(children=1100, seed=5, teams=31, practitioners=180, carers=290))
    teams = files["teams"]
    assert len(teams) == 31 and teams.groupby("local_authority")["arm"].value_counts().min() >= 2
    assert len(files["practitioners"]) == 180 and len(files["carers"]) == 290
    assert set(files["practitioners"]["team_id"]) <= set(teams["team_id"])
    base, _ = generate(SynthSpec(children=600, seed=9))
    same, _ = generate(SynthSpec(children=600, seed=9, teams=None, practitioners=None, carers=None))
    for name in base:
        pd.testing.assert_frame_equal(base[name], same[name])
