"""A real package: the wheel builds without a warning, and `kitbag report` works from it installed
into a fresh venv, outside the repository (the notebooks and templates are package data)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # its notice is no warning
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return next(out.glob("kitbag_workbench-*.whl")), done.stdout + done.stderr


def test_wheel_builds_without_a_warning(wheel: tuple[Path, str]) -> None:
    _, log = wheel
    warnings = [line for line in log.splitlines() if "warning" in line.lower()]
    assert not warnings, warnings


def test_installed_wheel_reports_outside_the_repository(wheel, small_study_master: Path, tmp_path: Path) -> None:
    """A fresh venv holding only the wheel (its dependencies are read from this environment's
    site-packages, never the repository or its editable install)."""
    path, _ = wheel
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # no .pth of it is run
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(path)], check=True
    )
    python = venv / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import kitbag_analysis; print(kitbag_analysis.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(site)), where
    out = tmp_path / "reports"
    # the borrowed nbconvert keeps its templates under this environment's prefix
    env = os.environ | {"JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    done = subprocess.run(
        [str(python), "-m", "kitbag_analysis.cli", "report", str(small_study_master), "--unit", "bexley", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (out / "bexley" / "report.html").is_file() and (out / "bexley" / "data_quality.html").is_file()
    assert "Summary of findings" in (out / "bexley" / "report.html").read_text()
