"""`kitbag verify DIR`: re-check a bundle against its audit stamp.

Every output's SHA-256; any file the manifest does not list (hidden ones included); every HTML
page's run id against the manifest's; and every input's SHA-256 where the study folder is still
reachable.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kitbag_analysis.atomic import sha256
from kitbag_analysis.errors import UnusableInput
from kitbag_analysis.runs.manifest import MANIFEST

RUN_ID_TAG = re.compile(r'<meta\b[^>]*\bname="kitbag-run-id"[^>]*>')
CONTENT = re.compile(r'\bcontent="([^"]*)"')


def page_run_id(text: str) -> str | None:
    """The run id a page records (its ``<meta name="kitbag-run-id">``), whatever the attribute order."""
    tag = RUN_ID_TAG.search(text)
    found = CONTENT.search(tag.group(0)) if tag else None
    return found.group(1) if found else None


def verify(out_dir: str | Path) -> tuple[list[str], list[str]]:
    """(differences, notes): no differences means the bundle is intact."""
    out_dir = Path(out_dir)
    path = out_dir / MANIFEST
    if not path.is_file():
        raise UnusableInput(f"{out_dir}: no {MANIFEST}; is this a report bundle?")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        outputs = manifest["outputs"]
        run_id = manifest["run_id"]
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise UnusableInput(f"{path}: not a readable manifest ({exc}).") from None
    differences, notes = [], []
    listed = {item["path"] for item in outputs}
    for item in outputs:
        target = out_dir / item["path"]
        if not target.is_file():
            differences.append(f"output {item['path']}: missing")
        elif sha256(target) != item["sha256"]:
            differences.append(f"output {item['path']}: changed (SHA-256 differs)")
    for name in manifest.get("reporting", {}).get("files", []):  # the checklist and abstract: outputs like any
        if name not in listed:
            differences.append(f"output {name}: named as a reporting output but not hashed in the manifest")
    for p in sorted(out_dir.rglob("*")):
        rel = str(p.relative_to(out_dir))
        if (p.is_file() or p.is_symlink()) and rel != MANIFEST and rel not in listed:
            differences.append(f"output {rel}: not in the manifest")
        page = p.suffix == ".html" and p.is_file()
        if page and page_run_id(p.read_text(encoding="utf-8", errors="replace")) != run_id:
            differences.append(f"output {rel}: made by another run than the manifest's ({run_id})")
    study_dir = Path(manifest.get("study_dir", ""))
    if manifest.get("study_dir") and study_dir.is_dir():
        for item in manifest.get("inputs", []):
            source = study_dir / item["path"]
            if not source.is_file():
                differences.append(f"input {item['path']}: missing from {study_dir}")
            elif sha256(source) != item["sha256"]:
                differences.append(f"input {item['path']}: changed since the run (SHA-256 differs)")
    else:
        notes.append("inputs not checked: the study folder is not reachable from here")
    return differences, notes


__all__ = ["verify"]
