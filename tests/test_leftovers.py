"""Every temporary thing has an owner that cleans it (issue 30): a publish killed at each of its
renames keeps a bundle at --out (the next run puts the previous one back before it deletes
anything, even when that run is stopped with Ctrl-C); an archive to another file system (a
tmpfs) leaves nothing in the study, and one killed during its copy leaves nothing row-level once
the next archive of the study has run, whatever its --out; the journals' temporary files go with
the next run; a SIGKILLed run's private folders go with the next run even while its dead workers
are unreaped zombies."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from killing import killed_at
from test_run_safety import UNIT, _ids_outside, _interrupted, _paused, _start, _wait_for

from data_contracts import validate_study
from data_contracts.schemas import ARCHIVE_CONTRACTS
from kitbag_analysis import atomic
from kitbag_analysis.cli import main
from kitbag_analysis.failpoints import ENV, POINTS
from kitbag_analysis.runs import private_folder


# --- the publish of a bundle -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def previous(small_study_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of one unit (the previous bundle of every case)."""
    out = tmp_path_factory.mktemp("previous") / "out"
    assert main(["report", str(small_study_master), "--unit", UNIT, "--out", str(out)]) == 0
    return out


def _report(study: Path, out: Path) -> list[str]:
    return ["report", str(study), "--unit", UNIT, "--out", str(out)]


def _killed_at(point: str, args: list[str], tmp: Path) -> int:
    """``kitbag ARGS`` in its own process, killing itself at ``point`` (a run's kernel cannot be
    forked from a process that ran one: `killing.killed_at` is for the rights commands)."""
    run = _start(args, tmp, **{ENV: point})
    run.communicate(timeout=900)
    return run.returncode


def test_a_kill_between_the_renames_is_undone_before_anything_is_deleted(tmp_path: Path) -> None:
    """The state a kill between the two renames leaves: --out missing, the previous bundle aside,
    the new one staged. The next run's clean-up puts the previous one back first."""
    from kitbag_analysis.runs import batch

    out = tmp_path / "out"
    aside, staged = atomic.sibling(out, "old"), atomic.sibling(out, "staging")
    for folder, text in ((aside, "previous"), (staged, "new")):
        folder.mkdir()
        (folder / "manifest.json").write_text(text)
    batch.remove_leftovers(out)
    assert (out / "manifest.json").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# what a kill after each rename leaves beside --out
LEFT_BY = {"publish:aside": {".out.old", ".out.staging"}, "publish:swapped": {".out.old"}, "publish:trashed": {".out.trash"}}


@pytest.mark.parametrize("point", POINTS["publish"])
def test_a_sigkill_at_each_rename_of_the_publish_then_ctrl_c_keeps_a_bundle(
    small_study_master: Path, previous: Path, tmp_path: Path, point: str
) -> None:
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    shutil.copytree(previous, out)
    if point == "publish:aside":  # a real SIGKILL from outside, in exactly that phase
        run = _paused(_report(small_study_master, out), point, tmp)
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    else:
        assert _killed_at(point, _report(small_study_master, out), tmp) == -signal.SIGKILL
    left = {p.name.split("-")[0] for p in tmp_path.glob(".out.*")}
    assert left == LEFT_BY[point], left  # what the issue found: --out missing between the renames
    assert out.exists() == (point != "publish:aside")
    rerun = _paused(_report(small_study_master, out), "batch:locked", tmp)  # after its clean-up
    _interrupted(rerun)
    assert main(["verify", str(out)]) == 0
    assert not list(tmp_path.glob(".out.*"))


def test_a_bundle_published_to_a_tmpfs(small_study_master: Path, previous: Path, tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "disk") as disk:
        out = disk / "out"
        shutil.copytree(previous, out)
        assert _killed_at("publish:aside", _report(small_study_master, out), tmp_path / "tmp") == -signal.SIGKILL
        assert not out.exists()
        assert main(_report(small_study_master, out)) == 0
        assert main(["verify", str(out)]) == 0
        assert sorted(p.name for p in disk.iterdir()) == ["out"]


# --- the archive across file systems ----------------------------------------------------------------
@pytest.fixture
def _tmpfs_mount(tmp_path: Path) -> Iterator[Path]:
    with _tmpfs(tmp_path / "other") as disk:
        yield disk


def _tmpfs(where: Path):  # noqa: ANN202 - a context manager
    import contextlib

    @contextlib.contextmanager
    def mounted() -> Iterator[Path]:
        where.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(where)], check=False)
        if done.returncode:
            pytest.skip("a tmpfs could not be mounted here")
        try:
            yield where
        finally:
            subprocess.run(["umount", "-l", str(where)], check=False)

    return mounted()


def test_an_archive_to_another_file_system_leaves_nothing_in_the_study(study: Path, _tmpfs_mount: Path) -> None:
    out = _tmpfs_mount / "archive"
    assert os.stat(_tmpfs_mount).st_dev != os.stat(study).st_dev
    assert main(["archive", str(study), "--out", str(out)]) == 0
    assert validate_study(out, ARCHIVE_CONTRACTS).report.ok
    assert not list(study.glob(".*"))  # no staging, no marker
    assert sorted(p.name for p in _tmpfs_mount.iterdir()) == ["archive"]


def test_an_archive_killed_during_its_copy_leaves_no_row_once_the_next_archive_ran(
    study: Path, _tmpfs_mount: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(_tmpfs_mount)
    out = Path("archive")  # a relative --out: the marker still names the copy wherever it is
    assert killed_at(f"{POINTS['archive_across'][0]}:3", ["archive", str(study), "--out", str(out)]) == signal.SIGKILL
    assert _ids_outside(_tmpfs_mount), "the kill came before any row reached the other file system"
    other = tmp_path / "elsewhere"  # the next archive of the study names another --out
    assert main(["archive", str(study), "--out", str(other)]) == 0
    assert _ids_outside(_tmpfs_mount) == [] and not list(_tmpfs_mount.iterdir())
    assert _ids_outside(tmp_path, study, other) == []
    assert not list(study.glob(".*"))


# --- the journals' temporary files ------------------------------------------------------------------
def _fixes(study: Path, path: Path) -> None:
    from test_run_safety import _corrections

    _corrections(study, path)


@pytest.mark.parametrize("step", [1, 2])  # the entry begun, the entry completed
@pytest.mark.parametrize("command", ["erase", "rectify"])
def test_no_journal_temporary_file_survives_the_rerun(study: Path, tmp_path: Path, command: str, step: int) -> None:
    fixes = tmp_path / "fixes.csv"
    _fixes(study, fixes)
    args = ["erase", str(study), "--apply"] if command == "erase" else ["rectify", str(study), str(fixes), "--apply"]
    journal = "erasure_log.json" if command == "erase" else "rectification_log.json"
    assert killed_at(f"journal:written:{step}", args) == signal.SIGKILL
    assert list(study.glob(f".{journal}.tmp-*"))  # the kill left the step's temporary file
    assert main(args) == 0
    assert not list(study.rglob("*.tmp-*")) and not list(study.glob(".*"))
    assert main(["validate", str(study)]) == 0


# --- private folders of a SIGKILLed run --------------------------------------------------------------
def test_a_dead_processs_private_folder_goes_even_while_it_is_a_zombie(tmp_path: Path) -> None:
    """A SIGKILLed run's workers are re-parented; where nothing reaps them they stay zombies, and
    a folder named by a zombie's pid must still be taken for a dead process's."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        folder = tmp_path / f"{private_folder.PREFIX}{child.pid}-{private_folder.started(child.pid)}-x"
        folder.mkdir()
        alive = tmp_path / f"{private_folder.PREFIX}{os.getpid()}-{private_folder.started(os.getpid())}-y"
        alive.mkdir()
        reused = tmp_path / f"{private_folder.PREFIX}{os.getpid()}-1-z"  # this pid, another process's start
        reused.mkdir()
        assert private_folder.remove_stale(tmp_path) == [reused]
        child.kill()
        _wait_for(lambda: Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", 10)
        assert private_folder.remove_stale(tmp_path) == [folder]  # dead, not yet reaped
        assert alive.is_dir()
    finally:
        child.wait()
