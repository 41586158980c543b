"""`kitbag monitor` (analysis-plan.md §8): ratings against [progression] equal to hand counts from
the files, the data cut (`--as-of`) against a hand filter and on physically cut data, the bundle
verified and audited as a report bundle is."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import _once_for_the_run, read_csv_text

from kitbag_analysis.cli import main
from kitbag_analysis.synthetic.generate import SynthSpec, write_study

LAS = ("bexley", "haringey", "oxfordshire", "warwickshire")
UPTAKE = SynthSpec(
    seed=7, children=400, la_uptake=(("bexley", 0.2), ("haringey", 0.8), ("oxfordshire", 0.8), ("warwickshire", 0.8))
)
END = dt.date(2021, 12, 31)  # after every follow-up of the synthetic study
MIDWAY = dt.date(2020, 12, 31)  # half-way through the practitioners' follow-up surveys
TARGETS = {"bexley": 60, "haringey": 120, "oxfordshire": 130, "warwickshire": 110}


def _with_targets(folder: Path) -> Path:
    study = write_study(folder / "study", UPTAKE)
    text = (study / "study.toml").read_text()
    targets = "\n".join(f"{la} = {n}" for la, n in TARGETS.items())
    (study / "study.toml").write_text(text + f"\n[progression.recruitment_target]\n{targets}\n")
    return study


@pytest.fixture(scope="session")
def uptake_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Uptake 0.2 in Bexley, 0.8 elsewhere, with recruitment targets (made once per run)."""
    return _once_for_the_run(tmp_path_factory, "uptake", _with_targets) / "study"


@pytest.fixture(scope="session")
def uptake_bundle(uptake_study: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    def run(folder: Path) -> None:
        args = ["monitor", str(uptake_study), "--out", str(folder / "out"), "--as-of", END.isoformat()]
        assert main([*args, "--workers", "1"]) == 0

    return _once_for_the_run(tmp_path_factory, "uptake-monitor", run) / "out"


# --- hand counts, from the CSV files with pandas only ---------------------------------------
def _files(study: Path) -> dict[str, pd.DataFrame]:
    names = (
        "teams",
        "children",
        "child_measures",
        "practitioners",
        "practitioner_measures",
        "carers",
        "carer_measures",
        "consent",
    )
    return {n: read_csv_text(study / f"{n}.csv") for n in names}


def _gone(files: dict[str, pd.DataFrame], day: dt.date) -> set[str]:
    """Ids whose latest consent row on or before ``day`` withdraws, objects or restricts."""
    c = files["consent"]
    c = c.loc[pd.to_datetime(c["status_changed_on"]) <= pd.Timestamp(day)]
    latest = c.sort_values(["participant_id", "status_changed_on"]).drop_duplicates("participant_id", keep="last")
    return set(latest.loc[latest["status"] != "active", "participant_id"])


def _people(files: dict[str, pd.DataFrame], who: str, id_column: str) -> pd.DataFrame:
    return files[who].merge(files["teams"], on="team_id")[[id_column, "local_authority", "arm"]]


def hand_uptake(files: dict, day: dt.date, who: str, measures: str, id_column: str, arm: str) -> pd.DataFrame:
    """Per LA: (using, answered) among the arm's included people whose latest answer by ``day`` is asked."""
    m = files[measures]
    m = m.loc[pd.to_datetime(m["completed_on"]) <= pd.Timestamp(day)]
    m = m.assign(order=(m["wave"] == "followup").astype(int)).sort_values([id_column, "completed_on", "order"])
    latest = m.drop_duplicates(id_column, keep="last").merge(_people(files, who, id_column), on=id_column)
    latest = latest.loc[~latest[id_column].isin(_gone(files, day)) & (latest["arm"] == arm)]
    latest = latest.loc[latest["kitbag_use"] != "not_asked"]
    latest = latest.assign(using=latest["kitbag_use"].isin(["sometimes", "often"]))
    return latest.groupby("local_authority")["using"].agg(["sum", "size"])


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def _rating(share: float, green: float, amber: float) -> str:
    return "green" if share >= green else "amber" if share >= amber else "red"


def _results(bundle: Path, unit: str) -> dict:
    return json.loads((bundle / unit / "results.json").read_text())


# --- the tests ----------------------------------------------------------------------------------
def test_low_uptake_la_is_red_the_others_green_as_hand_counted(uptake_study: Path, uptake_bundle: Path) -> None:
    files = _files(uptake_study)
    hand = hand_uptake(files, END, "practitioners", "practitioner_measures", "practitioner_id", "kitbag")
    for la in LAS:
        c = _results(uptake_bundle, la)["criteria"]["uptake_practitioners"]
        using, answered = int(hand.loc[la, "sum"]), int(hand.loc[la, "size"])
        assert (c["numerator"], c["denominator"]) == (using, answered)
        assert c["value"] == pytest.approx(using / answered)
        assert (c["ci_low"], c["ci_high"]) == pytest.approx(wilson(using, answered))
        assert c["rating"] == ("red" if la == "bexley" else "green"), (la, c)
    pooled = _results(uptake_bundle, "all")["criteria"]["uptake_practitioners"]
    using, answered = int(hand["sum"].sum()), int(hand["size"].sum())
    assert (pooled["numerator"], pooled["denominator"]) == (using, answered)
    assert pooled["rating"] == _rating(using / answered, 0.60, 0.40)
    # contamination: control practitioners and carers together, lower is better
    ctl = hand_uptake(files, END, "practitioners", "practitioner_measures", "practitioner_id", "control")
    ctl = ctl.add(hand_uptake(files, END, "carers", "carer_measures", "carer_id", "control"), fill_value=0)
    for la in LAS:
        c = _results(uptake_bundle, la)["criteria"]["contamination"]
        assert (c["numerator"], c["denominator"]) == (int(ctl.loc[la, "sum"]), int(ctl.loc[la, "size"]))
        assert c["rating"] == "green"  # no control participant uses Kitbags in the synthetic study


def test_results_json_has_the_shape_of_outputs_md(uptake_bundle: Path, uptake_study: Path) -> None:
    files = _files(uptake_study)
    kids = _people(files, "children", "child_id")
    for unit in (*LAS, "all"):
        r = _results(uptake_bundle, unit)
        assert set(r) == {"unit", "as_of", "recruitment", "criteria", "uptake_by_quarter"}
        assert r["as_of"] == END.isoformat()
        mine = kids if unit == "all" else kids.loc[kids["local_authority"] == unit]
        assert r["recruitment"] == {
            "kitbag": int((mine["arm"] == "kitbag").sum()),
            "control": int((mine["arm"] == "control").sum()),
            "target": sum(TARGETS.values()) if unit == "all" else TARGETS[unit],
        }
        assert set(r["criteria"]) == {
            "uptake_practitioners",
            "uptake_carers",
            "contamination",
            "baseline_completeness",
            "followup_completeness",
            "recruitment",
        }
        for c in r["criteria"].values():
            assert set(c) == {"numerator", "denominator", "value", "ci_low", "ci_high", "rating"}
            assert c["rating"] in ("green", "amber", "red", "not_rated")
            if c["denominator"] < 10:
                assert c["rating"] == "not_rated" and c["value"] is None
        recruitment = r["criteria"]["recruitment"]
        assert recruitment["rating"] == _rating(recruitment["numerator"] / recruitment["denominator"], 1.0, 0.75)
        for q in r["uptake_by_quarter"]:
            assert set(q) == {"quarter", "arm", "numerator", "denominator"} and q["numerator"] <= q["denominator"]


def test_bundle_verifies_audits_and_leads_with_the_ratings(uptake_bundle: Path, capsys) -> None:
    assert main(["verify", str(uptake_bundle)]) == 0
    assert main(["audit", str(uptake_bundle)]) == 0
    manifest = json.loads((uptake_bundle / "manifest.json").read_text())
    assert manifest["kind"] == "monitoring" and manifest["as_of"] == END.isoformat()
    index = (uptake_bundle / "index.html").read_text()
    assert index.index('id="table-ratings"') < index.index("monitoring.html")
    for unit in (*LAS, "all"):
        assert (uptake_bundle / unit / "monitoring.html").is_file() and (
            uptake_bundle / unit / "sdc" / "summary.json"
        ).is_file()
        release = json.loads((uptake_bundle / unit / "release.json").read_text())
        assert release["kind"] == "monitoring"
        counts = {
            (c["unit"], c["table"], c["population"], c["row"], c["column"])
            for c in release["cells"]
            if c["measure"] == "n"
        }
        linked = {
            (k["unit"], k["table"], k["population"], k["row"], k["column"])
            for i in release["identities"]
            for k in [i["total"], *i["parts"]]
        }
        assert counts and counts <= linked  # every published count is in the linked set's identities
        for c in release["cells"]:  # a share is shown only where its counts are
            if c["measure"].startswith("share") and c["value"] is not None and c["value"] != "[c]":
                row = [
                    d
                    for d in release["cells"]
                    if d["measure"] == "n" and d["row"] == c["row"] and d["table"] == c["table"]
                ]
                assert all(d["value"] != "[c]" for d in row)


def _hand_cut(study: Path, target: Path, day: dt.date) -> None:
    """The study physically cut to ``day``, with pandas on the files (the test's own filter)."""
    shutil.copytree(study, target)
    limit = pd.Timestamp(day)
    kids = read_csv_text(study / "children.csv")
    kids = kids.loc[pd.to_datetime(kids["enrolled_on"]) <= limit]
    kids.to_csv(target / "children.csv", index=False)
    keep = set(kids["child_id"])
    for name, column in (("child_measures", "assessed_on"), ("referrals", "referral_date")):
        f = read_csv_text(study / f"{name}.csv")
        f = f.loc[f["child_id"].isin(keep) & (pd.to_datetime(f[column]) <= limit)]
        f.to_csv(target / f"{name}.csv", index=False)
    for name, start, end in (
        ("placements", "episode_start", "episode_end"),
        ("missing_episodes", "missing_start", "missing_end"),
    ):
        f = read_csv_text(study / f"{name}.csv")
        f = f.loc[f["child_id"].isin(keep) & (pd.to_datetime(f[start]) <= limit)].copy()
        f.loc[pd.to_datetime(f[end]) > limit, end] = None
        f.to_csv(target / f"{name}.csv", index=False)
    for name, column in (
        ("practitioner_measures", "completed_on"),
        ("carer_measures", "completed_on"),
        ("consent", "status_changed_on"),
    ):
        f = read_csv_text(study / f"{name}.csv")
        f.loc[pd.to_datetime(f[column]) <= limit].to_csv(target / f"{name}.csv", index=False)
    f = read_csv_text(study / "absence.csv")
    f.loc[pd.to_datetime(f["month"] + "-01") <= limit].to_csv(target / "absence.csv", index=False)


@pytest.mark.parametrize("day", [dt.date(2020, 8, 1), MIDWAY])
def test_as_of_leaves_out_later_enrolments_and_measures(small_study_master: Path, day: dt.date) -> None:
    from kitbag_analysis.analysis.monitoring import monitor
    from kitbag_analysis.study.asof import DATED, as_of
    from kitbag_analysis.study.load import load_study

    cut = as_of(load_study(small_study_master, apply_exclusions_=False), day)
    for name, (column, _) in DATED.items():
        when = cut[name][column]
        when = pd.to_datetime(when + "-01") if column == "month" else pd.to_datetime(when)
        assert (when <= pd.Timestamp(day)).all(), name
    files = _files(small_study_master)
    kids = _people(files, "children", "child_id").merge(files["children"][["child_id", "enrolled_on"]])
    kids = kids.loc[pd.to_datetime(kids["enrolled_on"]) <= pd.Timestamp(day)]
    later = {
        n: (pd.to_datetime(files[n][c]) > pd.Timestamp(day)).sum()
        for n, c in (("child_measures", "assessed_on"), ("practitioner_measures", "completed_on"))
    }
    assert all(later.values())  # there were later measures to leave out
    if day < MIDWAY:
        assert len(kids) < len(files["children"])  # and later enrolments
    included = kids.loc[~kids["child_id"].isin(_gone(files, day))]
    m = files["child_measures"]
    based = m.loc[(m["wave"] == "baseline") & (pd.to_datetime(m["assessed_on"]) <= pd.Timestamp(day)), "child_id"]
    hand = hand_uptake(files, day, "practitioners", "practitioner_measures", "practitioner_id", "kitbag")
    for la in LAS:
        r = monitor(cut, la, day).to_json()
        mine, inc = kids.loc[kids["local_authority"] == la], included.loc[included["local_authority"] == la]
        assert r["recruitment"]["kitbag"] == (mine["arm"] == "kitbag").sum()
        assert r["recruitment"]["control"] == (mine["arm"] == "control").sum()
        base = r["criteria"]["baseline_completeness"]
        assert (base["numerator"], base["denominator"]) == (inc["child_id"].isin(based).sum(), len(inc))
        up = r["criteria"]["uptake_practitioners"]
        expected = (int(hand.loc[la, "sum"]), int(hand.loc[la, "size"])) if la in hand.index else (0, 0)
        assert (up["numerator"], up["denominator"]) == expected


def test_cut_data_and_full_data_as_of_give_the_same_cells(small_study_master: Path, tmp_path: Path) -> None:
    _hand_cut(small_study_master, tmp_path / "cut", MIDWAY)
    bundles = {}
    for name, study in (("full", small_study_master), ("cut", tmp_path / "cut")):
        out = tmp_path / f"out-{name}"
        args = ["monitor", str(study), "--out", str(out), "--as-of", MIDWAY.isoformat(), "--workers", "1"]
        assert main(args) == 0
        bundles[name] = out
    for unit in (*LAS, "all"):
        full, cut = (json.loads((bundles[n] / unit / "release.json").read_text()) for n in ("full", "cut"))
        assert full["cells"] == cut["cells"] and full["identities"] == cut["identities"]
        assert _results(bundles["full"], unit) == _results(bundles["cut"], unit)
    later = json.loads((bundles["full"] / "all" / "results.json").read_text())
    assert all(q["quarter"] <= "2020Q4" for q in later["uptake_by_quarter"])


def test_synth_uptake_refuses_an_unknown_la(tmp_path: Path, capsys) -> None:
    assert main(["synth", "--out", str(tmp_path / "s"), "--children", "40", "--uptake", "camden=0.2"]) == 2
    assert "camden" in capsys.readouterr().err and not (tmp_path / "s").exists()
    with pytest.raises(SystemExit):
        main(["synth", "--out", str(tmp_path / "s"), "--uptake", "bexley=2"])


def test_monitor_shares_the_batch_guarantees(small_study_master: Path, tmp_path: Path, capsys) -> None:
    """The same run machinery: the output folder's lock, and a foreign folder refused (exit 2)."""
    from kitbag_analysis.runs.batch import output_lock

    out = tmp_path / "out"
    with output_lock(out.absolute()):
        assert main(["monitor", str(small_study_master), "--out", str(out), "--as-of", "2021-01-01"]) == 2
    assert "another kitbag run is writing to this folder" in capsys.readouterr().err and not out.exists()
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["monitor", str(small_study_master), "--out", str(out), "--as-of", "2021-01-01"]) == 2
    assert (out / "notes.txt").read_text() == "mine"
