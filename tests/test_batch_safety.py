"""Runs that are safe the way real systems fail: kills, Ctrl-C, SIGTERM, two runs at once,
foreign output folders, typos. Everything goes through the `kitbag` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kitbag_analysis.cli import main
from kitbag_analysis.runs.batch import output_lock
from kitbag_analysis.runs.private_folder import PREFIX

KITBAG = [sys.executable, "-m", "kitbag_analysis.cli"]
PARTICIPANT_ID = re.compile(rb"[CPF][0-9a-f]{16}")


def as_a_terminal_starts_it() -> None:
    """A foreground job of a terminal: SIGINT and SIGTERM at their defaults, whatever this test
    process inherited (a suite started in the background has SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start(study: Path, out: Path, *extra: str) -> subprocess.Popen:
    (out.parent / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(
        [*KITBAG, "batch", str(study), "--out", str(out), "--workers", "2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal would give it
        preexec_fn=as_a_terminal_starts_it,
        env=os.environ | {"TMPDIR": str(out.parent / "tmp")},  # its workers' private folders, apart
    )


def _a_unit_running(out: Path) -> bool:
    """A worker's notebook is running (its pages are made in the worker's private folder)."""
    return any((out.parent / "tmp").glob("kitbag-private-*/unit-*/*.ipynb"))


def _wait_for(predicate, seconds: float = 120) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _group_alive(pgid: int) -> list[int]:
    """Processes of the run still alive: its process group and any child re-parented away."""
    alive = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(proc.name))
    return alive


def _no_participant_data_under(out: Path) -> None:
    if not out.exists():
        return
    for path in out.rglob("*"):
        if path.is_file():
            assert not PARTICIPANT_ID.search(path.read_bytes()), path


def _staging_of(out: Path) -> list[Path]:
    return list(out.parent.glob(f".{out.name}.staging-*"))


@pytest.fixture(scope="module")
def previous_bundle(small_study_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of one unit, made once for this file's tests (copy it to change it)."""
    out = tmp_path_factory.mktemp("previous") / "out"
    assert main(["report", str(small_study_master), "--unit", "warwickshire", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("when", ["start", "mid-unit"])
def test_sigkill_leaves_previous_bundle_and_no_process(
    small_study_master: Path, previous_bundle: Path, tmp_path: Path, when: str
) -> None:
    out = tmp_path / "out"
    shutil.copytree(previous_bundle, out)  # a previous bundle
    before = (out / "manifest.json").read_bytes()
    previous = sorted(p.name for p in out.iterdir())
    run = _start(small_study_master, out)
    if when == "start":
        _wait_for(lambda: _staging_of(out))
    else:  # a unit's notebook is running
        _wait_for(lambda: _a_unit_running(out))
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    _wait_for(lambda: not _group_alive(run.pid), 15)  # workers and kernels die with the run
    assert (out / "manifest.json").read_bytes() == before  # the previous bundle, untouched
    assert sorted(p.name for p in out.iterdir()) == previous
    assert main(["verify", str(out)]) == 0
    assert _staging_of(out)  # left outside the output folder ...
    assert main(["report", str(small_study_master), "--unit", "haringey", "--out", str(out)]) == 0
    assert not _staging_of(out)  # ... and removed by the next run
    _no_participant_data_under(out)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_exits_with_its_code_and_publishes_nothing(
    small_study_master: Path, tmp_path: Path, sig: int, code: int
) -> None:
    """How fast it stops is measured by benchmarks/interrupt_speed.py, not asserted here."""
    out = tmp_path / "out"
    run = _start(small_study_master, out)
    _wait_for(lambda: _a_unit_running(out))
    os.killpg(run.pid, sig)  # Ctrl-C reaches the whole process group
    _, err = run.communicate(timeout=120)  # a hang fails here; no figure of time is asserted
    assert run.returncode == code
    assert "interrupted; no report was published" in err.decode()
    assert "Traceback" not in err.decode()
    _wait_for(lambda: not _group_alive(run.pid), 5)
    assert not out.exists() and not _staging_of(out) and not list((tmp_path / "tmp").glob(f"{PREFIX}*"))


def test_second_run_into_the_same_folder_is_refused(small_study_master: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    with output_lock(out.absolute()):
        assert main(["batch", str(small_study_master), "--out", str(out)]) == 2
    assert "another kitbag run is writing to this folder" in capsys.readouterr().err
    assert not out.exists()


def test_foreign_non_empty_folder_is_refused(small_study_master: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "mine"
    (out / "bexley").mkdir(parents=True)
    (out / "bexley" / "mine.txt").write_text("my notes")
    assert main(["batch", str(small_study_master), "--out", str(out)]) == 2
    assert "not a report bundle of this tool" in capsys.readouterr().err
    assert (out / "bexley" / "mine.txt").read_text() == "my notes"
    assert sorted(p.name for p in out.rglob("*")) == ["bexley", "mine.txt"]


def test_typo_in_unit_writes_nothing(small_study_master: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["report", str(small_study_master), "--unit", "bexly", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown unit" in err and "bexley" in err
    assert not out.exists() and not _staging_of(out)


def test_verify_flags_hidden_files_and_pages_of_another_run(previous_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(previous_bundle, out)
    assert main(["verify", str(out)]) == 0
    (out / ".hidden").write_text("x")
    assert main(["verify", str(out)]) == 1
    (out / ".hidden").unlink()
    page = out / "warwickshire" / "report.html"
    run_id = json.loads((out / "manifest.json").read_text())["run_id"]
    assert run_id in page.read_text()
    page.write_text(page.read_text().replace(run_id, "20990101T000000Z-0000000"))  # a page of another run
    manifest = json.loads((out / "manifest.json").read_text())
    from kitbag_analysis.atomic import sha256

    for item in manifest["outputs"]:  # even with its hash patched in, the run id gives it away
        if item["path"] == "warwickshire/report.html":
            item["sha256"] = sha256(page)
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert main(["verify", str(out)]) == 1


def test_ctrl_c_while_workers_spawn_is_taken_not_lost() -> None:
    """The run holds SIGINT (blocked, never ignored) while it spawns workers: a Ctrl-C in that
    moment interrupts it as soon as the spawning ends."""
    from kitbag_analysis.runs.executors import _holding_sigint

    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as a terminal delivers it
    try:
        with pytest.raises(KeyboardInterrupt):
            with _holding_sigint():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # held: nothing happens here
            pytest.fail("the Ctrl-C was lost")  # pragma: no cover
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_workers_ignore_ctrl_c_and_do_not_block_it() -> None:
    """A worker (and the kernel it starts) ignores SIGINT, unblocked: the run ends it itself."""
    code = (
        "import signal; from kitbag_analysis.runs.executors import _worker_init; "
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}); _worker_init(); "
        "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, "
        "signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"]
