"""One lock per study folder whatever path names it (issue 30): erase and rectify through a
symbolic link, a relative path or a bind mount meet the lock the other name holds; held at every
point of one command (failpoints' pause, never a sleep), the other is refused naming the study as
typed, and once both have run the folder holds the two changes applied in turn."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import read_csv_text
from killing import Held

from kitbag_analysis import atomic
from kitbag_analysis.cli import main
from kitbag_analysis.rights import erase

INTERNAL = ("Traceback", "RuntimeError", ".rectify-check", ".erase-", "no started entry")


def _corrections(study: Path, path: Path) -> None:
    """A correction of children.csv and one of child_measures.csv, for a child erasure keeps."""
    gone = set().union(*erase.plan_erasure(study).ids.values())
    kids = read_csv_text(study / "children.csv")
    child = kids.loc[~kids["child_id"].isin(gone)].iloc[0]
    cm = read_csv_text(study / "child_measures.csv")
    measure = cm.loc[~cm["child_id"].isin(gone) & cm["sdq_01"].notna()].iloc[0]
    rows = [
        {"file": "children", "id": child["child_id"], "column": "gender", "wave": ""},
        {"file": "child_measures", "id": measure["child_id"], "column": "sdq_01", "wave": measure["wave"]},
    ]
    rows[0]["new_value"] = "other" if child["gender"] != "other" else "female"
    rows[1]["new_value"] = "2" if measure["sdq_01"] != "2" else "1"
    pd.DataFrame(rows).to_csv(path, index=False)


def _data(study: Path) -> dict[str, bytes]:
    """The data files (the logs carry times)."""
    return {p.name: p.read_bytes() for p in sorted(study.iterdir()) if p.suffix in (".csv", ".toml")}


@pytest.fixture(scope="module")
def both(small_study_master: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A study with an erasure due, a corrections file, and the folder after each order of the two."""
    root = tmp_path_factory.mktemp("one-lock")
    fixes = root / "fixes.csv"
    _corrections(small_study_master, fixes)
    assert erase.plan_erasure(small_study_master).total_rows > 0
    after = {}
    for order in (("erase", "rectify"), ("rectify", "erase")):
        study = root / "-".join(order)
        shutil.copytree(small_study_master, study)
        for command in order:
            assert main(_args(command, study, fixes)) == 0
        after[order] = _data(study)
    assert after[("erase", "rectify")] == after[("rectify", "erase")]  # the two changes commute here
    return {"master": small_study_master, "fixes": fixes, "after": after[("erase", "rectify")]}


def _args(command: str, study: Path, fixes: Path) -> list[str]:
    return ["erase", str(study), "--apply"] if command == "erase" else ["rectify", str(study), str(fixes), "--apply"]


def _logs_complete(study: Path, last: str | None = None) -> None:
    """Each log holds one completed entry; the files hold what the change run ``last`` logged
    (either's, when which ran last is not known)."""
    entries = {}
    for command, name in (("erase", "erasure_log.json"), ("rectify", "rectification_log.json")):
        log = json.loads((study / name).read_text())
        assert len(log) == 1 and log[0]["status"] == "completed", name
        entries[command] = log[0]["files"]
    for command in [last] if last else list(entries):
        for name, digests in entries[command].items():
            now = atomic.sha256(study / name)
            others = [e[name]["sha256_after"] for c, e in entries.items() if c != command and name in e]
            assert now == digests["sha256_after"] or (not last and now in others), (command, name)


def test_every_name_of_the_folder_meets_one_lock(study: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    link = tmp_path / "link"
    link.symlink_to(study)
    monkeypatch.chdir(tmp_path)
    names = [link, Path("study"), Path("link/../study"), tmp_path / "." / "study"]
    with atomic.exclusive(atomic.folder_lock_name("study", study)):  # a command holds the real path
        for name in names:
            assert main(["erase", str(name), "--apply"]) == 2, name
            err = capsys.readouterr().err
            assert "another kitbag command" in err and f"kitbag erase: {name}:" in err, err
    assert not (study / "erasure_log.json").exists()
    with atomic.exclusive(atomic.folder_lock_name("study", link)):  # and the other way round
        assert main(["erase", str(study), "--apply"]) == 2
    assert not (study / "erasure_log.json").exists()


def test_a_bind_mount_of_the_folder_meets_its_lock(study: Path, tmp_path: Path, capsys) -> None:
    mount = tmp_path / "mount"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "--bind", str(study), str(mount)], check=False).returncode:
        pytest.skip("a bind mount needs root")
    try:
        with atomic.exclusive(atomic.folder_lock_name("study", study)):
            assert main(["erase", str(mount), "--apply"]) == 2
        assert f"kitbag erase: {mount}:" in capsys.readouterr().err
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_an_output_folder_meets_one_lock_through_a_linked_parent(study: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "reports")
    with atomic.exclusive(atomic.entry_lock_name("output", tmp_path / "reports" / "out")):  # a run into it
        assert main(["batch", str(study), "--out", str(tmp_path / "linked" / "out")]) == 2
    assert "another kitbag run is writing to this folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == []
    assert atomic.entry_lock_name("output", tmp_path / "linked" / "out") == atomic.entry_lock_name(
        "output", tmp_path / "reports" / "out"
    )
    assert atomic.entry_lock_name("output", tmp_path / "reports" / "a") != atomic.entry_lock_name(
        "output", tmp_path / "reports" / "b"
    )


# each command held at every point where it holds the lock, the other run through the other name
HELD = {
    "erase": ["journal:written:1", "erase:started", "erase:renamed:1", "erase:validated", "journal:written:2"],
    "rectify": ["rectify:checked", "journal:written:1", "rectify:started", "rectify:renamed:1", "journal:written:2"],
}
CASES = [(first, point) for first in HELD for point in HELD[first]]


@pytest.mark.parametrize(("first", "point"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_erase_and_rectify_through_two_names(both: dict, tmp_path: Path, capsys, first: str, point: str) -> None:
    study, link = tmp_path / "study", tmp_path / "link"
    shutil.copytree(both["master"], study)
    link.symlink_to(study)
    # erase goes through the link, rectify through the real path
    name = {"erase": link, "rectify": study}
    second = "rectify" if first == "erase" else "erase"
    held = Held(point, _args(first, name[first], both["fixes"]), tmp_path / "held")
    try:
        assert main(_args(second, name[second], both["fixes"])) == 2  # refused: the lock is held
    finally:
        code, err = held.resume()
    assert code == 0, err
    refused = capsys.readouterr().err
    assert f"kitbag {second}: {name[second]}: another kitbag command" in refused, refused
    assert not any(word in err + refused for word in INTERNAL), err + refused
    assert main(_args(second, name[second], both["fixes"])) == 0
    assert _data(study) == both["after"]
    _logs_complete(study, last=second)
    assert not list(study.glob(".*"))


def test_refused_command_names_the_study_as_typed(both: dict, tmp_path: Path, capsys) -> None:
    study, link = tmp_path / "study", tmp_path / "link"
    shutil.copytree(both["master"], study)
    link.symlink_to(study)
    held = Held("rectify:started", _args("rectify", study, both["fixes"]), tmp_path / "held")
    try:
        assert main(_args("erase", link, both["fixes"])) == 2
    finally:
        assert held.resume()[0] == 0
    err = capsys.readouterr().err
    assert f"kitbag erase: {link}: another kitbag command" in err
    assert not any(word in err for word in INTERNAL), err


@pytest.mark.parametrize("offset", [0.0, 0.4, 1.5])
def test_erase_and_rectify_at_once_through_two_names(both: dict, tmp_path: Path, offset: float) -> None:
    """Unsynchronised, as an unlucky user runs them: rectify starts ``offset`` s after erase.
    Each ends complete or refused with exit 2; once both have completed the folder holds both."""
    study, link = tmp_path / "study", tmp_path / "link"
    shutil.copytree(both["master"], study)
    link.symlink_to(study)
    runs = []
    for command, name, wait in (("erase", link, 0.0), ("rectify", study, offset)):
        err = tmp_path / f"{command}.err"
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 3
            try:
                time.sleep(wait)
                with open(err, "w", encoding="utf-8") as handle:
                    os.dup2(handle.fileno(), 2)
                    sys.stderr = os.fdopen(2, "w", encoding="utf-8", closefd=False)
                    code = main(_args(command, name, both["fixes"]))
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os._exit(code)
        runs.append((command, name, pid, err))
    codes = {}
    for command, _name, pid, err in runs:
        _, status = os.waitpid(pid, 0)
        codes[command] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        text = err.read_text() if err.exists() else ""
        assert codes[command] in (0, 2), (command, text)
        assert not any(word in text for word in INTERNAL), text
    assert 0 in codes.values(), codes
    for command, name, _pid, _err in runs:  # the refused one, run again, completes
        if codes[command] == 2:
            assert main(_args(command, name, both["fixes"])) == 0
    assert _data(study) == both["after"]
    _logs_complete(study)
    assert not list(study.glob(".*"))
