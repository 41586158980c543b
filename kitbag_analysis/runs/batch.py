"""A run of `kitbag batch` / `kitbag report`: units scheduled over worker processes (or a Dask
cluster: `executors`), the whole bundle staged beside the output folder and published by renames
only.

- the output folder is locked for the run (a second run into it exits 2);
- it must be empty, absent or a previous bundle of this tool, which is replaced as a whole;
- the bundle is built in a sibling staging folder (never inside the output folder), so a killed
  run leaves the previous bundle (or nothing) and a staging folder the next run removes;
- the validated study reaches the kernels through a private folder outside it (`private_cache`);
- workers and their kernels die with the run; Ctrl-C or SIGTERM ends them and removes staging.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kitbag_analysis import atomic
from kitbag_analysis.errors import UnusableInput
from kitbag_analysis.pages.report import suppression_pattern
from kitbag_analysis.runs.executors import executor_for
from kitbag_analysis.runs.manifest import MANIFEST, write_index, write_manifest
from kitbag_analysis.runs.private_folder import STUDY_FILE, private_folder
from kitbag_analysis.runs.stamp import TOOL, new_stamp
from kitbag_analysis.runs.unit import NOTEBOOKS, UnitOutcome, run_unit
from kitbag_analysis.study.load import excluded, load_study
from kitbag_analysis.study.units import check_unit

STAGING_TAG = "staging"


@dataclass
class BatchResult:
    out_dir: Path
    outcomes: list[UnitOutcome]

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


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold the output folder's lock (a file beside it) for the run; a second run exits 2."""
    from filelock import FileLock, Timeout

    out.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out.parent / f".{out.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise UnusableInput(
            f"{out}: another kitbag run is writing to this folder; wait for it to finish or choose another --out."
        ) from None
    try:
        yield
    finally:
        lock.release()


def run_batch(
    study_dir: str | Path,
    out_dir: str | Path,
    units: list[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[UnitOutcome], None] | None = None,
    runner: Callable[..., UnitOutcome] | None = None,
    executor: str | None = None,
) -> BatchResult:
    """Every unit (default: each LA of study.toml, then ``all``); one failed unit does not stop
    the others. The bundle (units, index.html, manifest.json) is published whole at the end.
    Units run on the executor named ``executor`` (`runs.executors`; by default chosen from
    ``workers`` and ``scheduler``)."""
    study_dir, out = Path(study_dir), Path(out_dir).absolute()
    check_output_folder(out)
    chosen = executor_for(executor, workers, scheduler)
    with output_lock(out):
        for leftover in _sibling_glob(out, STAGING_TAG):  # a killed run's staging
            atomic.remove_tree(leftover)
        everyone = load_study(study_dir, apply_exclusions_=False)
        study = excluded(everyone)
        units = units or study.units
        for unit in units:
            check_unit(study, unit)
        rows = {name: len(frame) for name, frame in everyone.frames.items()}
        stamp = new_stamp(study_dir, rows, list(NOTEBOOKS))
        with private_folder(study) as private, atomic.staging_dir(out, STAGING_TAG) as staged:
            # the study's suppression pattern, once for every unit (refused here, before any unit runs)
            pattern = suppression_pattern(study, private / STUDY_FILE)
            stamp["kind"] = "report"
            # the releases in the ledger this bundle is protected against (`kitbag release` checks it)
            stamp["ledger_seen"] = pattern.history.seen if pattern.history else []
            stamp_json = json.dumps(stamp)
            jobs = [(str(study_dir), u, str(staged), stamp_json, str(private / STUDY_FILE)) for u in units]
            outcomes = []
            for outcome in chosen.run(jobs, runner or run_unit):
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
            order = {u: k for k, u in enumerate(units)}
            outcomes.sort(key=lambda o: order[o.unit])
            write_index(staged, study, outcomes, stamp)
            write_manifest(staged, stamp, outcomes)
            atomic.publish_dir(staged, out)
    return BatchResult(out, outcomes)


__all__ = ["BatchResult", "check_output_folder", "output_lock", "run_batch"]
