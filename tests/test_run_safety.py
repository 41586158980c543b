"""Runs that stay safe at every moment (issue 20), through the `kitbag` command in its own process
group: Ctrl-C from the first instant and in every phase of a batch (held there by the pause hooks
of `failpoints`, never by sleeps), SIGKILL in every phase of batch, erase, rectify and archive with
no participant's row left outside the study folder, a real Dask cluster whose workers share no
disk with the submitter, and a full disk under the output folder."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from killing import killed_at

from kitbag_analysis.cli import main
from kitbag_analysis.failpoints import PAUSE_ENV, PAUSE_FILE_ENV, POINTS

KITBAG = [sys.executable, "-m", "kitbag_analysis.cli"]
PARTICIPANT_ID = re.compile(rb"[CPF][0-9a-f]{16}")
UNIT = "warwickshire"


def _as_a_terminal_starts_it() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start(args: list[str], tmp: Path, **env: str) -> subprocess.Popen:
    """``kitbag ARGS`` in its own process group (as a terminal starts a job), TMPDIR ``tmp``."""
    tmp.mkdir(exist_ok=True)
    return subprocess.Popen(
        [*KITBAG, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_as_a_terminal_starts_it,
        env=os.environ | {"TMPDIR": str(tmp), **env},
    )


def _wait_for(predicate, seconds: float = 240) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    alive.append(int(proc.name))
    return alive


def _paused(args: list[str], point: str, tmp: Path) -> subprocess.Popen:
    """A run held at ``point`` (the pause hook writes its marker when it gets there)."""
    marker = tmp.parent / f"paused-{point.replace(':', '-')}"
    run = _start(args, tmp, **{PAUSE_ENV: point, PAUSE_FILE_ENV: str(marker)})
    _wait_for(lambda: marker.exists() or run.poll() is not None)
    assert run.poll() is None, run.communicate()
    return run


def _interrupted(run: subprocess.Popen, sig: int = signal.SIGINT) -> str:
    """Send ``sig`` to the run's process group: it ends with 130 (143) within 5 s, one line, no
    traceback, and no process of it is left."""
    os.killpg(run.pid, sig)
    _, err = run.communicate(timeout=5)
    assert run.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[sig], err
    text = err.decode()
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text
    _wait_for(lambda: not _group_alive(run.pid), 5)
    return text


def _nothing_published(out: Path, tmp: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.*"))  # no staging, no lock file
    assert not list(tmp.glob("kitbag-private-*"))


def _ids_outside(root: Path, *inside: Path) -> list[str]:
    """Files under ``root`` (not under ``inside``) holding anything shaped like a participant id."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not any(path.is_relative_to(i) for i in inside):
            with contextlib.suppress(OSError):
                if PARTICIPANT_ID.search(path.read_bytes()):
                    found.append(str(path.relative_to(root)))
    return found


# --- Ctrl-C and SIGTERM ---------------------------------------------------------------------------
@pytest.mark.parametrize("after", [1.5, 10.0])
def test_ctrl_c_at_any_second_of_a_batch(small_study_master: Path, tmp_path: Path, after: float) -> None:
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    run = _start(["batch", str(small_study_master), "--out", str(out), "--workers", "2"], tmp)
    time.sleep(after)  # the moments of the issue: start-up (imports), then workers and kernels starting
    assert run.poll() is None
    _interrupted(run)
    _nothing_published(out, tmp)


def test_sigterm_during_start_up_is_one_line(tmp_path: Path) -> None:
    run = _start(["validate", str(tmp_path)], tmp_path / "tmp")
    time.sleep(0.3)  # still importing
    if run.poll() is None:
        _interrupted(run, signal.SIGTERM)


# each phase of a batch: the cheap ones through a batch on two worker processes (the unit phase
# pauses inside a worker), the ones after every unit through a report of one unit (inline)
PHASES = [
    *(("batch", p) for p in POINTS["batch"][:4]),
    *(("report", p) for p in POINTS["batch"][4:]),
]


def _run_args(kind: str, study: Path, out: Path) -> list[str]:
    if kind == "batch":
        return ["batch", str(study), "--out", str(out), "--workers", "2"]
    return ["report", str(study), "--unit", UNIT, "--out", str(out)]


@pytest.mark.parametrize(("kind", "point"), PHASES, ids=[p for _, p in PHASES])
def test_ctrl_c_in_every_phase_publishes_nothing(small_study_master: Path, tmp_path: Path, kind: str, point: str):
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    run = _paused(_run_args(kind, small_study_master, out), point, tmp)
    assert "no report was published" in _interrupted(run)
    _nothing_published(out, tmp)


# --- SIGKILL: no row outside the study folder ------------------------------------------------------
def test_sigkill_in_every_phase_of_a_batch_leaves_no_row_outside_the_study(
    small_study_master: Path, small_bundle: Path, tmp_path: Path
) -> None:
    study, out, tmp = tmp_path / "study", tmp_path / "out", tmp_path / "tmp"
    shutil.copytree(small_study_master, study)
    shutil.copytree(small_bundle, out)  # a previous bundle
    manifest = (out / "manifest.json").read_bytes()
    for kind, point in PHASES:
        run = _paused(_run_args(kind, study, out), point, tmp)
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
        _wait_for(lambda r=run: not _group_alive(r.pid), 15)  # workers and kernels die with the run
        assert _ids_outside(tmp_path, study) == [], point
        assert (out / "manifest.json").read_bytes() == manifest, point  # the previous bundle, untouched
    assert main(["report", str(study), "--unit", UNIT, "--out", str(out)]) == 0  # the re-run
    assert _ids_outside(tmp_path, study) == []
    assert not list(tmp_path.glob(".out.*")) and not list(tmp.glob("kitbag-private-*"))
    assert main(["verify", str(out)]) == 0


def _corrections(study: Path, path: Path) -> None:
    import pandas as pd

    child = pd.read_csv(study / "children.csv", dtype=str).iloc[0]
    new = "other" if child["gender"] != "other" else "female"
    path.write_text(f"file,id,column,new_value\nchildren,{child['child_id']},gender,{new}\n")


@pytest.mark.parametrize("command", ["erase", "rectify", "archive"])
def test_sigkill_in_every_phase_of_the_rights_commands_leaves_no_row_outside_the_study(
    small_study_master: Path, tmp_path: Path, command: str
) -> None:
    study, fixes, archived = tmp_path / "study", tmp_path / "fixes.csv", tmp_path / "archive"
    shutil.copytree(small_study_master, study)
    _corrections(study, fixes)
    args = {
        "erase": ["erase", str(study), "--apply"],
        "rectify": ["rectify", str(study), str(fixes), "--apply"],
        "archive": ["archive", str(study), "--out", str(archived)],
    }[command]
    for point in POINTS[command]:
        if command == "archive":
            shutil.rmtree(archived, ignore_errors=True)  # the product itself holds rows, by design
        killed_at(point, args)
        assert _ids_outside(tmp_path, study, archived, fixes) == [], point
        if command != "archive":  # a half-applied folder is refused by every reader, naming the way out
            assert main(["validate", str(study)]) == 1
    shutil.rmtree(archived, ignore_errors=True)
    assert main(args) == 0  # the re-run finishes it
    assert _ids_outside(tmp_path, study, archived, fixes) == []
    assert not list(study.glob(".*"))  # nothing staged is left inside the study either
    assert main(["validate", str(study)]) == 0


# --- Dask without a shared disk --------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen, str, list[Path]]]:
    """A real `dask scheduler` and two `dask worker`s on 127.0.0.1, each worker in its own working
    folder with its own TMPDIR (none of them the submitter's)."""
    pytest.importorskip("distributed")
    root = tmp_path_factory.mktemp("cluster")
    dask = str(Path(sys.executable).with_name("dask"))
    file = root / "scheduler.json"
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_for(file.exists, 60)
    import json

    _wait_for(lambda: file.stat().st_size > 0 and "address" in file.read_text(), 30)
    address = json.loads(file.read_text())["address"]
    workers, tmps = [], []
    for k in (1, 2):
        home = root / f"worker{k}"
        (home / "tmp").mkdir(parents=True)
        tmps.append(home / "tmp")
        workers.append(
            subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                cwd=home,
                env=os.environ | {"TMPDIR": str(home / "tmp")},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    from dask.distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    yield scheduler, address, tmps
    for process in (*workers, scheduler):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_dask_workers_without_the_submitters_disk_make_the_bundle(
    cluster, small_study_master: Path, tmp_path: Path
) -> None:
    _, address, worker_tmps = cluster
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    run = _start(["batch", str(small_study_master), "--out", str(out), "--scheduler", address], tmp)
    _, err = run.communicate(timeout=600)
    assert run.returncode == 0, err.decode()
    assert main(["verify", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(
        ["bexley", "haringey", "oxfordshire", "warwickshire", "all"]
    )
    for worker_tmp in worker_tmps:  # the workers wrote nothing of the run's but their own scratch
        assert _ids_outside(worker_tmp) == []
        assert not list(worker_tmp.rglob("*.html"))
    assert not list(tmp.glob("kitbag-private-*"))


def test_dask_scheduler_gone_mid_run_fails_and_publishes_nothing(
    cluster, small_study_master: Path, small_bundle: Path, tmp_path: Path
) -> None:
    scheduler, address, worker_tmps = cluster
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    shutil.copytree(small_bundle, out)
    manifest = (out / "manifest.json").read_bytes()
    run = _start(["batch", str(small_study_master), "--out", str(out), "--scheduler", address], tmp)
    _wait_for(lambda: any(t.glob("kitbag-private-*/unit-*") for t in worker_tmps) or run.poll() is not None)
    os.killpg(scheduler.pid, signal.SIGKILL)  # the cluster is gone while units run
    _, err = run.communicate(timeout=240)
    assert run.returncode == 1, err.decode()
    assert "Traceback" not in err.decode() and "nothing was published" in err.decode()
    assert (out / "manifest.json").read_bytes() == manifest and main(["verify", str(out)]) == 0
    assert not list(tmp_path.glob(".out.*"))


# --- a full disk -----------------------------------------------------------------------------------
def test_a_full_disk_keeps_the_previous_bundle(small_study_master: Path, small_bundle: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0 or not os.environ.get("CI"):
        pytest.skip("mounts a 3 MB tmpfs: only as root, in CI (set CI=1)")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)], check=True)
    try:
        out = disk / "out"
        out.mkdir()
        shutil.copytree(small_bundle / UNIT, out / UNIT)
        manifest = (small_bundle / "manifest.json").read_text()
        import json

        kept = json.loads(manifest)
        kept["outputs"] = [o for o in kept["outputs"] if o["path"].startswith(f"{UNIT}/")]
        (out / "manifest.json").write_text(json.dumps(kept))
        before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        run = subprocess.run(
            [*KITBAG, "report", str(small_study_master), "--unit", UNIT, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 1, run.stderr
        assert "Traceback" not in run.stderr and "nothing was published" in run.stderr
        assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
        assert sorted(p.name for p in disk.iterdir()) == ["out"]  # no staging left on the full disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)
