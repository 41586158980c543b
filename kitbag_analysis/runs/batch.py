"""A run of `kitbag batch` / `kitbag report`: units scheduled over worker processes (or a Dask
cluster: `executors`), the whole bundle staged beside the output folder and published by renames
only.

- the output folder is locked for the run (a second run into it exits 2);
- it must be empty, absent or a previous bundle of this tool, which is replaced as a whole;
- the output folder may not be inside the study folder (the study's guards would read it);
- the bundle is built in a sibling staging folder (never inside the output folder), so a killed
  run leaves the previous bundle (or nothing) and a staging folder the next run removes first;
  a run killed between the publish's renames leaves the previous bundle moved aside, which the
  next run puts back at the output folder before it removes anything;
- the validated study and its suppression pattern travel with the tasks as bytes and reach the
  kernels through in-memory files (`private_folder`): no row-level file on any disk;
- the units' files come back to the run, which alone writes the bundle (a Dask worker needs no
  shared disk); a lost worker, a full disk or a dead kernel fails the run and publishes nothing;
- workers and their kernels die with the run; Ctrl-C or SIGTERM ends them and removes staging.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.errors import ReleaseRefused, RunFailed, UnusableInput
from kitbag_analysis.failpoints import failpoint
from kitbag_analysis.runs.executors import executor_for
from kitbag_analysis.runs.kinds import KINDS, REPORT
from kitbag_analysis.runs.manifest import MANIFEST, write_manifest
from kitbag_analysis.runs.private_folder import remove_stale
from kitbag_analysis.runs.stamp import TOOL, new_stamp
from kitbag_analysis.runs.unit import UnitOutcome, run_unit, write_unit
from kitbag_analysis.study.asof import as_of
from kitbag_analysis.study.load import Study, excluded, load_study
from kitbag_analysis.study.units import check_unit

STAGING_TAG = "staging"
# a killed run's staging; a previous bundle a killed publish had moved aside (once `--out` is
# back); one it was removing
LEFTOVER_TAGS = (STAGING_TAG, "old", "trash")


@dataclass
class BatchResult:
    out_dir: Path
    outcomes: list[UnitOutcome]
    log: Path | None = None  # the private log of failed units' tracebacks

    @property
    def failed(self) -> list[UnitOutcome]:
        return [o for o in self.outcomes if o.status != "ok"]


def _sibling_glob(out: Path, tag: str) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.{tag}-*"))


def check_output_folder(out: Path) -> None:
    """Refuse a folder that is neither absent, empty nor a previous bundle of this tool."""
    if out.is_symlink():
        raise UnusableInput(f"{out}: the output folder is a symbolic link; give a real folder.")
    if not out.exists():
        return
    if not out.is_dir():
        raise UnusableInput(f"{out}: exists and is not a folder.")
    if not any(out.iterdir()):
        return
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        ours = manifest.get("tool") == TOOL
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise UnusableInput(
            f"{out}: the folder is not empty and is not a report bundle of this tool; nothing was written. "
            "Choose a new or empty folder (a previous bundle is replaced as a whole)."
        )


def check_not_inside(study_dir: Path, out: Path) -> None:
    """Refuse an output folder inside the study folder (or the study folder itself)."""
    study, target = study_dir.resolve(), out.resolve()
    if target == study or study in target.parents:
        raise UnusableInput(
            f"{out}: the output folder is inside the study folder {study_dir}; the bundle would become part "
            "of the study (its contracts and guards would read it). Choose a folder outside it."
        )


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold the output folder's lock for the run (no file beside it); a second run exits 2."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(atomic.exclusive(atomic.entry_lock_name("output", out)))
        except BlockingIOError:
            raise UnusableInput(
                f"{out}: another kitbag run is writing to this folder; wait for it to finish or choose another --out."
            ) from None
        yield


@contextlib.contextmanager
def _resources_fail_the_run(out: Path) -> Iterator[None]:
    """A full disk or exhausted memory while the bundle is written fails the run as a whole."""
    try:
        yield
    except (OSError, MemoryError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise RunFailed(
            f"{out}: the bundle could not be written ({reason}); the run failed as a whole, nothing was "
            "published and the previous bundle (if any) is kept."
        ) from None


def _something_to_report(study_dir: Path, study: Study) -> None:
    """Refuse, clearly, a study in which every child is excluded: no table could be shown."""
    if len(study["children"]) == 0:
        gone = study.excluded.get("child", 0)
        raise ReleaseRefused(
            f"{study_dir}: every child of the study is excluded ({gone} withdrawn, objected or restricted; "
            "analysis-plan.md §0), so there is nothing to analyse or show; no report was published."
        )


def private_log(run_id: str, outcomes: list[UnitOutcome]) -> Path | None:
    """The failed units' tracebacks, kept out of the bundle: a 0600 file in the user's state folder
    ($XDG_STATE_HOME/kitbag, by default ~/.local/state/kitbag); the bundle's error.txt has one line."""
    details = [f"unit {o.unit}:\n{o.detail}" for o in outcomes if o.detail]
    if not details:
        return None
    folder = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "kitbag"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return atomic.write_private_text(folder / f"run-{run_id}.log", "\n".join(details))
    except OSError:
        return None  # no place for it: the one-line reasons are still in the bundle


def remove_leftovers(out: Path) -> None:
    """What a killed run left beside the output folder and stale private folders; called with the
    lock held. A previous bundle a publish killed between its renames had moved aside is put back
    first when ``out`` is missing (so there is a bundle at ``out`` at every moment), then the
    rest (staging, a bundle moved aside whose successor is in place) is removed."""
    atomic.restore_aside(out)
    for tag in LEFTOVER_TAGS:
        for leftover in _sibling_glob(out, tag):
            atomic.remove_tree(leftover)
    remove_stale()


def run_batch(
    study_dir: str | Path,
    out_dir: str | Path,
    units: list[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[UnitOutcome], None] | None = None,
    runner: Callable[..., UnitOutcome] | None = None,
    executor: str | None = None,
    kind: str = "report",
    cut: dt.date | None = None,
) -> BatchResult:
    """Every unit (default: each LA of study.toml, then ``all``); one failed unit does not stop
    the others. The bundle (units, index.html, manifest.json) is published whole at the end.
    Units run on the executor named ``executor`` (`runs.executors`; by default chosen from
    ``workers`` and ``scheduler``). ``kind`` is the kind of bundle (`runs.kinds`: report or
    monitoring); ``cut`` the data cut (`study.asof`; a monitoring run defaults to today)."""
    study_dir, out = Path(study_dir), Path(out_dir).absolute()
    check_not_inside(study_dir, out)
    chosen = executor_for(executor, workers, scheduler)
    run_kind = KINDS[kind]
    if cut is None and kind == "monitoring":
        cut = dt.date.today()
    with output_lock(out):
        remove_leftovers(out)
        check_output_folder(out)
        failpoint("batch:locked")
        everyone = load_study(study_dir, apply_exclusions_=False)
        study = as_of(everyone, cut) if cut else excluded(everyone)
        _something_to_report(study_dir, study)
        units = units or study.units
        for unit in units:
            check_unit(study, unit)
        rows = {name: len(frame) for name, frame in everyone.frames.items()}
        stamp = new_stamp(study_dir, rows, list(run_kind.templates))
        stamp["kind"] = kind
        if cut:
            stamp["as_of"] = cut.isoformat()
        failpoint("batch:loaded")
        # what every unit needs (the study, its suppression pattern): once, refused here before any unit
        state = run_kind.prepare(study, stamp)
        pattern = state["pattern"]
        # the releases in the ledger this bundle is protected against (`kitbag release` checks it)
        stamp["ledger_seen"] = pattern.history.seen if pattern.history else []
        payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        failpoint("batch:pattern")
        with _resources_fail_the_run(out), atomic.staging_dir(out, STAGING_TAG) as staged:
            stamp_json = json.dumps(stamp)
            jobs = [(str(study_dir.resolve()), u, stamp_json) for u in units]
            outcomes = []
            default = run_unit if run_kind is REPORT else run_kind.runner  # (this module's name: tests patch it)
            for outcome in chosen.run(jobs, payload, runner or default):
                write_unit(staged, outcome)
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
            failpoint("batch:collected")
            order = {u: k for k, u in enumerate(units)}
            outcomes.sort(key=lambda o: order[o.unit])
            run_kind.index(staged, study, outcomes, stamp)
            write_manifest(staged, stamp, outcomes)
            failpoint("batch:staged")
            atomic.publish_dir(staged, out, lambda step: failpoint(f"publish:{step}"))
    return BatchResult(out, outcomes, private_log(stamp["run_id"], outcomes))


__all__ = ["BatchResult", "check_not_inside", "check_output_folder", "output_lock", "private_log", "run_batch"]
