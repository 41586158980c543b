"""Shared fixtures: small synthetic studies written once per session, copied per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from kitbag_analysis.synthetic.generate import SynthSpec, write_study

SMALL = SynthSpec(seed=7, children=400)


def _once_for_the_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], Path]) -> Path:
    """Made by the first of `make test`'s xdist workers that asks, under a file lock, in the
    folder the workers share; the others wait and reuse it (pytest-xdist's documented recipe)."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run
    target = base / f"shared-{name}"
    with FileLock(str(base / f"shared-{name}.lock")):
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            make(target)
            (target / ".complete").touch()
    return target


@pytest.fixture(scope="session")
def small_study_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _once_for_the_run(tmp_path_factory, "small", lambda d: write_study(d / "study", SMALL)) / "study"


@pytest.fixture(scope="session")
def small_bundle(small_study_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One batch of the small study, shared by every test that only reads a bundle (copy it to
    change it)."""
    from kitbag_analysis.cli import main

    def batch(folder: Path) -> None:
        assert main(["batch", str(small_study_master), "--out", str(folder / "out"), "--workers", "2"]) == 0

    return _once_for_the_run(tmp_path_factory, "bundle", batch) / "out"


@pytest.fixture
def study(small_study_master: Path, tmp_path: Path) -> Path:
    """A fresh, valid copy of the small study that a test may corrupt."""
    target = tmp_path / "study"
    shutil.copytree(small_study_master, target)
    return target


def read_csv_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def rewrite(study: Path, file: str, change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> None:
    """Apply ``change`` to a study file read as text and write it back."""
    path = study / f"{file}.csv"
    frame = read_csv_text(path)
    result = change(frame)
    (frame if result is None else result).to_csv(path, index=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, to prove a command changed nothing."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
