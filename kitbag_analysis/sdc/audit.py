"""`kitbag audit DIR`: the attacker's audit re-run on a finished bundle, from what it publishes.

Reads every unit's release.json (the cells as shown, `[c]` where suppressed, and the identities
and orderings among counts), solves each suppressed count's feasible interval by linear
programming and reports any narrower than the study's threshold. Counts of units absent from the
bundle are unknowns like the suppressed ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kitbag_analysis.errors import Finding, UnusableInput
from kitbag_analysis.sdc.attack import Interval, Narrow, Required, audit, feasible_intervals
from kitbag_analysis.sdc.cells import COMPLEMENT, SUPPRESSED, CellKey, complement_key
from kitbag_analysis.sdc.history import LedgerFinding, bundle_findings
from kitbag_analysis.sdc.ledger import Ledger
from kitbag_analysis.sdc.linked import key_from_json
from kitbag_analysis.sdc.policy import exact_keys, policy_from_json

RELEASE = "release.json"


@dataclass(frozen=True)
class BundleAudit:
    """The audit of one bundle: every suppressed count's interval and the narrow ones, and the
    cells the study's ledger makes disclosive (`sdc.history`)."""

    threshold: int
    units: tuple[str, ...]
    intervals: dict[CellKey, Interval]
    narrow: list[Narrow]
    suppressed: int
    ledger: list[LedgerFinding] = field(default_factory=list)
    earlier: tuple[str, ...] = ()  # the run ids of the ledger it was audited against

    @property
    def ok(self) -> bool:
        return not self.narrow and not self.ledger


def read_releases(folder: Path) -> list[dict]:
    files = sorted(folder.glob(f"*/{RELEASE}"))
    if not files:
        raise UnusableInput(f"{folder}: no <unit>/{RELEASE}; is this a report bundle of this tool?")
    try:
        return [json.loads(f.read_text(encoding="utf-8")) for f in files]
    except (OSError, ValueError) as exc:
        raise UnusableInput(f"{folder}: a {RELEASE} is not readable ({exc}).") from None


def audit_bundle(folder: str | Path, ledger: Ledger | None = None) -> BundleAudit:
    """Re-run the audit on the release.json files of a bundle, against the releases of ``ledger``
    (`runs.release.bundle_ledger` finds a bundle's)."""
    releases = read_releases(Path(folder))
    ledger = ledger or Ledger()
    published: dict[CellKey, float | None] = {}
    identities: dict[tuple, tuple[CellKey, tuple[CellKey, ...]]] = {}
    bounds: set[tuple[CellKey, CellKey]] = set()
    for release in releases:
        for cell in release["cells"]:
            if cell["measure"] != "n" or cell["value"] is None:
                continue
            key = CellKey(cell["unit"], cell["table"], cell["population"], cell["row"], cell["column"])
            published[key] = None if cell["value"] == SUPPRESSED else float(cell["value"])
        for identity in release.get("identities", []):
            total = key_from_json(identity["total"])
            parts = tuple(key_from_json(p) for p in identity["parts"])
            identities[(total, parts)] = (total, parts)
        for bound in release.get("bounds", []):
            bounds.add((key_from_json(bound["smaller"]), key_from_json(bound["larger"])))
    threshold = max(int(r["threshold"]) for r in releases)
    policy = policy_from_json(releases[0].get("disclosure"))
    exact = exact_keys(policy, published)
    for small, large in sorted(bounds):  # a shown total minus a shown part is a count too
        if small in published and large in published and not (small in exact and large in exact):
            key = complement_key(small, large)
            identities[(large, (small, key))] = (large, (small, key))
    known = {k: (v if k in exact else None) for k, v in published.items()}
    required = Required(known, list(identities.values()), sorted(bounds), threshold)
    try:
        intervals = feasible_intervals(published, identities.values(), sorted(bounds), enough=threshold)
    except ValueError:
        raise Finding(
            f"{folder}: the published counts contradict their identities: a release.json was changed or "
            "comes from another run (see `kitbag verify`)."
        ) from None
    hidden = {k: iv for k, iv in intervals.items() if published.get(k, 0) is None or k.table == COMPLEMENT}
    return BundleAudit(
        threshold,
        tuple(r["unit"] for r in releases),
        hidden,
        audit(hidden, threshold, required.of(hidden, threshold)),
        sum(k.table != COMPLEMENT for k in hidden),
        bundle_findings(published, ledger, threshold, exact),
        tuple(ledger.run_ids),
    )


__all__ = ["BundleAudit", "audit_bundle", "read_releases"]
