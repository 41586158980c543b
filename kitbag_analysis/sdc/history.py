"""A new release against every earlier one (analysis-plan.md §6.1): the linked table set over time.

Every release in the ledger counts as published. For a count published in an earlier release and
in this one, the change (this − earlier) counts the people who joined, left or changed between
them. The rules, as applied here:

- a count whose change since any earlier release is not 0 and smaller than the threshold in size
  is suppressed now (a *ledger* primary cell), and the audit proves its interval — and so the
  interval of its change, the earlier value being a known constant — at least the threshold wide;
- a count suppressed in an earlier release stays suppressed (the same pattern is kept), so no
  earlier `[c]` becomes computable from a later page;
- numbers built on counts follow their counts (`sdc.rules`), models included.

Given those, the interval of any change a reader of both releases can work out is the interval of
this release's count (earlier shown) or the sum of both releases' intervals (earlier suppressed),
so the single-release audit proves the whole ledger. `bundle_findings` checks a finished bundle
against the ledger from what was published only (`kitbag audit`, `kitbag release`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from data_contracts.participants import BY_TYPE
from kitbag_analysis.analysis.names import EFFECTIVENESS
from kitbag_analysis.sdc.cells import CellKey
from kitbag_analysis.sdc.ledger import Entry, Ledger
from kitbag_analysis.study.units import ALL

CHANGED = "changed by fewer than the threshold since an earlier release"
KEPT = "suppressed in an earlier release"
# The main results of a release: the pooled trial's models of the children's outcomes. A release
# that would have to hide one of them because its counts changed by too few people is refused
# rather than published; other models so affected are withheld ("a count it rests on is suppressed").
MAIN = (ALL, EFFECTIVENESS, BY_TYPE["child"].population)


@dataclass
class Against:
    """What one earlier release asks of this one."""

    run_id: str
    released_at: str
    kind: str
    common: int = 0  # counts published in both
    changed: int = 0  # of those, changed by 1 to threshold − 1 people (suppressed now)
    kept: int = 0  # suppressed then, kept suppressed now
    main_changed: int = 0  # main-result counts among the changed
    smallest_main_change: int = 0  # the smallest of their changes (people, never who)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "released_at": self.released_at,
            "kind": self.kind,
            "counts_in_both": self.common,
            "changed_below_threshold": self.changed,
            "kept_suppressed": self.kept,
            "main_results_affected": self.main_changed,
        }


@dataclass
class History:
    """Every ledger release's demands on this release: the cells forced into suppression."""

    threshold: int
    forced: dict[CellKey, str] = field(default_factory=dict)
    against: list[Against] = field(default_factory=list)

    @property
    def seen(self) -> list[str]:
        return [a.run_id for a in self.against]

    def refusal(self) -> str | None:
        """Why the release cannot be made (None when it can): how many people changed since which
        release, never who."""
        for a in self.against:
            if a.main_changed:
                return (
                    f"since release {a.run_id} (released {a.released_at[:10]}), {a.main_changed} of the counts "
                    f"behind the pooled trial's results for children changed by fewer than the threshold of {self.threshold} "
                    f"people (as few as {_people(a.smallest_main_change)}): a reader holding both releases could "
                    "learn about the people who changed. Nothing was published. A release can be made once at "
                    f"least {self.threshold} people have changed since then (withdrawn, erased, corrected or late data)"
                )
        return None

    def unprotectable(self) -> str:
        """Why no pattern was found, in counts of people and release ids only."""
        changed = sum(a.changed for a in self.against)
        since = ", ".join(f"{a.run_id} ({a.released_at[:10]})" for a in self.against if a.changed)
        return (
            f"no suppression pattern protects the {changed} counts that changed by fewer than {self.threshold} "
            f"people since the earlier release(s) {since or 'in the ledger'} together with every cell suppressed "
            f"there; a release can be made once at least {self.threshold} people have changed"
        )


def _people(n: int) -> str:
    return f"{n} person" if n == 1 else f"{n} people"


def history(ledger: Ledger, values: Mapping[CellKey, int], threshold: int) -> History:
    """Compare the exact counts of a new release (``values``) with every release in ``ledger``."""
    found = History(threshold)
    for entry in ledger.entries:
        found.against.append(_against(entry, values, threshold, found.forced))
    return found


def _against(entry: Entry, values: Mapping[CellKey, int], threshold: int, forced: dict[CellKey, str]) -> Against:
    a = Against(entry.run_id, entry.released_at, entry.kind)
    for key, earlier in entry.counts().items():
        if key not in values:
            continue
        a.common += 1
        if earlier is None:
            a.kept += 1
            forced.setdefault(key, KEPT)
            continue
        change = abs(values[key] - earlier)
        if 0 < change < threshold:
            a.changed += 1
            forced[key] = CHANGED
            if (key.unit, key.table, key.population) == MAIN:
                a.main_changed += 1
                a.smallest_main_change = min(a.smallest_main_change or change, change)
    return a


@dataclass(frozen=True)
class LedgerFinding:
    """A cell of a finished bundle that the ledger makes disclosive (named, never its value)."""

    key: CellKey
    run_id: str
    why: str


def bundle_findings(published: Mapping[CellKey, float | None], ledger: Ledger, threshold: int) -> list[LedgerFinding]:
    """From published counts only (None: suppressed): counts whose change since an earlier release is
    shown and smaller than the threshold, and earlier suppressed counts shown again."""
    found = []
    for entry in ledger.entries:
        for key, earlier in entry.counts().items():
            if key not in published or published[key] is None:
                continue
            if earlier is None:
                found.append(LedgerFinding(key, entry.run_id, "suppressed there, shown here"))
            elif 0 < abs(published[key] - earlier) < threshold:
                found.append(LedgerFinding(key, entry.run_id, f"changed by fewer than {threshold} people, shown"))
    return found


def entry_from_release(
    manifest: Mapping[str, Any], releases: list[dict[str, Any]], approver: str, note: str, manifest_sha256: str
) -> Entry:
    """A ledger entry for a bundle: its manifest and every unit's release.json, as published."""
    from kitbag_analysis.sdc.ledger import now

    cells, identities, bounds = [], {}, {}
    for release in releases:
        cells += [
            {k: c[k] for k in ("unit", "table", "population", "row", "column", "measure", "value")}
            for c in release["cells"]
        ]
        for i in release.get("identities", []):
            identities[json_key(i)] = i
        for b in release.get("bounds", []):
            bounds[json_key(b)] = b
    return Entry(
        run_id=manifest["run_id"],
        kind=manifest.get("kind", "report"),
        created_at=manifest.get("created_at", ""),
        released_at=now(),
        approver=approver,
        note=note,
        units=tuple(r["unit"] for r in releases),
        threshold=max(int(r["threshold"]) for r in releases),
        manifest_sha256=manifest_sha256,
        cells=tuple(cells),
        identities=tuple(identities[k] for k in sorted(identities)),
        bounds=tuple(bounds[k] for k in sorted(bounds)),
    )


def json_key(item: Mapping[str, Any]) -> str:
    import json

    return json.dumps(item, sort_keys=True)


__all__ = ["CHANGED", "KEPT", "Against", "History", "LedgerFinding", "bundle_findings", "entry_from_release", "history"]
