"""kitbag retention: every category of the privacy notice with its clock; study.toml's [retention]."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from data_contracts.settings import Retention, read_settings, settings_toml
from kitbag_analysis.cli import main
from kitbag_analysis.rights import retention as rt
from kitbag_analysis.synthetic.generate import SETTINGS
from kitbag_analysis.synthetic.survey_exports import hold_back
from tests.conftest import snapshot

CATEGORIES = ("transcripts", "prize-draw", "primary data", "archive")


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def test_demo_study_lists_all_four_clocks(study: Path, capsys) -> None:
    assert read_settings(study).retention == SETTINGS.retention  # the demo study carries the optional dates
    assert main(["retention", str(study), "--on", "2021-12-01"]) == 0
    out = capsys.readouterr().out
    flat = _flat(out)
    for category in CATEGORIES:
        assert category in out
    for due in ("2021-12-07", "2021-12-31", "2023-02-28"):  # delivered + 7 days, draw closes, final + 12 months
        assert due in flat
    assert "indefinite" in flat
    for log in ("erasure_log.json", "rectification_log.json", "release_ledger.json", "prize_draw_log.json"):
        assert log in flat
    assert "kept: they hold aggregates only" in flat


def test_what_is_due_and_when(study: Path) -> None:
    r = rt.retention(study, dt.date(2021, 12, 8))
    status = {c.category.split(" ")[0]: c.status for c in r.clocks}
    assert status == {"interview": "due", "prize-draw": "kept", "primary": "kept", "pseudonymised": "indefinite"}
    assert not r.findings  # the vendor's deletion is not visible from here: reported, not an exit 1
    r = rt.retention(study, dt.date(2022, 1, 1))
    assert r.clocks[1].status == "due" and not r.clocks[1].finding
    r = rt.retention(study, dt.date(2023, 3, 1))
    assert r.primary.status == "due" and r.findings == (r.primary,)


def test_prize_draw_folder_is_checked(study: Path, tmp_path: Path, capsys) -> None:
    draw = tmp_path / "draw"
    export = hold_back(study, tmp_path / "exports", "carers", "followup")
    argv = ["intake-survey", str(export), "--population", "carers", "--wave", "followup", "--study", str(study)]
    assert main([*argv, "--prize-draw", str(draw)]) == 0
    assert main(["retention", str(study), "--on", "2022-01-05", "--prize-draw", str(draw)]) == 1  # list still held
    assert "still held" in _flat(capsys.readouterr().out)
    assert main(["retention", str(study), "--on", "2021-12-30", "--prize-draw", str(draw)]) == 0  # before closing
    assert main(["prize-draw", str(draw), "--winners", "1", "--seed", "5"]) == 0
    capsys.readouterr()
    assert main(["retention", str(study), "--on", "2022-01-05", "--prize-draw", str(draw)]) == 0
    assert "drawn and deleted" in _flat(capsys.readouterr().out)


def test_without_the_optional_dates(study: Path, capsys) -> None:
    toml = study / "study.toml"
    toml.write_text(toml.read_text().split("[retention]")[0], encoding="utf-8")
    assert main(["retention", str(study), "--today", "2022-06-01"]) == 0
    flat = _flat(capsys.readouterr().out)
    assert "not set" in flat  # (the table wraps long words; the clocks are checked through the API)
    statuses = [c.status for c in rt.retention(study, dt.date(2022, 6, 1)).clocks]
    assert statuses == ["not set", "not set", "kept", "indefinite"]


BAD_TABLES = {
    "a quoted date": ('prize_draw_closes = "2021-12-31"', "`prize_draw_closes` must be a date"),
    "a date and time": ("transcripts_delivered = 2021-11-30T10:00:00", "`transcripts_delivered` must be a date"),
    "a number": ("prize_draw_closes = 20211231", "`prize_draw_closes` must be a date"),
    "an unknown key": ("transcripts_deleted = 2021-12-07", "[retention] entry 1 is not one of its keys"),
}


@pytest.mark.parametrize("case", list(BAD_TABLES))
def test_bad_retention_table_refused(study: Path, case: str, capsys) -> None:
    line, said = BAD_TABLES[case]
    toml = study / "study.toml"
    toml.write_text(toml.read_text().split("[retention]")[0] + f"[retention]\n{line}\n", encoding="utf-8")
    before = snapshot(study)
    assert main(["validate", str(study)]) == 2
    assert said in capsys.readouterr().err
    assert main(["retention", str(study)]) == 2
    assert snapshot(study) == before


def test_retention_not_a_table(study: Path, capsys) -> None:
    toml = study / "study.toml"
    toml.write_text('retention = "soon"\n' + toml.read_text().split("[retention]")[0], encoding="utf-8")
    assert main(["validate", str(study)]) == 2
    assert "must be a table" in capsys.readouterr().err


def test_settings_round_trip(tmp_path: Path) -> None:
    (tmp_path / "study.toml").write_text(settings_toml(SETTINGS), encoding="utf-8")
    assert read_settings(tmp_path) == SETTINGS
    bare = SETTINGS.__class__(**{**vars(SETTINGS), "retention": Retention()})
    (tmp_path / "study.toml").write_text(settings_toml(bare), encoding="utf-8")
    assert "[retention]" not in (tmp_path / "study.toml").read_text() and read_settings(tmp_path) == bare
