"""Erasure (privacy.md): participants who withdrew before `analysis_phase_start` lose every row.

Files are rewritten only by `erase --apply`, atomically: each new file is written beside the old
one and renamed over it, dependent files (measures, episodes, referrals, absence) before the
participant files, so a crash between two files leaves every file old or new and the folder
valid. The journal holds counts and hashes, never ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from data_contracts import ContractViolation, KitbagError, validate_study
from data_contracts.participants import BY_FILE, PARTICIPANTS, REWRITE_ORDER
from data_contracts.reading import locate, read_text
from kitbag_analysis import atomic
from kitbag_analysis.atomic import sha256
from kitbag_analysis.failpoints import failpoint
from kitbag_analysis.rights.folder import changing, load_everyone, rows_holding
from kitbag_analysis.rights.journal import Journal
from kitbag_analysis.study.load import latest_status

ERASURE_LOG = "erasure_log.json"
ERASE_ORDER = REWRITE_ORDER  # dependent files first: every state after a crash passes the rules
_replace = atomic.replace  # one seam, so a test can simulate a crash between two files


@dataclass
class ErasurePlan:
    """What `erase` would remove: counts only."""

    participants: dict[str, int]  # withdrew before analysis_phase_start, per type (in the register)
    present: dict[str, int]  # of those, how many still have rows in their participant file
    rows: dict[str, int]  # rows to remove per file
    kept_after_start: dict[str, int]  # withdrew after analysis_phase_start: kept, excluded
    ids: dict[str, set[str]] = field(default_factory=dict, repr=False)  # never printed or logged

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def plan_erasure(study_dir: str | Path) -> ErasurePlan:
    """What erasure would remove, with the folder's lock held. Staged rewrites left by an
    interrupted command (never renamed in, so never part of the data) are removed first: they are
    copies the guards would otherwise scan, and rows the erasure would not reach."""
    with changing(study_dir, "erase"):
        return _plan(Path(study_dir))


def _plan(study_dir: Path) -> ErasurePlan:
    study = load_everyone(study_dir, finishing="erase")
    latest = latest_status(study["consent"])
    start = pd.Timestamp(study.settings.analysis_phase_start)
    withdrawn = latest["status"] == "withdrawn"
    before = latest.loc[withdrawn & (latest["status_changed_on"] < start)]
    after = latest.loc[withdrawn & (latest["status_changed_on"] >= start)]
    ids, counts, kept, rows, present = {}, {}, {}, {}, {}
    for p in PARTICIPANTS:
        ids[p.type] = set(before.loc[before["participant_type"] == p.type, "participant_id"])
        counts[p.type] = len(ids[p.type])
        present[p.type] = int(study[p.file][p.id_column].isin(ids[p.type]).sum())
        later = set(after.loc[after["participant_type"] == p.type, "participant_id"])
        kept[p.type] = int(study[p.file][p.id_column].isin(later).sum())
        for name in p.files:
            rows[locate(study.path, name).name] = int(study[name][p.id_column].isin(ids[p.type]).sum())
    return ErasurePlan(counts, present, rows, kept, ids)


def pending_erasure(frames: Mapping[str, pd.DataFrame], analysis_phase_start: object) -> dict[str, int]:
    """Participants who withdrew before ``analysis_phase_start`` and still have rows in their
    participant file, per type (only types with any): what `erase` would remove. Reads the
    validated frames only; changes nothing (`kitbag validate` warns with it)."""
    latest = latest_status(frames["consent"])
    start = pd.Timestamp(analysis_phase_start)
    before = latest.loc[(latest["status"] == "withdrawn") & (latest["status_changed_on"] < start)]
    found = {}
    for p in PARTICIPANTS:
        ids = before.loc[before["participant_type"] == p.type, "participant_id"]
        n = int(frames[p.file][p.id_column].isin(ids).sum())
        if n:
            found[p.type] = n
    return found


def _write_filtered(source: Path, keep: pd.Series, target: Path) -> None:
    """``source`` without the dropped rows, in its own format, to ``target``."""
    if source.suffix == ".parquet":
        table = pq.read_table(source)
        pq.write_table(table.filter(keep.to_numpy()), target)
    else:
        read_text(source).loc[keep.to_numpy()].to_csv(target, index=False)


def interrupted_erasure(study_dir: str | Path) -> dict | None:
    """The write-ahead entry of an erasure that was stopped before it was completed, if any."""
    return Journal(study_dir, ERASURE_LOG).pending()


def apply_erasure(study_dir: str | Path, plan: ErasurePlan | None = None) -> dict | None:
    """Remove the planned rows from every file, re-validate and log; None if nothing to do.

    Write-ahead: the intent (counts and each file's hash before, never ids) is logged before the
    first rename and completed after the last, so an erasure stopped at any point is finished and
    logged by the next run: files already rewritten have nothing left to erase, the others are
    rewritten then, and the entry is completed with the counts it announced. Files are renamed
    dependent-first, so every state between two renames passes the cross-file rules. The folder's
    lock is held throughout, and the plan is made again under it (another command may have
    changed the folder since ``plan`` was shown).
    """
    with changing(study_dir, "erase"):
        return _apply(Path(study_dir), _plan(Path(study_dir)))


def _apply(study_dir: Path, plan: ErasurePlan) -> dict | None:
    pending = interrupted_erasure(study_dir)
    if plan.total_rows == 0 and pending is None:
        return None
    files = {name: locate(study_dir, name) for name in ERASE_ORDER}
    before = {path.name: sha256(path) for path in files.values()}
    journal = Journal(study_dir, ERASURE_LOG)
    if pending is None:
        pending = journal.begin(
            {
                "rule": "withdrawn (latest register status) before analysis_phase_start",
                "participants": plan.participants,
                "rows_removed": {k: v for k, v in plan.rows.items() if v},
                "kept_withdrawn_after_analysis_start": plan.kept_after_start,
                "files": {name: {"sha256_before": digest} for name, digest in before.items()},
            }
        )
        failpoint("erase:started")
    staged: dict[str, Path] = {}
    done = 0
    try:
        for name, path in files.items():
            if plan.rows.get(path.name, 0) == 0:
                continue
            keep = ~rows_holding(read_text(path), plan.ids[BY_FILE[name].type])
            staged[name] = atomic.staged_file(path, lambda tmp, p=path, k=keep: _write_filtered(p, k, tmp), "erase")
        for name in ERASE_ORDER:  # renames only, dependent files first
            if name in staged:
                _replace(staged[name], files[name])
                del staged[name]
                done += 1
                failpoint("erase:renamed")
    except OSError as exc:
        raise KitbagError(
            f"{study_dir}: erasure stopped after {done} of {done + len(staged)} file(s) were rewritten "
            f"({exc.strerror or exc}). Each file is either untouched or wholly rewritten; until the erasure is "
            f"finished every command refuses the folder; run `kitbag erase {study_dir} --apply` again to finish."
        ) from exc
    finally:
        for leftover in staged.values():
            leftover.unlink(missing_ok=True)
    report = validate_study(study_dir, finishing="erase").report
    if not report.ok:
        raise ContractViolation(f"after erasure {report.summary()}; run `kitbag validate {study_dir}`.", report)
    failpoint("erase:validated")
    for path in files.values():
        pending["files"].setdefault(path.name, {"sha256_before": before[path.name]})["sha256_after"] = sha256(path)
    return journal.complete(pending, "erased_at")


__all__ = ["ERASURE_LOG", "ErasurePlan", "apply_erasure", "interrupted_erasure", "pending_erasure", "plan_erasure"]
