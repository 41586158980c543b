"""The privacy notice's promises as commands: erase, export-subject, retention, archive."""

from __future__ import annotations

import json
import re
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest
from conftest import read_csv_text, rewrite, snapshot

from data_contracts import validate_study
from data_contracts.schemas import ARCHIVE_CONTRACTS
from kitbag_analysis.cli import main
from kitbag_analysis.rights import archive, erase, retention

ANY_ID = re.compile(r"[CPF][0-9a-f]{16}")
PARTICIPANT_FILES = {
    "children": "child_id",
    "child_measures": "child_id",
    "placements": "child_id",
    "missing_episodes": "child_id",
    "referrals": "child_id",
    "practitioners": "practitioner_id",
    "practitioner_measures": "practitioner_id",
    "absence": "practitioner_id",
    "carers": "carer_id",
    "carer_measures": "carer_id",
}


def _withdrawn(study: Path, before: bool) -> set[str]:
    consent = read_csv_text(study / "consent.csv")
    latest = consent.sort_values("status_changed_on").drop_duplicates("participant_id", keep="last")
    w = latest[latest["status"] == "withdrawn"]
    early = w["status_changed_on"] < "2022-03-01"
    return set(w.loc[early if before else ~early, "participant_id"])


def _held(study: Path) -> set[str]:
    return {i for f, col in PARTICIPANT_FILES.items() for i in read_csv_text(study / f"{f}.csv")[col]}


def test_erase_plan_changes_nothing(study: Path, capsys) -> None:
    before = snapshot(study)
    assert main(["erase", str(study)]) == 0
    assert snapshot(study) == before
    assert "nothing was changed" in capsys.readouterr().out


def test_erase_apply(study: Path, capsys) -> None:
    early, late = _withdrawn(study, True), _withdrawn(study, False)
    kept_before = late & _held(study)
    frames_before = {f: read_csv_text(study / f"{f}.csv") for f in PARTICIPANT_FILES}
    assert early & _held(study) and kept_before
    assert main(["erase", str(study), "--apply"]) == 0
    held = _held(study)
    assert not early & held  # every row gone from every file
    assert late & held == kept_before  # after the analysis phase began: every one kept
    for f, col in PARTICIPANT_FILES.items():  # and nothing else went: exactly the early withdrawals' rows
        before = frames_before[f]
        after = read_csv_text(study / f"{f}.csv")
        assert len(after) == len(before) - before[col].isin(early).sum(), f
    assert early <= set(read_csv_text(study / "consent.csv")["participant_id"])  # register kept
    assert validate_study(study).report.ok
    log = (study / erase.ERASURE_LOG).read_text()
    assert not ANY_ID.search(log)
    entry = json.loads(log)[-1]
    assert entry["rows_removed"] and all(
        f["sha256_before"] != f["sha256_after"] for name, f in entry["files"].items() if name in entry["rows_removed"]
    )
    once = snapshot(study)
    assert main(["erase", str(study), "--apply"]) == 0
    assert snapshot(study) == once  # a second run is a no-op (no file, no log entry)
    out = capsys.readouterr().out
    assert "Nothing to erase" in out and not ANY_ID.search(out)


@pytest.mark.parametrize("crash_after", [1, 3, 6])
def test_crash_between_files_leaves_every_file_valid(
    study: Path, tmp_path: Path, monkeypatch, capsys, crash_after
) -> None:
    finished = tmp_path / "finished"
    shutil.copytree(study, finished)
    assert main(["erase", str(finished), "--apply"]) == 0
    old, new = snapshot(study), snapshot(finished)
    calls = {"n": 0}
    real = erase._replace

    def crashing(src, dst):
        if calls["n"] == crash_after:
            raise OSError("simulated power cut")
        calls["n"] += 1
        return real(src, dst)

    monkeypatch.setattr(erase, "_replace", crashing)
    assert main(["erase", str(study), "--apply"]) == 2
    assert "run `kitbag erase" in capsys.readouterr().err
    now = snapshot(study)
    assert set(now) == set(old) | {erase.ERASURE_LOG}  # no temporary file left; the intent is logged
    assert json.loads(now.pop(erase.ERASURE_LOG))[-1]["status"] == "started"
    for name, data in now.items():
        assert data in (old[name], new.get(name)), name  # each file old or new, never torn
    assert sum(now[n] != old[n] for n in now) == crash_after
    assert validate_study(study, finishing="erase").report.ok  # consistent, but half-applied:
    assert not validate_study(study).report.ok  # every reader refuses it until the re-run finishes
    monkeypatch.setattr(erase, "_replace", real)
    assert main(["erase", str(study), "--apply"]) == 0  # the re-run finishes and completes the entry
    done = snapshot(study)
    log = json.loads(done.pop(erase.ERASURE_LOG))
    assert len(log) == 1 and log[0]["status"] == "completed"
    assert log[0]["rows_removed"] == json.loads(new[erase.ERASURE_LOG])[-1]["rows_removed"]
    assert done == {k: v for k, v in new.items() if k != erase.ERASURE_LOG}


def test_export_subject(study: Path, tmp_path: Path, capsys) -> None:
    child = read_csv_text(study / "placements.csv")["child_id"].iloc[0]
    assert main(["export-subject", str(study), child]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["participant_id"] == child
    assert {"children.csv", "placements.csv"} <= set(record["files"])
    expected = (read_csv_text(study / "placements.csv")["child_id"] == child).sum()
    assert len(record["files"]["placements.csv"]) == expected
    target = tmp_path / "subject.json"
    assert main(["export-subject", str(study), child, "--out", str(target)]) == 0
    assert json.loads(target.read_text())["files"] == record["files"]


def test_export_subject_unknown_and_malformed_ids(study: Path, capsys) -> None:
    assert main(["export-subject", str(study), "C" + "0" * 16]) == 1
    assert "no row" in capsys.readouterr().err
    assert main(["export-subject", str(study), "jo@example.org"]) == 2
    assert "jo@example.org" not in capsys.readouterr().err


def _break(study: Path) -> None:
    rewrite(study, "children", lambda f: f.assign(gender="F"))


def test_commands_refuse_a_failing_folder_and_write_nothing(study: Path, tmp_path: Path) -> None:
    _break(study)
    before = snapshot(study)
    child = read_csv_text(study / "children.csv")["child_id"].iloc[0]
    assert main(["export-subject", str(study), child, "--out", str(tmp_path / "x.json")]) == 1
    assert main(["retention", str(study)]) == 1
    assert main(["archive", str(study), "--out", str(tmp_path / "arch")]) == 1
    assert main(["erase", str(study), "--apply"]) == 1
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "arch").exists()
    assert not list(tmp_path.glob(".arch*"))
    assert snapshot(study) == before


def test_retention(study: Path, capsys) -> None:
    assert main(["retention", str(study), "--today", "2023-02-28"]) == 0
    assert "2023-02-28" in capsys.readouterr().out
    assert main(["retention", str(study), "--today", "2023-03-01"]) == 1
    out = capsys.readouterr().out
    assert "PAST RETENTION" in out and "children.csv" in out and "consent.csv" in out
    assert str(retention.retention_due(pd.Timestamp("2024-02-29").date())) == "2025-02-28"


def test_archive(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    assert main(["archive", str(study), "--out", str(out)]) == 0
    assert validate_study(out, ARCHIVE_CONTRACTS).report.ok
    kids = read_csv_text(out / "children.csv")
    assert kids["birth_year_month"].str.fullmatch(r"\d{4}").all()
    consent = read_csv_text(study / "consent.csv")
    latest = consent.sort_values("status_changed_on").drop_duplicates("participant_id", keep="last")
    gone = set(latest.loc[latest["status"] != "active", "participant_id"])
    assert not gone & _held(out)
    assert not gone & set(read_csv_text(out / "consent.csv")["participant_id"])
    manifest = json.loads((out / archive.ARCHIVE_MANIFEST).read_text())
    from kitbag_analysis.atomic import sha256

    for item in manifest["files"]:
        assert sha256(out / item["path"]) == item["sha256"]
    assert not ANY_ID.search(json.dumps(manifest))
    assert main(["archive", str(study), "--out", str(out)]) == 2  # never overwrites an archive
    assert main(["validate", str(out)]) == 0  # `kitbag validate` knows an archive by its manifest


def test_killed_archive_leaves_no_row_level_copy_after_the_rerun(study: Path, tmp_path: Path) -> None:
    """A kill after the archive's staged copy is written: the copy (rows) is inside the study
    folder, never beside the output, until the next command that takes the folder's lock (here
    `kitbag archive`), which removes it before anything else."""
    from killing import killed_at

    from kitbag_analysis.failpoints import POINTS

    out = tmp_path / "archive"
    staged_point, _ = POINTS["archive"]
    assert killed_at(staged_point, ["archive", str(study), "--out", str(out)]) == signal.SIGKILL
    assert not out.exists() and list(study.glob(".archive.staging-*"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing with rows outside the study
    assert main(["archive", str(study), "--out", str(out)]) == 0
    assert not list(study.glob(".archive.staging-*"))
    assert validate_study(out, ARCHIVE_CONTRACTS).report.ok
