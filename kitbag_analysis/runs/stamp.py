"""The audit stamp: what data, code and settings made a run (outputs.md, manifest.json)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import subprocess
import uuid
from pathlib import Path

from data_contracts import CONTRACTS
from data_contracts.reading import locate
from data_contracts.settings import SETTINGS_FILE
from kitbag_analysis.atomic import sha256

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = "kitbag-workbench"  # marks a bundle as this tool's (a folder batch may replace as a whole)
PACKAGES = (
    "kitbag-workbench",
    "numpy",
    "pandas",
    "pandera",
    "pyarrow",
    "statsmodels",
    "scipy",
    "matplotlib",
    "papermill",
    "nbconvert",
    "nbclient",
    "acro",
)


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def code_state() -> dict:
    """The commit the code came from and whether the tree had uncommitted changes."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status)}


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def input_files(study_dir: Path, row_counts: dict[str, int]) -> list[dict]:
    """Each input file: path relative to the study folder, SHA-256 and data rows."""
    files = [study_dir / SETTINGS_FILE] + [locate(study_dir, name) for name in CONTRACTS]
    return [{"path": p.name, "sha256": sha256(p), "rows": row_counts.get(p.stem)} for p in files]


def new_stamp(study_dir: Path, row_counts: dict[str, int], notebooks: list[Path]) -> dict:
    """Everything the manifest records before any output exists."""
    from kitbag_analysis import __version__

    return {
        "tool": TOOL,
        "run_id": dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8],
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tool_version": __version__,
        **code_state(),
        "python": platform.python_version(),
        "packages": versions(),
        "study_dir": str(study_dir.resolve()),
        "inputs": input_files(study_dir, row_counts),
        "notebook_sha256": {nb.name: sha256(nb) for nb in notebooks},
    }
