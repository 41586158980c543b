"""kitbag prize-draw: reproducible winners, printed once; the list and its copies gone; a log of counts."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from data_contracts.guards import SEARCHERS
from kitbag_analysis import atomic
from kitbag_analysis.cli import main
from kitbag_analysis.intake import survey
from kitbag_analysis.rights import prize_draw as pd_mod
from kitbag_analysis.synthetic.survey_exports import hold_back
from tests.conftest import read_csv_text

EMAIL = SEARCHERS["email address"]


@pytest.fixture
def draw_dir(study: Path, tmp_path: Path) -> Path:
    """A prize-draw folder filled by two intakes of the small study (practitioners and carers)."""
    draw = tmp_path / "draw"
    for population in ("practitioners", "carers"):
        export = hold_back(study, tmp_path / "exports", population, "followup", seed=len(population))
        argv = ["intake-survey", str(export), "--population", population, "--wave", "followup", "--study", str(study)]
        assert main([*argv, "--prize-draw", str(draw)]) == 0
    return draw


def _winners(out: str) -> list[str]:
    return re.findall(r"^\s+\d+\. (\S+@\S+)$", out, flags=re.MULTILINE)


def _no_email_on_disk(folder: Path) -> bool:
    return not any(EMAIL.search(p.read_bytes().decode("latin-1")) for p in folder.rglob("*") if p.is_file())


def test_same_seed_same_winners_then_no_email_left(draw_dir: Path, tmp_path: Path, capsys) -> None:
    entrants = list(read_csv_text(draw_dir / survey.ENTRANTS_FILE)["email"])
    twin = tmp_path / "twin"
    shutil.copytree(draw_dir, twin)
    other = tmp_path / "other"
    shutil.copytree(draw_dir, other)
    capsys.readouterr()
    assert main(["prize-draw", str(draw_dir), "--winners", "5", "--seed", "2021"]) == 0
    first = _winners(capsys.readouterr().out)
    assert main(["prize-draw", str(twin), "--winners", "5", "--seed", "2021"]) == 0
    assert _winners(capsys.readouterr().out) == first
    assert main(["prize-draw", str(other), "--winners", "5", "--seed", "7"]) == 0
    assert _winners(capsys.readouterr().out) != first
    assert len(set(first)) == 5 and set(first) <= set(entrants)
    # the same draw from the function, whatever order the entrants come in
    assert pd_mod.draw(entrants[::-1], 5, 2021) == first
    for folder in (draw_dir, twin, other):
        assert _no_email_on_disk(folder)
        assert sorted(p.name for p in folder.iterdir()) == sorted([survey.MARKER_FILE, survey.DRAW_LOG])
    log = json.loads((draw_dir / survey.DRAW_LOG).read_text())[-1]
    assert log["seed"] == 2021 and log["entrants"] == len(entrants) and log["winners"] == 5
    assert log["status"] == "completed" and log["drawn_on"] == dt.date.today().isoformat()
    assert not EMAIL.search((draw_dir / survey.DRAW_LOG).read_text())


def test_a_second_draw_and_later_entrants_are_refused(draw_dir: Path, study: Path, tmp_path: Path, capsys) -> None:
    assert main(["prize-draw", str(draw_dir), "--winners", "1", "--seed", "1"]) == 0
    capsys.readouterr()
    assert main(["prize-draw", str(draw_dir), "--winners", "1", "--seed", "1"]) == 1
    assert "was made on" in capsys.readouterr().err
    late = hold_back(study, tmp_path / "late", "practitioners", "baseline", n=30)
    argv = ["intake-survey", str(late), "--population", "practitioners", "--wave", "baseline", "--study", str(study)]
    assert main([*argv, "--prize-draw", str(draw_dir)]) == 2
    assert "takes no more entrants" in capsys.readouterr().err
    assert not (draw_dir / survey.ENTRANTS_FILE).exists()


def test_copies_and_temporary_files_deleted_too(draw_dir: Path) -> None:
    shutil.copy(draw_dir / survey.ENTRANTS_FILE, draw_dir / "entrants (copy).csv")
    shutil.copy(draw_dir / survey.ENTRANTS_FILE, atomic.sibling(draw_dir / survey.ENTRANTS_FILE, "tmp"))
    assert main(["prize-draw", str(draw_dir), "--winners", "2", "--seed", "3"]) == 0
    assert json.loads((draw_dir / survey.DRAW_LOG).read_text())[-1]["files_deleted"] == 3
    assert _no_email_on_disk(draw_dir)


def test_another_file_holding_an_email_is_named(draw_dir: Path, capsys) -> None:
    (draw_dir / "notes.txt").write_text("ask jo.bloggs@example.org about vouchers\n")
    assert main(["prize-draw", str(draw_dir), "--winners", "2", "--seed", "3"]) == 1
    err = capsys.readouterr().err
    assert "notes.txt" in err and "jo.bloggs" not in err
    assert not (draw_dir / survey.ENTRANTS_FILE).exists()


def test_overwrite_then_unlink(tmp_path: Path, monkeypatch) -> None:
    """The bytes are zeroed in the file itself before its name goes."""
    path = tmp_path / "entrants.csv"
    path.write_bytes(b"email\nzeb@example.org\n")
    link = tmp_path / "seen"
    link.hardlink_to(path)  # a second name: the inode outlives the unlink, so its bytes can be read
    atomic.overwrite_and_unlink(path)
    assert not path.exists() and link.read_bytes() == b"\0" * len(b"email\nzeb@example.org\n")


def test_refused_on_or_before_the_closing_day(draw_dir: Path, capsys) -> None:
    before = {p.name: p.read_bytes() for p in draw_dir.iterdir()}
    closes = dt.date(2021, 12, 31)
    for today in (closes - dt.timedelta(days=30), closes):
        with pytest.raises(pd_mod.Finding, match="closes on 2021-12-31"):
            pd_mod.prize_draw(draw_dir, 1, 1, announce=lambda w: None, today=today)
    assert {p.name: p.read_bytes() for p in draw_dir.iterdir()} == before
    announced: list[list[str]] = []
    pd_mod.prize_draw(draw_dir, 1, 1, announce=announced.append, today=closes + dt.timedelta(days=1))
    assert len(announced) == 1 and len(announced[0]) == 1


def test_cli_refuses_before_close(study: Path, tmp_path: Path, capsys) -> None:
    toml = study / "study.toml"
    toml.write_text(toml.read_text().replace("prize_draw_closes = 2021-12-31", "prize_draw_closes = 2099-12-31"))
    export = hold_back(study, tmp_path / "exports", "carers", "followup")
    draw = tmp_path / "draw"
    argv = ["intake-survey", str(export), "--population", "carers", "--wave", "followup", "--study", str(study)]
    assert main([*argv, "--prize-draw", str(draw)]) == 0
    before = {p.name: p.read_bytes() for p in draw.iterdir()}
    capsys.readouterr()
    assert main(["prize-draw", str(draw), "--winners", "1", "--seed", "1"]) == 1
    captured = capsys.readouterr()
    assert "2099-12-31" in captured.err and "@" not in captured.out + captured.err
    assert {p.name: p.read_bytes() for p in draw.iterdir()} == before


def test_interrupted_draw_finishes_with_its_seed(draw_dir: Path, monkeypatch) -> None:
    def crash(path: Path) -> None:
        raise OSError("disk gone")

    announced: list[list[str]] = []
    monkeypatch.setattr(pd_mod.atomic, "overwrite_and_unlink", crash)
    with pytest.raises(OSError):
        pd_mod.prize_draw(draw_dir, 3, 11, announce=announced.append)
    assert json.loads((draw_dir / survey.DRAW_LOG).read_text())[-1]["status"] == "started"
    monkeypatch.undo()
    with pytest.raises(pd_mod.UnusableInput, match="another seed"):
        pd_mod.prize_draw(draw_dir, 3, 12, announce=announced.append)
    pd_mod.prize_draw(draw_dir, 3, 11, announce=announced.append)
    assert len(announced) == 2 and announced[0] == announced[1]
    assert _no_email_on_disk(draw_dir)


def test_too_many_winners_and_not_a_draw_folder(draw_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["prize-draw", str(draw_dir), "--winners", "100000", "--seed", "1"]) == 2
    assert "--winners must be between 1 and" in capsys.readouterr().err
    assert (draw_dir / survey.ENTRANTS_FILE).exists() and not (draw_dir / survey.DRAW_LOG).exists()
    assert main(["prize-draw", str(tmp_path / "nowhere"), "--winners", "1", "--seed", "1"]) == 2
    with pytest.raises(SystemExit):
        main(["prize-draw", str(draw_dir), "--winners", "0", "--seed", "1"])
