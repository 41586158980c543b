"""The report builder: typed results to a disclosure-controlled release, on odd study folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from handmade import CHILD, hexid, write_folder

from kitbag_analysis.analysis.outcomes import OUTCOMES
from kitbag_analysis.pages import report as kb
from kitbag_analysis.sdc.cells import SUPPRESSED
from kitbag_analysis.sdc.output_checker import PAGE_TABLES

SECTIONS = tuple(n for names in PAGE_TABLES.values() for n in names if n != "excluded")  # every page table


def _every_section(r: kb.Report) -> str:
    return (
        kb.header_html(r)
        + kb.stamp_html(r)
        + kb.section_html(r, *SECTIONS)
        + kb.population_figures_html(r)
        + kb.forest_html(r)
        + kb.methods_html(r)
        + kb.contract_status_html(r)
    )


def test_header_only_study_reports_no_participants(tmp_path: Path) -> None:
    """study-data.md allows files with a header and no rows: every unit reports, nothing crashes."""
    study = write_folder(tmp_path / "empty")
    for unit in ("bexley", "all"):
        r = kb.build(study, unit)
        assert [o.status for o in r.analysis.outcomes] == ["not_estimable"] * len(OUTCOMES)
        assert all(o.reason.startswith("no ") for o in r.analysis.outcomes)
        page = _every_section(r)
        assert "not estimable" in page
        assert r.release.effects == []


def test_la_without_teams_is_not_estimable(tmp_path: Path) -> None:
    """An LA of study.toml with no teams in teams.csv gets a report of no participants."""
    teams = [
        {"team_id": f"HAR-T0{k}", "local_authority": "haringey", "arm": arm, "randomised_on": "2021-06-01"}
        for k, arm in enumerate(["kitbag", "kitbag", "control", "control"], start=1)
    ]
    children = [
        {
            "child_id": hexid("C", k),
            "team_id": f"HAR-T0{k % 4 + 1}",
            **CHILD,
        }
        for k in range(8)
    ]
    study = write_folder(tmp_path / "s", teams=teams, children=children)
    r = kb.build(study, "bexley")
    assert {o.status for o in r.analysis.outcomes} == {"not_estimable"}
    assert "Bexley" in kb.header_html(r)
    flow = r.release.tables["participant_flow"]
    assert {c.text for c in flow.cells() if c.measure == "teams"} == {"0"}
    r_all = kb.build(study, "all")
    shown = [c for c in r_all.release.tables["participant_flow"].cells() if c.measure == "n"]
    assert shown and all(not c.suppressed and c.text == f"{c.value:,.0f}" for c in shown)  # the flow is exact


def test_release_json_matches_the_page(small_study_master: Path, tmp_path: Path) -> None:
    """Every cell of release.json is on the page as shown, and no suppressed value leaks."""
    r = kb.build(small_study_master, "haringey")
    kb.write_outputs(r, tmp_path / "results.json")
    release = json.loads((tmp_path / "release.json").read_text())
    page = re.sub(r"<[^>]+>", "|", kb.section_html(r, *SECTIONS))
    texts = {c.key: c.text for c in r.release.cells()}
    assert len(release["cells"]) == len(r.release.cells()) >= len(texts) > 100
    for cell in release["cells"]:
        if cell["value"] == SUPPRESSED:
            continue
        assert isinstance(cell["value"], float | int)
    hidden = [c for c in r.release.cells() if c.suppressed]
    assert hidden, "the small study has small cells"
    assert all(c.text == SUPPRESSED for c in hidden)
    for c in r.release.cells():
        if c.measure == "n" and c.text:
            assert f"|{c.text}|" in page


def test_results_json_is_the_typed_results(small_study_master: Path, tmp_path: Path) -> None:
    r = kb.build(small_study_master, "all")
    kb.write_outputs(r, tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert [a["outcome"] for a in data["analyses"]] == [o.name for o in OUTCOMES]
    sdq = data["analyses"][0]
    typed = r.analysis.results["sdq_total"]
    assert sdq["estimate"] == typed.estimate and sdq["effect"]["value"] == typed.effect.value
    assert "publishable" not in json.dumps(data)
    frame = pd.DataFrame(data["analyses"])
    assert set(frame["status"]) <= {"ok", "not_estimable"}
