"""The right to rectification (privacy notice): `kitbag rectify STUDY CORRECTIONS.csv [--apply]`.

A corrections file has one row per correction: ``file`` (a participant file or one of its
dependent files, by name without suffix), ``id`` (the participant's pseudonym), ``column``,
``new_value`` and, for files holding several rows per participant, that file's row key
(`data_contracts.participants.ROW_KEYS`: wave, month, episode_start, ...). Each correction must
name exactly one row; ids and row keys themselves are not corrected here.

Applying is all or nothing: the corrected files are staged beside the originals and the whole
folder, as it would be, is validated first (a correction that breaks a contract is refused and
nothing is written); then the intent is logged (counts and hashes, never values or ids), the
files are renamed in, and the log entry completed. A run stopped at any point is finished by the
next run (re-applying a correction is idempotent: a correction that would not change its cell is
no change, so a corrections file applied once is a no-op the second time, and is not logged
again). The folder's lock is held throughout; the check folder (hard links to the study's rows)
is made inside the study folder, so nothing a kill leaves holds rows anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from data_contracts import ContractViolation, Finding, UnusableInput, validate_study
from data_contracts.journals import refuse_unfinished
from data_contracts.participants import BY_FILE, ID_COLUMNS, ROW_KEYS
from data_contracts.reading import locate, read_text
from kitbag_analysis import atomic
from kitbag_analysis.atomic import sha256
from kitbag_analysis.failpoints import failpoint
from kitbag_analysis.rights.folder import changing
from kitbag_analysis.rights.journal import Journal

RECTIFICATION_LOG = "rectification_log.json"
REQUIRED = ("file", "id", "column", "new_value")


@dataclass
class RectificationPlan:
    """What `rectify` would change: counts per file and column only (values are never shown)."""

    changes: dict[str, dict[str, int]]  # file name -> column -> rows corrected
    edits: dict[str, list[tuple[int, str, str | None]]] = field(default_factory=dict, repr=False)
    # (file name, 0-based row, column) -> the correction's line in the corrections file
    lines: dict[tuple[str, int, str], int] = field(default_factory=dict, repr=False)
    source: str = ""  # the corrections file, as named on the command line

    @property
    def total(self) -> int:
        return sum(n for columns in self.changes.values() for n in columns.values())


def _read_corrections(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise UnusableInput(f"{path}: no such corrections file.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UnusableInput(f"{path}: not a readable UTF-8 CSV of corrections ({type(exc).__name__}).") from None
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise UnusableInput(f"{path}: the corrections file needs the columns {', '.join(missing)}.")
    return frame


def plan_rectification(study_dir: str | Path, corrections: str | Path) -> RectificationPlan:
    """Match every correction to exactly one row; refuse the whole file at the first problem,
    naming the correction by its line (never its id or value). A correction to the value the cell
    already holds changes nothing and is left out of the plan."""
    with changing(study_dir, "rectify"):
        return _plan(Path(study_dir), corrections)


def _plan(study_dir: Path, corrections: str | Path) -> RectificationPlan:
    refuse_unfinished(study_dir, "rectify")
    if not validate_study(study_dir, finishing="rectify").report.ok:
        raise ContractViolation(f"{study_dir} fails its contracts; run `kitbag validate {study_dir}` first.")
    frame = _read_corrections(Path(corrections))
    texts: dict[str, pd.DataFrame] = {}
    changes: dict[str, dict[str, int]] = {}
    edits: dict[str, list[tuple[int, str, str | None]]] = {}
    lines: dict[tuple[str, int, str], int] = {}
    for line, c in enumerate(frame.to_dict("records"), start=2):
        where = f"{corrections}, line {line}"
        name = c["file"].removesuffix(".csv").removesuffix(".parquet")
        if name not in BY_FILE:
            raise UnusableInput(f"{where}: `file` must be a participant file or one of its dependent files.")
        id_column = BY_FILE[name].id_column
        keys = ROW_KEYS.get(name, ())
        if c["column"] in (*ID_COLUMNS, *keys):
            raise UnusableInput(f"{where}: ids and row keys are not corrected by rectify.")
        path = locate(study_dir, name)
        text = texts.setdefault(name, read_text(path))
        if c["column"] not in text.columns:
            raise UnusableInput(f"{where}: {path.name} has no such column.")
        hit = text[id_column] == c["id"]
        for key in keys:
            if not c.get(key):
                raise UnusableInput(f"{where}: {path.name} holds several rows per participant; give `{key}`.")
            hit &= text[key] == c[key]
        rows = hit.fillna(False).to_numpy().nonzero()[0]
        if len(rows) != 1:
            raise Finding(
                f"{where}: {'no row' if not len(rows) else 'several rows'} of {path.name} match its id"
                f"{' and key' if keys else ''} (the id is not repeated here)."
            )
        current = text[c["column"]].iloc[int(rows[0])]
        if (c["new_value"] or None) == (None if pd.isna(current) else str(current)):
            continue  # already so: no change (a re-applied corrections file is a no-op)
        edits.setdefault(name, []).append((int(rows[0]), c["column"], c["new_value"] or None))
        lines[(path.name, int(rows[0]), c["column"])] = line
        changes.setdefault(path.name, {}).setdefault(c["column"], 0)
        changes[path.name][c["column"]] += 1
    return RectificationPlan(changes, edits, lines, str(corrections))


def _write_corrected(source: Path, edits: list[tuple[int, str, str | None]], target: Path) -> None:
    """``source`` with ``edits`` (row, column, new text) applied, in its own format."""
    text = read_text(source)
    for row, column, value in edits:
        text.loc[row, column] = value
    if source.suffix != ".parquet":
        text.to_csv(target, index=False)
        return
    original = pd.read_parquet(source)
    for column in {c for _r, c, _v in edits}:
        original[column] = _like(text[column], original[column])
    original.to_parquet(target, index=False)


def _like(text: pd.Series, original: pd.Series) -> pd.Series:
    """Text cells in the Parquet column's own type where they parse (else left as text, for the
    contracts to report)."""
    values = text.astype(object).where(text.notna(), None)
    try:
        if pd.api.types.is_datetime64_any_dtype(original):
            return pd.to_datetime(values, format="%Y-%m-%d").astype(original.dtype)
        if pd.api.types.is_numeric_dtype(original):
            return pd.to_numeric(values).astype("float64" if values.isna().any() else original.dtype)
    except (ValueError, TypeError):
        pass
    return values


def apply_rectification(study_dir: str | Path, plan: RectificationPlan) -> dict | None:
    """Apply ``plan`` all or nothing, re-validated first, with a write-ahead log entry (the
    folder's lock held: a plan made under the same lock, by `kitbag rectify`, is still true)."""
    with changing(study_dir, "rectify"):
        return _apply(Path(study_dir), plan)


def _apply(study_dir: Path, plan: RectificationPlan) -> dict | None:
    refuse_unfinished(study_dir, "rectify")  # (a plan made earlier: another change may be half-applied since)
    journal = Journal(study_dir, RECTIFICATION_LOG)
    pending = journal.pending()
    if plan.total == 0 and pending is None:
        return None
    files = {name: locate(study_dir, name) for name in plan.edits}
    staged = {
        name: atomic.staged_file(path, lambda tmp, p=path, e=plan.edits[name]: _write_corrected(p, e, tmp), "rectify")
        for name, path in files.items()
    }
    try:
        _check_staged(study_dir, files, staged, plan)
        failpoint("rectify:checked")
        if pending is None:
            pending = journal.begin(
                {"changes": plan.changes, "files": {p.name: {"sha256_before": sha256(p)} for p in files.values()}}
            )
            failpoint("rectify:started")
        for name in list(staged):
            atomic.replace(staged.pop(name), files[name])
            failpoint("rectify:renamed")
    finally:
        for leftover in staged.values():
            leftover.unlink(missing_ok=True)
    for path in files.values():
        pending["files"].setdefault(path.name, {})
    for name, digests in pending["files"].items():  # those renamed by an earlier, interrupted run too
        digests["sha256_after"] = sha256(study_dir / name)
    return journal.complete(pending, "rectified_at")


def refused_lines(plan: RectificationPlan, failures: list) -> list[str]:
    """Each correction line the staged folder's failures fall on, with the rule it breaks:
    ``line 3 (children.csv, birth_year_month: in the form YYYY-MM …)``. A failure on a row no
    correction touched (a rule across files) is named by its file, column and rule alone."""
    named: dict[str, int] = {}
    for f in failures:
        hit = [
            line
            for (file, row, column), line in plan.lines.items()
            if file == f.file and row + 1 in f.rows and (column == f.column or column in f.column.split("+"))
        ] or [line for (file, row, _c), line in plan.lines.items() if file == f.file and row + 1 in f.rows]
        rule = f"{f.file}, {f.column}: {f.check}"
        for line in sorted(set(hit)) or [None]:
            named[f"line {line} ({rule})" if line else f"({rule})"] = line or 1 << 30
    return sorted(named, key=named.__getitem__)


def _check_staged(study_dir: Path, files: dict[str, Path], staged: dict[str, Path], plan: RectificationPlan) -> None:
    """Validate the folder as it would be after the renames; refuse (nothing written) if it
    fails, naming the correction line and the rule it breaks."""
    with atomic.staging_dir(study_dir / "rectify-check", "check") as check:  # inside the study folder
        for path in study_dir.iterdir():
            if path.is_file() and not path.name.startswith("."):
                os.link(path, check / path.name)
        for name, tmp in staged.items():
            (check / files[name].name).unlink()
            os.link(tmp, check / files[name].name)
        report = validate_study(check, finishing="rectify").report
    if not report.ok:
        named = "; ".join(refused_lines(plan, report.failures))
        raise ContractViolation(
            f"{plan.source or 'the corrections'}: refused, nothing was written: {named} "
            "would break the study's contracts (the value is not repeated here).",
            report,
        )


__all__ = ["RECTIFICATION_LOG", "RectificationPlan", "apply_rectification", "plan_rectification"]
