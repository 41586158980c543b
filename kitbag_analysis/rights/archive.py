"""The long-term archive (privacy.md): a reduced, pseudonymised copy with its own manifest.

The copy is staged inside the study folder (it holds rows: a killed archive leaves nothing with
rows anywhere else, and the next command that takes the folder's lock removes it) and renamed
to ``--out`` whole. Only when ``--out`` is on another file system is it copied beside ``--out``
first (a rename cannot cross file systems), then renamed there, and the copy inside the study is
removed. Before that copy begins, a marker inside the study (``.archive.across-*``, holding the
copy's path only) names it, so a kill during the copy leaves rows beside ``--out`` only until the
next command that takes the study's lock (the next archive, whatever ``--out`` it names), which
removes the copy and then the marker (`folder.remove_across`).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

from data_contracts import CONTRACTS, ContractViolation, UnusableInput, validate_study
from data_contracts.reading import locate, read_text
from data_contracts.schemas import ARCHIVE_CONTRACTS, ARCHIVE_MARKER
from data_contracts.settings import SETTINGS_FILE
from kitbag_analysis import atomic
from kitbag_analysis.atomic import sha256
from kitbag_analysis.failpoints import failpoint
from kitbag_analysis.rights.folder import ACROSS_TAG, changing, load_everyone, now, rows_holding
from kitbag_analysis.study.load import excluded_ids

ARCHIVE_MANIFEST = ARCHIVE_MARKER  # its presence tells `kitbag validate` the folder is an archive


def archive(study_dir: str | Path, out: str | Path) -> dict:
    """The reduced, pseudonymised copy for the long-term archive (written whole or not at all)."""
    study_dir, out = Path(study_dir), Path(out)
    with changing(study_dir, "archive"):  # a killed archive's staging inside the study is removed
        for leftover in out.parent.glob(f".{out.name}.staging-*"):  # a killed cross-device copy
            atomic.remove_tree(leftover)
        if out.exists() and any(out.iterdir()):
            raise UnusableInput(f"{out}: the archive folder exists and is not empty; choose a new one.")
        return _archive(study_dir, out)


def _publish(study_dir: Path, staged: Path, out: Path) -> None:
    """Rename the staged copy to ``out``; across file systems, copy it beside ``out`` first (and
    remove the staged copy from the study once the copy is in place)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.rmdir()
    try:
        os.replace(staged, out)
        atomic.fsync_dir(out.parent)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_across(study_dir, staged, out)
        atomic.remove_tree(staged)


def _copy_across(study_dir: Path, staged: Path, out: Path) -> None:
    """Copy ``staged`` to a sibling of ``out`` (another file system) and rename it to ``out``; the
    copy is named in a marker inside the study before its first byte is written."""
    beside = atomic.sibling(out.absolute(), "staging")
    marker = atomic.write_text(atomic.sibling(study_dir / "archive", ACROSS_TAG), f"{beside}\n")
    try:
        beside.mkdir()
        for path in sorted(staged.iterdir()):
            atomic.write_with(beside / path.name, lambda tmp, p=path: shutil.copyfile(p, tmp))
            failpoint("archive:copied")
        atomic.publish_dir(beside, out)
    finally:
        atomic.remove_tree(beside)
        marker.unlink(missing_ok=True)
        atomic.fsync_dir(study_dir)


def _archive(study_dir: Path, out: Path) -> dict:
    study = load_everyone(study_dir)
    gone = excluded_ids(study["consent"])
    drop = set(gone["participant_id"])
    staged = atomic.sibling(study_dir / "archive", "staging")  # .archive.staging-*, inside the study
    staged.mkdir()
    rows: dict[str, int] = {}
    try:
        shutil.copyfile(study_dir / SETTINGS_FILE, staged / SETTINGS_FILE)
        for name in CONTRACTS:
            text = read_text(locate(study_dir, name))
            text = text.loc[~rows_holding(text, drop).to_numpy()]
            if "birth_year_month" in text.columns:
                text = text.assign(birth_year_month=text["birth_year_month"].str[:4])
            text.to_csv(staged / f"{name}.csv", index=False)
            rows[f"{name}.csv"] = len(text)
        checked = validate_study(staged, ARCHIVE_CONTRACTS).report
        if not checked.ok:
            raise ContractViolation(f"the archive copy fails its contracts: {checked.summary()}", checked)
        manifest = {
            "kind": "kitbag long-term archive (validate checks it against the archive's contracts)",
            "created_at": now(),
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
        atomic.write_text(staged / ARCHIVE_MANIFEST, json.dumps(manifest, indent=2) + "\n")
        failpoint("archive:staged")
        _publish(study_dir, staged, out)
        failpoint("archive:published")
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return manifest


__all__ = ["ARCHIVE_MANIFEST", "archive"]
