"""Erasure killed at random points (SIGKILL through the CLI), on CSV and Parquet studies: after a
re-run the data are consistent, the log is complete and no staging file is left."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from data_contracts import validate_study
from data_contracts.participants import PARTICIPANTS
from kitbag_analysis.rights import erase
from kitbag_analysis.synthetic.generate import SynthSpec, write_study

KITBAG = [sys.executable, "-m", "kitbag_analysis.cli"]
KILLS_PER_FORMAT = 10


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)


def _erase(study: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*KITBAG, "erase", str(study), "--apply"], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module", params=["csv", "parquet"])
def reference(request, tmp_path_factory) -> tuple[Path, dict, set[str], float]:
    """A study, the log entry of an uninterrupted erasure of it, the erased ids, its duration."""
    root = tmp_path_factory.mktemp(f"erase-{request.param}")
    master = write_study(root / "master", SynthSpec(seed=11, children=400), fmt=request.param)
    ids = set().union(*erase.plan_erasure(master).ids.values())
    clean = root / "clean"
    shutil.copytree(master, clean)
    started = time.perf_counter()
    assert _erase(clean).returncode == 0
    seconds = time.perf_counter() - started
    entry = json.loads((clean / erase.ERASURE_LOG).read_text())[-1]
    return master, entry, ids, seconds


def test_killed_erasure_is_finished_and_logged_by_the_rerun(reference, tmp_path: Path) -> None:
    master, expected, ids, seconds = reference
    rng = random.Random(20210423)
    for k in range(KILLS_PER_FORMAT):
        study = tmp_path / f"s{k}"
        shutil.copytree(master, study)
        run = subprocess.Popen(
            [*KITBAG, "erase", str(study), "--apply"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, seconds * 1.1))  # from imports, through the renames, to the log
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        done = _erase(study)
        assert done.returncode == 0, done.stderr
        assert validate_study(study).report.ok
        for p in PARTICIPANTS:
            for name in p.files:
                path = next(study.glob(f"{name}.*"))
                assert not _read(path)[p.id_column].isin(ids).any(), (k, name)
        log = json.loads((study / erase.ERASURE_LOG).read_text())
        assert len(log) == 1 and log[0]["status"] == "completed", (k, log)
        assert log[0]["rows_removed"] == expected["rows_removed"]
        assert log[0]["participants"] == expected["participants"]
        after = {n: f["sha256_after"] for n, f in log[0]["files"].items()}
        assert after == {n: f["sha256_after"] for n, f in expected["files"].items()}
        assert not list(study.glob(".*.erase-*")), k


def test_interrupted_between_renames_is_completed_with_the_announced_counts(reference, tmp_path, monkeypatch) -> None:
    master, expected, _ids, _seconds = reference
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
    assert validate_study(study).report.ok  # dependent files first: still consistent
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
