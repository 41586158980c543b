"""`kitbag release DIR` and `kitbag releases STUDY`: the output checker's approval of a bundle,
recorded in its study's ledger (`sdc.ledger`), and the list of what was released.

A bundle is recorded only when it verifies (every output's and input's hash), its audit passes
against every release already in the ledger, and it was built seeing every one of them (a bundle
made before the latest recorded release was not protected against it). Otherwise nothing is
recorded (exit 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kitbag_analysis.atomic import sha256
from kitbag_analysis.errors import Finding, UnusableInput
from kitbag_analysis.runs.manifest import MANIFEST
from kitbag_analysis.runs.verify import verify
from kitbag_analysis.sdc import ledger as ledgers
from kitbag_analysis.sdc.audit import BundleAudit, audit_bundle, read_releases
from kitbag_analysis.sdc.history import entry_from_release
from kitbag_analysis.sdc.ledger import Entry, Ledger


def read_manifest(bundle: Path) -> dict[str, Any]:
    try:
        return json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnusableInput(f"{bundle}: no readable {MANIFEST} ({type(exc).__name__}); is this a bundle?") from None


def study_of(bundle: Path, manifest: dict[str, Any]) -> Path:
    """The study folder the bundle was made from (its manifest names it)."""
    study = Path(manifest.get("study_dir") or "")
    if not manifest.get("study_dir") or not study.is_dir():
        raise UnusableInput(
            f"{bundle}: the study folder it was made from ({study}) is not reachable from here; a release is "
            "recorded in that study's ledger, so run `kitbag release` where the study is."
        )
    return study


def bundle_ledger(bundle: Path) -> Ledger:
    """The ledger of the bundle's study without the bundle's own entry (empty where the study is not
    reachable: `kitbag audit` then audits the bundle alone)."""
    manifest = read_manifest(bundle)
    study = Path(manifest.get("study_dir") or "")
    if not manifest.get("study_dir") or not study.is_dir():
        return Ledger()
    return ledgers.read_ledger(study).without(manifest.get("run_id", ""))


def audit_with_ledger(bundle: Path) -> BundleAudit:
    """`kitbag audit DIR`: the bundle's audit given everything already in its study's ledger."""
    return audit_bundle(bundle, bundle_ledger(bundle))


@dataclass(frozen=True)
class Recorded:
    entry: Entry
    already: bool = False  # the bundle was in the ledger before: nothing new was recorded


def record_release(bundle: str | Path, approver: str = "", note: str = "") -> Recorded:
    """Verify and audit ``bundle`` against its study's ledger, then append it (atomically, under
    the study's lock). Raises `Finding` (nothing recorded) where it may not be released."""
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    study = study_of(bundle, manifest)
    differences, _notes = verify(bundle)
    if differences:
        raise Finding(
            f"{bundle} does not verify ({len(differences)} difference(s), e.g. {differences[0]}); it was not "
            "recorded. Re-run the batch on the study as it is now (`kitbag verify` lists every difference)."
        )
    run_id = manifest["run_id"]
    with ledgers.locked(study):
        ledger = ledgers.read_ledger(study)
        if ledger.get(run_id):
            return Recorded(ledger.get(run_id), already=True)
        unseen = [r for r in ledger.run_ids if r not in manifest.get("ledger_seen", [])]
        if unseen:
            raise Finding(
                f"{bundle} was built before release {unseen[-1]} was recorded and is not protected against it "
                f"({len(unseen)} release(s) it did not see); it was not recorded. Re-run the batch: it reads the "
                "ledger and protects the new bundle against every earlier release."
            )
        result = audit_bundle(bundle, ledger)
        if not result.ok:
            first = (result.narrow[0].key if result.narrow else result.ledger[0].key).label
            raise Finding(
                f"{bundle} fails its disclosure audit against the ledger ({len(result.narrow)} narrow cell(s), "
                f"{len(result.ledger)} cell(s) disclosive given earlier releases, e.g. {first}); it was not "
                "recorded (`kitbag audit` names every cell)."
            )
        entry = entry_from_release(manifest, read_releases(bundle), approver, note, sha256(bundle / MANIFEST))
        ledgers.append(study, entry)
    return Recorded(entry)


def list_releases(study: str | Path) -> Ledger:
    """`kitbag releases STUDY`: the study's ledger."""
    study = Path(study)
    if not study.is_dir():
        raise UnusableInput(f"{study}: no such study folder.")
    return ledgers.read_ledger(study)


__all__ = ["Recorded", "audit_with_ledger", "bundle_ledger", "list_releases", "record_release", "study_of"]
