"""The right to rectification through the CLI: plan, apply, refusal, kill, unknown id."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import read_csv_text, snapshot
from killing import killed_at

from data_contracts import validate_study
from kitbag_analysis import atomic
from kitbag_analysis.cli import main
from kitbag_analysis.failpoints import POINTS
from kitbag_analysis.rights import rectify

ID = __import__("re").compile(r"[CPF][0-9a-f]{16}")


def corrections(study: Path, path: Path, gender: str = "other") -> tuple[str, str]:
    kids = read_csv_text(study / "children.csv")
    cm = read_csv_text(study / "child_measures.csv")
    child, measure = kids["child_id"].iloc[0], cm.iloc[0]
    pd.DataFrame(
        [
            {"file": "children", "id": child, "column": "gender", "new_value": gender, "wave": ""},
            {
                "file": "child_measures",
                "id": measure["child_id"],
                "column": "sdq_01",
                "new_value": "2",
                "wave": measure["wave"],
            },
        ]
    ).to_csv(path, index=False)
    return child, measure["child_id"]


def test_plan_changes_nothing_and_apply_corrects_and_logs(study: Path, tmp_path: Path, capsys) -> None:
    child, _ = corrections(study, tmp_path / "c.csv")
    before = snapshot(study)
    assert main(["rectify", str(study), str(tmp_path / "c.csv")]) == 0
    assert snapshot(study) == before and "nothing was changed" in capsys.readouterr().out
    assert main(["rectify", str(study), str(tmp_path / "c.csv"), "--apply"]) == 0
    kids = read_csv_text(study / "children.csv")
    assert kids.loc[kids["child_id"] == child, "gender"].item() == "other"
    assert validate_study(study).report.ok
    log = (study / rectify.RECTIFICATION_LOG).read_text()
    assert not ID.search(log) and "other" not in log  # counts and hashes, never ids or values
    entry = json.loads(log)[-1]
    assert entry["status"] == "completed" and entry["changes"] == {
        "children.csv": {"gender": 1},
        "child_measures.csv": {"sdq_01": 1},
    }
    changed = {name for name, data in snapshot(study).items() if before.get(name) != data}
    assert changed == {"children.csv", "child_measures.csv", rectify.RECTIFICATION_LOG}


def test_a_correction_that_breaks_a_contract_writes_nothing(study: Path, tmp_path: Path, capsys) -> None:
    corrections(study, tmp_path / "c.csv", gender="robot")
    before = snapshot(study)
    assert main(["rectify", str(study), str(tmp_path / "c.csv"), "--apply"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "would break the study's contracts" in err
    # the refused correction by its line and the rule it breaks, in words; never its value
    assert "line 2 (children.csv, gender: one of female, male, other, not_recorded)" in err
    assert "line 3" not in err and "robot" not in err
    assert snapshot(study) == before
    assert not list(study.parent.glob(f".{study.name}.rectify-check-*"))


def test_unknown_id_is_a_finding_naming_the_line_not_the_id(study: Path, tmp_path: Path, capsys) -> None:
    unknown = "C" + "0" * 16
    pd.DataFrame([{"file": "children", "id": unknown, "column": "gender", "new_value": "male"}]).to_csv(
        tmp_path / "c.csv", index=False
    )
    assert main(["rectify", str(study), str(tmp_path / "c.csv")]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and unknown not in err


def test_ids_and_keys_are_not_rectified(study: Path, tmp_path: Path, capsys) -> None:
    child = read_csv_text(study / "children.csv")["child_id"].iloc[0]
    pd.DataFrame([{"file": "children", "id": child, "column": "child_id", "new_value": "C" + "1" * 16}]).to_csv(
        tmp_path / "c.csv", index=False
    )
    assert main(["rectify", str(study), str(tmp_path / "c.csv")]) == 2


def test_interrupted_apply_is_finished_by_the_rerun(study: Path, tmp_path: Path, monkeypatch) -> None:
    corrections(study, tmp_path / "c.csv")
    real = atomic.replace
    calls = []

    def crash_after_one(source: Path, target: Path) -> None:
        if calls:
            raise OSError(5, "Input/output error")
        calls.append(target)
        real(source, target)

    monkeypatch.setattr(atomic, "replace", crash_after_one)
    with pytest.raises(OSError):
        rectify.apply_rectification(study, rectify.plan_rectification(study, tmp_path / "c.csv"))
    assert json.loads((study / rectify.RECTIFICATION_LOG).read_text())[-1]["status"] == "started"
    monkeypatch.setattr(atomic, "replace", real)
    assert main(["rectify", str(study), str(tmp_path / "c.csv"), "--apply"]) == 0
    log = json.loads((study / rectify.RECTIFICATION_LOG).read_text())
    assert len(log) == 1 and log[0]["status"] == "completed"
    assert validate_study(study).report.ok and not list(study.glob(".*.rectify-*"))


def _finished(target: Path, corrections_file: Path, where: str) -> None:
    assert main(["rectify", str(target), str(corrections_file), "--apply"]) == 0, where
    assert validate_study(target).report.ok and not list(target.glob(".*.rectify-*")), where
    assert not list(target.parent.glob(f".{target.name}.rectify-check-*")), where  # no hard links left beside it
    assert not list(target.glob(".rectify-check.*")), where  # nor inside it
    log = json.loads((target / rectify.RECTIFICATION_LOG).read_text())
    assert log[-1]["status"] == "completed" and all(e["status"] == "completed" for e in log), where


def test_killed_at_every_point_rectify_is_finished_by_the_rerun(study: Path, tmp_path: Path) -> None:
    corrections(study, tmp_path / "c.csv")
    checked, started, renamed = POINTS["rectify"]
    edited = len(rectify.plan_rectification(study, tmp_path / "c.csv").edits)
    points = [checked, started, *(f"{renamed}:{k}" for k in range(1, edited + 1))]
    for k, point in enumerate(points):
        target = tmp_path / f"s{k}"
        shutil.copytree(study, target)
        assert killed_at(point, ["rectify", str(target), str(tmp_path / "c.csv"), "--apply"]) == signal.SIGKILL
        _finished(target, tmp_path / "c.csv", point)


def test_a_real_sigkill_during_apply(study: Path, tmp_path: Path) -> None:
    corrections(study, tmp_path / "c.csv")
    run = subprocess.Popen(
        [sys.executable, "-m", "kitbag_analysis.cli", "rectify", str(study), str(tmp_path / "c.csv"), "--apply"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(study.glob(".rectify-check.*")) and run.poll() is None:  # during the check (inside the study)
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert run.poll() is None, "the run ended before it could be killed"
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    _finished(study, tmp_path / "c.csv", "sigkill")
