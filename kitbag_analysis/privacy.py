"""The privacy notice's promises as commands (privacy.md): erasure, access, retention, archive.

Every command validates the folder first and refuses one that fails its contracts, writing
nothing. Files are rewritten only by `erase --apply`, atomically: each new file is written beside
the old one and renamed over it, dependent files (measures, episodes, referrals, absence) before
the participant files, so a crash between two files leaves every file old or new and the folder
valid. Logs and manifests hold counts and hashes, never ids.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from data_contracts import CONTRACTS, ContractViolation, Finding, KitbagError, UnusableInput, validate_study
from data_contracts.participants import BY_FILE, ID_COLUMNS, PARTICIPANTS, REWRITE_ORDER
from data_contracts.reading import locate, read_text
from data_contracts.schemas import ANY_PARTICIPANT_ID, ARCHIVE_CONTRACTS
from data_contracts.settings import SETTINGS_FILE
from kitbag_analysis import iorw
from kitbag_analysis.iorw import sha256
from kitbag_analysis.rights.retention import retention, retention_due  # noqa: F401 - the privacy commands' API
from kitbag_analysis.study import Study, excluded_ids, latest_status, load_study

ERASURE_LOG = "erasure_log.json"
ARCHIVE_MANIFEST = "archive_manifest.json"
ERASE_ORDER = REWRITE_ORDER  # dependent files first: every state after a crash passes the rules
_replace = iorw.replace  # one seam, so a test can simulate a crash between two files


def _holds(text: pd.DataFrame, ids: set[str]) -> pd.Series:
    """Rows of a file (read as text) whose id columns hold any of ``ids``."""
    columns = [c for c in ID_COLUMNS if c in text.columns]
    hit = pd.Series(False, index=text.index)
    for column in columns:
        hit |= text[column].isin(ids).fillna(False).astype(bool)
    return hit


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _load(study_dir: Path) -> Study:
    """Everyone, validated; `ContractViolation` (nothing written) if a contract fails."""
    return load_study(study_dir, apply_exclusions_=False)


# --- erasure -------------------------------------------------------------------------------
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
    """What erasure would remove. Staged rewrites left by an interrupted erasure (never renamed in,
    so never part of the data) are removed first: they are copies the guards would otherwise scan."""
    remove_staging(Path(study_dir))
    study = _load(Path(study_dir))
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


def _write_filtered(source: Path, keep: pd.Series, target: Path) -> None:
    """``source`` without the dropped rows, in its own format, to ``target``."""
    if source.suffix == ".parquet":
        table = pq.read_table(source)
        pq.write_table(table.filter(keep.to_numpy()), target)
    else:
        read_text(source).loc[keep.to_numpy()].to_csv(target, index=False)


def _log(study_dir: Path) -> list[dict]:
    log = study_dir / ERASURE_LOG
    return json.loads(log.read_text(encoding="utf-8")) if log.exists() else []


def _write_log(study_dir: Path, entries: list[dict]) -> None:
    iorw.write_text(study_dir / ERASURE_LOG, json.dumps(entries, indent=2) + "\n")


def remove_staging(study_dir: Path) -> int:
    """Staged rewrites left by an interrupted erasure (never renamed in: safe to remove)."""
    leftovers = sorted(study_dir.glob(".*.erase-*"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


def interrupted_erasure(study_dir: str | Path) -> dict | None:
    """The write-ahead entry of an erasure that was stopped before it was completed, if any."""
    entries = _log(Path(study_dir))
    return entries[-1] if entries and entries[-1].get("status") == "started" else None


def apply_erasure(study_dir: str | Path, plan: ErasurePlan) -> dict | None:
    """Remove the planned rows from every file, re-validate and log; None if nothing to do.

    Write-ahead: the intent (counts and each file's hash before, never ids) is logged before the
    first rename and completed after the last, so an erasure stopped at any point is finished and
    logged by the next run: files already rewritten have nothing left to erase, the others are
    rewritten then, and the entry is completed with the counts it announced. Files are renamed
    dependent-first, so every state between two renames passes the cross-file rules.
    """
    study_dir = Path(study_dir)
    remove_staging(study_dir)
    pending = interrupted_erasure(study_dir)
    if plan.total_rows == 0 and pending is None:
        return None
    files = {name: locate(study_dir, name) for name in ERASE_ORDER}
    before = {path.name: sha256(path) for path in files.values()}
    entries = _log(study_dir)
    if pending is None:
        pending = {
            "status": "started",
            "started_at": _now(),
            "rule": "withdrawn (latest register status) before analysis_phase_start",
            "participants": plan.participants,
            "rows_removed": {k: v for k, v in plan.rows.items() if v},
            "kept_withdrawn_after_analysis_start": plan.kept_after_start,
            "files": {name: {"sha256_before": digest} for name, digest in before.items()},
        }
        entries.append(pending)
        _write_log(study_dir, entries)
    staged: dict[str, Path] = {}
    done = 0
    try:
        for name, path in files.items():
            if plan.rows.get(path.name, 0) == 0:
                continue
            keep = ~_holds(read_text(path), plan.ids[BY_FILE[name].type])
            staged[name] = iorw.staged_file(path, lambda tmp, p=path, k=keep: _write_filtered(p, k, tmp), "erase")
        for name in ERASE_ORDER:  # renames only, dependent files first
            if name in staged:
                _replace(staged[name], files[name])
                del staged[name]
                done += 1
    except OSError as exc:
        raise KitbagError(
            f"{study_dir}: erasure stopped after {done} of {done + len(staged)} file(s) were rewritten "
            f"({exc.strerror or exc}). Each file is either untouched or wholly rewritten and the folder "
            f"still passes its contracts; run `kitbag erase {study_dir} --apply` again to finish."
        ) from exc
    finally:
        for leftover in staged.values():
            leftover.unlink(missing_ok=True)
    report = validate_study(study_dir).report
    if not report.ok:
        raise ContractViolation(f"after erasure {report.summary()}; run `kitbag validate {study_dir}`.", report)
    for path in files.values():
        pending["files"].setdefault(path.name, {"sha256_before": before[path.name]})["sha256_after"] = sha256(path)
    pending.update(status="completed", erased_at=_now())
    entries[-1] = pending
    _write_log(study_dir, entries)
    return pending


# --- access and portability ----------------------------------------------------------------
def export_subject(study_dir: str | Path, participant_id: str) -> dict:
    """Every row held for one pseudonym, across all files, as the text each file holds."""
    if not re.match(ANY_PARTICIPANT_ID, participant_id or ""):
        raise UnusableInput(
            "the id must be a pseudonym: C, P or F followed by 16 lower-case hex digits "
            "(the value given is not repeated here)."
        )
    study = _load(Path(study_dir))
    found: dict[str, list[dict]] = {}
    for name in CONTRACTS:
        path = locate(study.path, name)
        text = read_text(path)
        hit = _holds(text, {participant_id})
        if hit.any():
            rows = text.loc[hit.to_numpy()].astype(object)
            found[path.name] = rows.where(rows.notna(), None).to_dict(orient="records")
    if not found:
        raise Finding(f"no row in {study_dir} holds that pseudonym (checked every file of the folder).")
    return {"participant_id": participant_id, "study": study.settings.name, "exported_at": _now(), "files": found}


# --- retention: kitbag_analysis.rights.retention (every category's clock) ----------------------


# --- archive -------------------------------------------------------------------------------
def archive(study_dir: str | Path, out: str | Path) -> dict:
    """The reduced, pseudonymised copy for the long-term archive (written whole or not at all)."""
    study_dir, out = Path(study_dir), Path(out)
    if out.exists() and any(out.iterdir()):
        raise UnusableInput(f"{out}: the archive folder exists and is not empty; choose a new one.")
    study = _load(study_dir)
    gone = excluded_ids(study["consent"])
    drop = set(gone["participant_id"])
    staged = iorw.sibling(out, "staging")
    staged.mkdir(parents=True)
    rows: dict[str, int] = {}
    try:
        shutil.copyfile(study_dir / SETTINGS_FILE, staged / SETTINGS_FILE)
        for name in CONTRACTS:
            text = read_text(locate(study_dir, name))
            text = text.loc[~_holds(text, drop).to_numpy()]
            if "birth_year_month" in text.columns:
                text = text.assign(birth_year_month=text["birth_year_month"].str[:4])
            text.to_csv(staged / f"{name}.csv", index=False)
            rows[f"{name}.csv"] = len(text)
        checked = validate_study(staged, ARCHIVE_CONTRACTS).report
        if not checked.ok:
            raise ContractViolation(f"the archive copy fails its contracts: {checked.summary()}", checked)
        manifest = {
            "created_at": _now(),
            "source": {
                "study": study.settings.name,
                "inputs": {
                    p.name: sha256(p) for p in [study_dir / SETTINGS_FILE, *(locate(study_dir, n) for n in CONTRACTS)]
                },
            },
            "reductions": [
                "participants withdrawn, objected or restricted dropped with all their rows",
                "birth_year_month coarsened to the year",
            ],
            "dropped": study.excluded,
            "files": [
                {"path": p.name, "sha256": sha256(p), "rows": rows.get(p.name)} for p in sorted(staged.iterdir())
            ],
        }
        iorw.write_text(staged / ARCHIVE_MANIFEST, json.dumps(manifest, indent=2) + "\n")
        if out.exists():
            out.rmdir()
        iorw.publish_dir(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return manifest
