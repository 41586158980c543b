"""Successive releases (analysis-plan.md §6.1, outputs.md "Successive releases").

The attacker holds two published release sets of one study (release.json of every unit: what a
batch publishes) and knows who changed in between. Its code is its own (interval propagation and
exact elimination from tests/test_attacker.py, over the identities each release.json carries): it
must recover no count that changed by fewer than the threshold, no number built on one, and no
suppressed cell of either release. The ledger commands are exercised through `kitbag`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from attacker import Attack, exact_count

from kitbag_analysis.analysis.analyse import analysis_counts
from kitbag_analysis.cli import main
from kitbag_analysis.errors import ReleaseRefused
from kitbag_analysis.pages.report import counts_releases
from kitbag_analysis.sdc import ledger as ledgers
from kitbag_analysis.sdc.history import entry_from_release
from kitbag_analysis.sdc.linked import linked_set
from kitbag_analysis.study.load import load_study

C = "[c]"
T = 10
MEASURES = ("child_measures", "practitioner_measures", "carer_measures")
DERIVED = ("mean", "sd", "percent", "rate")


# --- what a batch would publish, without its notebooks ----------------------------------------
def record(study_dir: Path, releases: list[dict], run_id: str) -> None:
    """Record ``releases`` in the study's ledger, as `kitbag release` does after verify and audit."""
    manifest = {"run_id": run_id, "kind": "report", "created_at": "2026-01-01T00:00:00+00:00"}
    with ledgers.locked(study_dir):
        ledgers.append(study_dir, entry_from_release(manifest, releases, "test", "", "0" * 64))


def cells(releases: list[dict]) -> dict[tuple, object]:
    return {
        (c["unit"], c["table"], c["population"], c["row"], c["column"], c["measure"]): c["value"]
        for r in releases
        for c in r["cells"]
    }


def counts(releases: list[dict]) -> dict[tuple, float | None]:
    return {k[:5]: (None if v == C else float(v)) for k, v in cells(releases).items() if k[5] == "n" and v is not None}


def propagation(releases: list[dict]) -> Attack:
    """The attacker's own model of one release: its counts, identities and orderings."""
    a = Attack()
    for key, value in counts(releases).items():
        a.cell(key, C if value is None else str(value))

    def key(d: dict) -> tuple:
        return (d["unit"], d["table"], d["population"], d["row"], d["column"])

    for r in releases:
        for i in r.get("identities", []):
            a.identity(key(i["total"]), [key(p) for p in i["parts"]])
        for b in r.get("bounds", []):
            if a.has(key(b["smaller"])) and a.has(key(b["larger"])):
                a.bounds.append((key(b["smaller"]), key(b["larger"])))
    return a


def attack(before: list[dict], after: list[dict], truth_before: dict, truth_after: dict) -> dict[str, list]:
    """What the holder of both releases recovers about the people who changed (empty lists: nothing).

    ``truth_*`` are the exact counts (the linked set), which tell the test which counts changed."""
    b, a = counts(before), counts(after)
    changed = {k for k in truth_after if k in truth_before and 0 < abs(truth_after[k] - truth_before[k]) < T}
    changed = {(k.unit, k.table, k.population, k.row, k.column) for k in changed if k.table != "complement"}
    # the trial-process counts are published exactly (the default policy, analysis-plan.md §6.2):
    # their change says only that people joined or left; nothing built on them may show it
    exact = {k for k in a | b if exact_count(k[1], k[3], k[4])}
    found: dict[str, list] = {}
    # a count shown in both whose change is 1 to T - 1 people: the changed people's level of it
    found["shown changes"] = sorted(
        k for k in a if k in b and a[k] is not None and b[k] is not None and 0 < abs(a[k] - b[k]) < T and k not in exact
    )
    # a cell suppressed earlier and shown now
    found["earlier [c] shown"] = sorted(k for k in a if k in b and b[k] is None and a[k] is not None)
    # a number built on a changed count, shown now (n1 m1 - n2 m2 gives the changed person's value)
    after_cells = cells(after)
    found["derived on a changed count"] = sorted(
        k
        for k, v in after_cells.items()
        if k[5] in DERIVED
        and v not in (None, C)
        and (*k[:4], k[4].split(" ")[0]) in changed
        and not (k[5] == "percent" and (*k[:4], k[4].split(" ")[0]) in exact)  # a share of two shown counts
    )
    # a model of a row whose count changed (its estimate moves with the changed people alone)
    rows_changed = {k[:4] for k in changed}
    found["model on a changed count"] = sorted(
        k
        for k, v in after_cells.items()
        if k[5] not in ("n", *DERIVED) and v not in (None, C) and k[:4] in rows_changed
    )
    # the change of a changed count worked out from this release's identities (the earlier value
    # is known when it was shown): fewer than T possible values
    for name, releases in (("before", before), ("after", after)):
        attacker = propagation(releases)
        intervals, determined = attacker.solve()
        need = attacker.required({k for k in attacker.known if exact_count(k[1], k[3], k[4])}, T)
        found[f"{name}: [c] determined"] = sorted(determined)
        found[f"{name}: [c] narrower than T"] = sorted(
            k for k, (lo, hi) in intervals.items() if hi - lo < need[k] - 1e-6
        )
        if name == "after":
            found["change narrower than T"] = sorted(
                k
                for k in changed
                if k in intervals and b.get(k) is not None and intervals[k][1] - intervals[k][0] < need[k] - 1e-6
            )
    return {k: v for k, v in found.items() if v}


# --- scenarios ----------------------------------------------------------------------------------
@pytest.fixture
def recorded(study: Path, small_bundle: Path) -> Path:
    """A copy of the small study whose ledger holds the shared small bundle (its batch)."""
    releases = [json.loads(p.read_text()) for p in sorted(small_bundle.glob("*/release.json"))]
    record(study, releases, "R1-full")
    return study


def withdraw(study: Path, children: list[str], on: str = "2022-08-01") -> None:
    consent = pd.read_csv(study / "consent.csv", dtype=str, keep_default_na=False)
    extra = pd.DataFrame(
        {
            "participant_id": children,
            "participant_type": "child",
            "status": "withdrawn",
            "status_changed_on": on,
        }
    )
    pd.concat([consent, extra]).to_csv(study / "consent.csv", index=False)


def analysed_children(study: Path, k: int) -> list[str]:
    """``k`` included children who are in every one of the pooled trial's analyses of children."""
    from kitbag_analysis.analysis.outcomes import OUTCOMES

    frames = analysis_counts(load_study(study), "all").frames
    ids = sorted(set.intersection(*(set(frames[o.name]["id"]) for o in OUTCOMES if o.population == "children")))
    return [ids[i] for i in (3, len(ids) // 2, len(ids) - 4)][:k]


def test_a_rerun_after_one_withdrawal_is_refused_naming_no_one(recorded: Path, tmp_path: Path, capsys) -> None:
    (child,) = analysed_children(recorded, 1)
    withdraw(recorded, [child])
    out = tmp_path / "bundle"
    assert main(["batch", str(recorded), "--out", str(out)]) == 1
    message = capsys.readouterr().err
    assert "refused" in message and "R1-full" in message and "1 person" in message
    assert "10 people have changed" in " ".join(message.split())
    assert child not in message
    for la in ("bexley", "haringey", "oxfordshire", "warwickshire", "Kitbags", "control"):
        assert la not in message.lower()
    assert not out.exists()  # nothing published


def test_three_withdrawals_with_late_data_are_refused_or_recover_nothing(study: Path) -> None:
    """R1: the data less three follow-up rows (they arrive late); R2: all rows, three withdrawals."""
    full = pd.read_csv(study / "child_measures.csv", dtype=str, keep_default_na=False)
    follow = full.index[full["wave"] == "followup"]
    late = [follow[10], follow[200], follow[-10]]
    full.drop(index=late).to_csv(study / "child_measures.csv", index=False)
    before, pattern_before = counts_releases(study)
    record(study, before, "R1-early")
    full.to_csv(study / "child_measures.csv", index=False)
    withdraw(study, analysed_children(study, 3))
    try:
        after, pattern_after = counts_releases(study)
    except ReleaseRefused as refused:
        assert "R1-early" in str(refused) and "people have changed" in str(refused)
        return
    assert not attack(before, after, pattern_before.linked.values, pattern_after.linked.values)


def published(bundle: Path) -> list[dict]:
    """What a bundle publishes: every unit's release.json."""
    return [json.loads(p.read_text()) for p in sorted(bundle.glob("*/release.json"))]


def test_interim_then_final_publishes_the_pooled_effects_and_recovers_nothing(study: Path, tmp_path: Path) -> None:
    """An interim report with 70% of follow-up rows, released with `kitbag release`, then the final
    data with three withdrawals: `kitbag batch` publishes (exit 0), verify and audit pass, and the
    attacker holding both bundles' release.json recovers nothing."""
    full = {f: pd.read_csv(study / f"{f}.csv", dtype=str, keep_default_na=False) for f in MEASURES}
    for f, frame in full.items():
        late = frame[frame["wave"] == "followup"].sample(frac=0.3, random_state=11).index
        frame.drop(index=late).to_csv(study / f"{f}.csv", index=False)
    interim_out, final_out = tmp_path / "interim", tmp_path / "final"
    assert main(["batch", str(study), "--out", str(interim_out), "--workers", "2"]) == 0
    assert main(["release", str(interim_out), "--by", "A. Checker", "--note", "interim"]) == 0
    truth_interim = linked_set(load_study(study)).values
    for f, frame in full.items():
        frame.to_csv(study / f"{f}.csv", index=False)
    withdraw(study, analysed_children(study, 3))
    assert main(["batch", str(study), "--out", str(final_out), "--workers", "2"]) == 0  # not refused
    assert main(["verify", str(final_out)]) == 0 and main(["audit", str(final_out)]) == 0
    assert main(["release", str(final_out), "--by", "A. Checker"]) == 0
    interim, final = published(interim_out), published(final_out)
    truth_final = linked_set(load_study(study)).values
    found = attack(interim, final, truth_interim, truth_final)
    assert not found, {k: v[:3] for k, v in found.items()}
    summary = json.loads((final_out / "all" / "sdc" / "summary.json").read_text())["audit"]["ledger"]
    (against,) = summary["earlier_releases"]
    assert against["changed_below_threshold"] > 0, "the withdrawals changed counts the final release had to protect"
    shown = counts(final)
    pooled = [k for k in shown if k[:3] == ("all", "effectiveness", "children") and k[3].endswith("_total")]
    assert len(pooled) == 4 and all(shown[k] is not None for k in pooled), "the pooled SDQ and CRIES-8 stay shown"
    estimates = {
        k[3]
        for k, v in cells(final).items()
        if k[:3] == ("all", "effectiveness", "children") and k[5] == "estimate" and v not in (None, C)
    }
    assert {"sdq_total", "cries8_total"} <= estimates, "with their models"
    # the flow is exact (the default policy): the analysed counts the three withdrawals alone changed
    # are shown, and the models resting on them are withheld (their estimates would move with them)
    rows = {k[3] for k in shown if k[:3] == ("all", "effectiveness", "children") and shown[k] is not None}
    withheld = rows - estimates - {"sdq_total", "cries8_total"}
    assert withheld, "the models of the counts the three withdrawals alone changed are withheld"
    moved = {
        k.row
        for k, v in truth_final.items()
        if (k.unit, k.table) == ("all", "effectiveness") and k in truth_interim and 0 < abs(v - truth_interim[k]) < T
    }
    assert withheld <= moved
    print(f"ledger cost at 400 children: {summary}")


def test_an_erasure_after_a_release_is_refused_naming_no_one(study: Path, capsys) -> None:
    """A child in every analysis withdraws before the analysis phase and `kitbag erase --apply`
    removes their rows: the ledger (aggregates only) is untouched by the erasure, holds no trace of
    the child, and the next release is refused as for a withdrawal, naming no one."""
    assert main(["erase", str(study), "--apply"]) == 0  # the synthetic study's own early withdrawals
    releases, _ = counts_releases(study)
    record(study, releases, "R1-before-erasure")
    ledger_before = ledgers.ledger_path(study).read_bytes()
    (child,) = analysed_children(study, 1)
    withdraw(study, [child], on="2021-01-15")  # before analysis_phase_start: erased
    assert main(["erase", str(study), "--apply"]) == 0
    assert child not in (study / "children.csv").read_text()
    assert ledgers.ledger_path(study).read_bytes() == ledger_before and child.encode() not in ledger_before
    capsys.readouterr()
    with pytest.raises(ReleaseRefused) as refused:
        counts_releases(study)
    assert "R1-before-erasure" in str(refused.value) and child not in str(refused.value)


def test_a_rectification_after_a_release_recovers_nothing(study: Path) -> None:
    """One child's gender is corrected with `kitbag rectify --apply` after a release: the counts it
    moves (one fewer in one row, one more in another) are protected, and the main results stay."""
    before, pattern_before = counts_releases(study)
    record(study, before, "R1-before-rectification")
    (child,) = analysed_children(study, 1)
    children = pd.read_csv(study / "children.csv", dtype=str, keep_default_na=False)
    gender = children.loc[children["child_id"] == child, "gender"].iloc[0]
    new = "female" if gender != "female" else "male"
    fixes = study.parent / "fixes.csv"
    fixes.write_text(f"file,id,column,new_value\nchildren,{child},gender,{new}\n")
    assert main(["rectify", str(study), str(fixes), "--apply"]) == 0
    after, pattern_after = counts_releases(study)  # not refused: no main result changed
    found = attack(before, after, pattern_before.linked.values, pattern_after.linked.values)
    assert not found, {k: v[:3] for k, v in found.items()}
    moved = [k for k in pattern_after.ledger if k.row.startswith("gender")]
    assert moved, "the gender counts the correction moved are protected"
    shown = counts(after)
    pooled = [k for k in shown if k[:3] == ("all", "effectiveness", "children") and k[3].endswith("_total")]
    assert pooled and all(shown[k] is not None for k in pooled)


# --- the commands ---------------------------------------------------------------------------------
@pytest.fixture
def bundle_copy(study: Path, small_bundle: Path, tmp_path: Path) -> Path:
    """The small bundle, copied, its manifest pointing at a private copy of its study."""
    out = tmp_path / "bundle"
    shutil.copytree(small_bundle, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["study_dir"] = str(study.resolve())
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def test_release_records_the_bundle_once_and_releases_lists_it(bundle_copy: Path, study: Path, capsys) -> None:
    assert main(["release", str(bundle_copy), "--by", "A. Checker", "--note", "final report"]) == 0
    ledger = ledgers.read_ledger(study)
    assert len(ledger.entries) == 1
    entry = ledger.entries[0]
    run_id = json.loads((bundle_copy / "manifest.json").read_text())["run_id"]
    assert (entry.run_id, entry.approver, entry.note) == (run_id, "A. Checker", "final report")
    assert len(entry.cells) == sum(len(json.loads(p.read_text())["cells"]) for p in bundle_copy.glob("*/release.json"))
    text = ledgers.ledger_path(study).read_text()
    ids = pd.read_csv(study / "children.csv", dtype=str)["child_id"]
    assert not any(i in text for i in ids)  # aggregates only: no participant id
    before = ledgers.ledger_path(study).read_bytes()
    capsys.readouterr()
    assert main(["release", str(bundle_copy)]) == 0  # again: nothing new
    assert "already" in capsys.readouterr().out
    assert ledgers.ledger_path(study).read_bytes() == before
    assert main(["releases", str(study)]) == 0
    assert "A. Checker" in capsys.readouterr().out
    assert main(["validate", str(study)]) == 0  # the ledger is a legitimate file of the folder


def test_release_refuses_a_bundle_that_does_not_verify(bundle_copy: Path, study: Path, capsys) -> None:
    page = bundle_copy / "bexley" / "release.json"
    page.write_text(page.read_text().replace('"threshold": 10', '"threshold": 11'))
    assert main(["release", str(bundle_copy)]) == 1
    assert "does not verify" in capsys.readouterr().err
    assert not ledgers.ledger_path(study).exists()


def test_a_bundle_built_before_another_release_is_refused_and_its_audit_names_cells(
    bundle_copy: Path, study: Path, capsys
) -> None:
    """Another release was recorded after this bundle was built (one child withdrew in between):
    the bundle did not see it, so `release` refuses it, and `audit` names the cells whose change
    from that release it shows (never a value)."""
    releases = [json.loads(p.read_text()) for p in sorted(bundle_copy.glob("*/release.json"))]
    other = json.loads(json.dumps(releases))
    moved = []
    for r in other:
        for c in r["cells"]:
            place = (c["unit"], c["table"], c["population"], c["row"])
            if place == ("all", "baseline", "children", "gender: female") and c["measure"] == "n" and c["value"] != C:
                c["value"] += 1  # one girl fewer in this bundle than in the other release
                moved.append(f"all / baseline / children / gender: female / {c['column']}")
    assert moved
    values = {str(c["value"]) for r in other + releases for c in r["cells"] if c["row"] == "gender: female"}
    record(study, other, "R0-other")
    assert main(["audit", str(bundle_copy)]) == 1
    out = capsys.readouterr().out
    assert "LEDGER" in out and all(label in out for label in moved)
    lines = [line for line in out.splitlines() if "LEDGER" in line]
    assert lines and not any(f" {v} " in f" {line} " for line in lines for v in values if v not in ("None", C))
    assert main(["release", str(bundle_copy)]) == 1
    assert "R0-other" in capsys.readouterr().err
    assert [e.run_id for e in ledgers.read_ledger(study).entries] == ["R0-other"]


# --- a monitoring release, then the final report ----------------------------------------------------
FLOW_TWINS = {
    "enrolled": "enrolled",
    "included": "included",
    "excluded": "excluded (withdrawn, objected or restricted)",
}


def twin_sums(monitoring: list[dict], report: list[dict]) -> list[tuple[str, float | None, float | None]]:
    """The attacker's own reading of what a monitoring page and a report both count: recruitment per
    arm and in total (the flow's enrolled, included and excluded children), and the baseline
    completeness total and numerator (included children, those with a baseline measure)."""
    m, r = counts(monitoring), counts(report)

    def flow(unit: str, row: str, arms: tuple[str, ...]) -> float | None:
        values = [r.get((unit, "participant_flow", "children", row, arm)) for arm in arms]
        return None if None in values else sum(values)

    found = []
    for (unit, table, _pop, row, column), value in m.items():
        if table == "monitoring_recruitment" and row in FLOW_TWINS:
            arms = ("kitbag", "control") if column == "total" else (column,)
            found.append((f"{unit} {row} {column}", value, flow(unit, FLOW_TWINS[row], arms)))
        if table == "monitoring_criteria" and row == "baseline_completeness" and column in ("total", "with"):
            stage = "included" if column == "total" else "with a baseline measure"
            found.append((f"{unit} baseline completeness {column}", value, flow(unit, stage, ("kitbag", "control"))))
    return found


def test_a_released_monitoring_bundle_then_the_final_report_recovers_nothing(study: Path, tmp_path: Path) -> None:
    """Issue 21: an interim monitoring bundle (data cut half-way), released with `kitbag release`,
    then the final data with three withdrawals: the final release protects what changed since."""
    out = tmp_path / "monitoring"
    assert main(["monitor", str(study), "--out", str(out), "--as-of", "2021-03-31"]) == 0
    assert main(["release", str(out), "--by", "steering group"]) == 0
    monitoring = [json.loads(p.read_text()) for p in sorted(out.glob("*/release.json"))]
    withdraw(study, analysed_children(study, 3))
    final, pattern = counts_releases(study)
    assert pattern.history.against[0].kind == "monitoring"
    # the recruitment and completeness counts are the flow's, published exactly in both (§6.2):
    # their changes say only that children joined or left
    sums = twin_sums(monitoring, final)
    assert sums and all(then is not None and now is not None for _name, then, now in sums)
    attacker = propagation(final)
    intervals, determined = attacker.solve()
    need = attacker.required({k for k in attacker.known if exact_count(k[1], k[3], k[4])}, T)
    assert not determined and all(hi - lo >= need[k] - 1e-6 for k, (lo, hi) in intervals.items())


def test_a_60_child_study_publishes_its_pooled_flow_and_results(tmp_path: Path) -> None:
    """Within one release: a study of about 60 children is not refused as a whole; its pooled unit
    shows the flow by arm where it can and its results, and the refusal text never names a cell."""
    from kitbag_analysis.synthetic.generate import SynthSpec, write_study

    study = write_study(tmp_path / "study", SynthSpec(seed=3, children=60))
    releases, pattern = counts_releases(study)
    pooled = {k: v for k, v in counts(releases).items() if k[0] == "all"}
    flow = [k for k, v in pooled.items() if k[1:3] == ("participant_flow", "children") and v is not None]
    assert {k[4] for k in flow} == {"kitbag", "control"}, "the pooled flow is published by arm"
    results = [k for k, v in pooled.items() if k[1:3] == ("effectiveness", "children") and v is not None]
    assert results, "the pooled results for children are published"
    assert not propagation(releases).solve()[1]


def test_an_unchanged_category_does_not_place_a_leaver(study: Path) -> None:
    """Review finding: one child left Haringey's control arm (the flow, exact, says so) while 20
    boys left Bexley; an unchanged shown category of Haringey control (male 23, child in need 12)
    told the holder of both releases what the leaver was not. Every category summing to a count that moved by
    fewer than the threshold is now suppressed in the later release."""
    first, _ = counts_releases(study)
    record(study, first, "R1")
    loaded = load_study(study)
    teams = loaded["teams"].set_index("team_id")
    kids = loaded["children"].assign(la=lambda f: f["team_id"].map(teams["local_authority"]))
    kids = kids.assign(arm=kids["team_id"].map(teams["arm"]))
    leaver = kids.loc[(kids["la"] == "haringey") & (kids["arm"] == "control"), "child_id"].iloc[0]
    boys = kids.loc[(kids["la"] == "bexley") & (kids["gender"] == "male")]
    others = [*boys.loc[boys["arm"] == "kitbag", "child_id"][:10], *boys.loc[boys["arm"] == "control", "child_id"][:10]]
    withdraw(study, [leaver, *others])
    try:
        second, _ = counts_releases(study)
    except ReleaseRefused:
        pytest.skip("refused outright: nothing about the leaver is published")
    before, after = counts(first), counts(second)
    included = ("haringey", "participant_flow", "children", "included", "control")
    assert before[included] - after[included] == 1  # the flow is exact: one child left
    categories = [k for k in after if k[:3] == ("haringey", "baseline", "children") and ": " in k[3]]
    unchanged = [k for k in categories if k[4] == "control" and after[k] is not None and before.get(k) == after[k]]
    assert not [k for k in unchanged if after[k] > 0], unchanged
