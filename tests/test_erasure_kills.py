"""Erasure killed at every point where it can stop (deterministic failpoints: the process kills
itself there with SIGKILL), and once by a real SIGKILL from outside, on CSV and Parquet studies:
after a re-run the data are consistent, the log is complete and no staging file is left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from killing import killed_at

from data_contracts import validate_study
from data_contracts.participants import PARTICIPANTS
from kitbag_analysis.cli import main
from kitbag_analysis.failpoints import ENV, POINTS
from kitbag_analysis.rights import erase
from kitbag_analysis.synthetic.generate import SynthSpec, write_study

KITBAG = [sys.executable, "-m", "kitbag_analysis.cli"]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)


def _erase(study: Path, failpoint: str = "") -> subprocess.CompletedProcess:
    env = os.environ | ({ENV: failpoint} if failpoint else {})
    return subprocess.run(
        [*KITBAG, "erase", str(study), "--apply"], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module", params=["csv", "parquet"])
def reference(request, tmp_path_factory) -> tuple[Path, dict, set[str], int]:
    """A study, the log entry of an uninterrupted erasure of it, the erased ids, its renames."""
    root = tmp_path_factory.mktemp(f"erase-{request.param}")
    master = write_study(root / "master", SynthSpec(seed=11, children=200), fmt=request.param)
    plan = erase.plan_erasure(master)
    ids = set().union(*plan.ids.values())
    clean = root / "clean"
    shutil.copytree(master, clean)
    assert main(["erase", str(clean), "--apply"]) == 0
    entry = json.loads((clean / erase.ERASURE_LOG).read_text())[-1]
    return master, entry, ids, sum(1 for n in plan.rows.values() if n)


def _points(renames: int) -> list[str]:
    started, renamed, validated = POINTS["erase"]
    return [started, *(f"{renamed}:{k}" for k in range(1, renames + 1)), validated]


def _finished_like_the_reference(study: Path, expected: dict, ids: set[str], where: str) -> None:
    assert main(["erase", str(study), "--apply"]) == 0, where
    assert validate_study(study).report.ok, where
    for p in PARTICIPANTS:
        for name in p.files:
            path = next(study.glob(f"{name}.*"))
            assert not _read(path)[p.id_column].isin(ids).any(), (where, name)
    log = json.loads((study / erase.ERASURE_LOG).read_text())
    assert len(log) == 1 and log[0]["status"] == "completed", (where, log)
    assert log[0]["rows_removed"] == expected["rows_removed"]
    assert log[0]["participants"] == expected["participants"]
    after = {n: f["sha256_after"] for n, f in log[0]["files"].items()}
    assert after == {n: f["sha256_after"] for n, f in expected["files"].items()}
    assert not list(study.glob(".*.erase-*")), where


def test_killed_at_every_point_erasure_is_finished_by_the_rerun(reference, tmp_path: Path) -> None:
    master, expected, ids, renames = reference
    assert renames >= 3
    for k, point in enumerate(_points(renames)):
        study = tmp_path / f"s{k}"
        shutil.copytree(master, study)
        assert killed_at(point, ["erase", str(study), "--apply"]) == signal.SIGKILL, point
        assert erase.interrupted_erasure(study) is not None, point  # the journal says it was stopped
        _finished_like_the_reference(study, expected, ids, point)


def test_a_real_sigkill_during_erasure(reference, tmp_path: Path) -> None:
    master, expected, ids, _ = reference
    study = tmp_path / "s"
    shutil.copytree(master, study)
    run = subprocess.Popen(
        [*KITBAG, "erase", str(study), "--apply"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while erase.interrupted_erasure(study) is None and run.poll() is None:  # once the journal says started
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert run.poll() is None, "the run ended before it could be killed"
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    _finished_like_the_reference(study, expected, ids, "sigkill")


def test_interrupted_between_renames_is_completed_with_the_announced_counts(reference, tmp_path, monkeypatch) -> None:
    master, expected, _ids, _renames = reference
    study = tmp_path / "s"
    shutil.copytree(master, study)
    real, calls = erase._replace, []

    def crash_after_two(source: Path, target: Path) -> None:
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        calls.append(target)
        real(source, target)

    monkeypatch.setattr(erase, "_replace", crash_after_two)
    with pytest.raises(erase.KitbagError):
        erase.apply_erasure(study, erase.plan_erasure(study))
    assert erase.interrupted_erasure(study)["rows_removed"] == expected["rows_removed"]
    assert validate_study(study, finishing="erase").report.ok  # dependent files first: still consistent
    half = validate_study(study).report  # ... but half-applied: every reader refuses it, naming the way out
    assert [(f.file, f"kitbag erase {study} --apply" in f.check) for f in half.failures] == [("erasure_log.json", True)]
    monkeypatch.setattr(erase, "_replace", real)
    entry = erase.apply_erasure(study, erase.plan_erasure(study))
    assert entry["status"] == "completed" and entry["rows_removed"] == expected["rows_removed"]
    assert not list(study.glob(".*.erase-*"))


def test_symlinked_study_file_is_refused(reference, tmp_path: Path) -> None:
    master = reference[0]
    study = tmp_path / "s"
    shutil.copytree(master, study)
    children = next(study.glob("children.*"))
    target = tmp_path / f"elsewhere{children.suffix}"
    children.rename(target)
    children.symlink_to(target)
    before = target.read_bytes()
    done = _erase(study)
    assert done.returncode == 2 and "symbolic link" in done.stderr
    assert target.read_bytes() == before and children.is_symlink()
