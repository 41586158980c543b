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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from data_contracts.participants import BY_TYPE
from kitbag_analysis.analysis.names import EFFECTIVENESS
from kitbag_analysis.errors import NoSafePattern, ReleaseRefused
from kitbag_analysis.sdc.cells import COMPLEMENT, CellKey
from kitbag_analysis.sdc.ledger import Entry, Ledger
from kitbag_analysis.sdc.linked import LinkedSet
from kitbag_analysis.sdc.monitoring import report_equivalents
from kitbag_analysis.sdc.pattern import Pattern, suppression_pattern
from kitbag_analysis.study.units import ALL

CHANGED = "changed by fewer than the threshold since an earlier release"
KEPT = "suppressed in an earlier release"
BREAKDOWN = "a category of a count that changed by fewer than the threshold since an earlier release"
# The main results of a release: the pooled trial's models of the children's outcomes. A release
# that would have to hide every one of them because their counts changed by too few people is
# refused rather than published; a model so affected is otherwise withheld ("a count it rests on
# is suppressed") and the others are shown.
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
    moved: set[CellKey] = field(default_factory=set)  # exact counts changed by too few people (shown)
    against: list[Against] = field(default_factory=list)
    main: frozenset[str] = frozenset()  # the pooled children's outcomes this release can show
    main_hidden: set[str] = field(default_factory=set)  # those the ledger hides (counts changed too little)

    @property
    def seen(self) -> list[str]:
        return [a.run_id for a in self.against]

    def refusal(self) -> str | None:
        """Why the release cannot be made (None when it can): every one of the pooled trial's results
        for children would be hidden because its counts changed by too few people. Says how many
        people changed since which release, never who."""
        if not self.main or not self.main <= self.main_hidden:
            return None
        since = [a for a in self.against if a.main_changed]
        fewest = min(a.smallest_main_change for a in since)
        return (
            f"since release {', '.join(f'{a.run_id} (released {a.released_at[:10]})' for a in since)}, the counts "
            f"behind every one of the pooled trial's results for children changed by fewer than the threshold of "
            f"{self.threshold} people (as few as {_people(fewest)}): a reader holding both releases could learn "
            f"about the people who changed. A release can be made once at least {self.threshold} people have "
            "changed since then (withdrawn, erased, corrected or late data)"
        )

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


def history(
    ledger: Ledger, values: Mapping[CellKey, int], threshold: int, exact: frozenset[CellKey] = frozenset()
) -> History:
    """Compare the exact counts of a new release (``values``) with every release in ``ledger``.
    A count published exactly (``exact``: the policy's trial-process counts) that changed by too few
    people stays shown — it says only that people joined or left — but is *moved*: nothing built on
    it is shown (`sdc.rules.Publisher.derived`). One suppressed in an earlier release stays
    suppressed, exact or not."""
    found = History(threshold, main=frozenset(k.row for k in values if (k.unit, k.table, k.population) == MAIN))
    for entry in ledger.entries:
        found.against.append(_against(entry, values, threshold, found.forced, found.moved, exact))
    found.moved -= found.forced.keys()
    found.main_hidden = {
        k.row
        for k in [k for k, why in found.forced.items() if why == CHANGED] + sorted(found.moved)
        if (k.unit, k.table, k.population) == MAIN
    }
    return found


def twins(earlier: Mapping[CellKey, object], current: Mapping[CellKey, object]) -> Iterator[tuple[tuple, tuple]]:
    """(current keys, earlier keys) whose sums count the same people at two times: the same count,
    or a monitoring count and the report counts it equals by definition (`report_equivalents`)."""
    for key in earlier:
        if key in current:
            yield (key,), (key,)
        elif (parts := report_equivalents(key)) and all(p in current for p in parts):
            yield parts, (key,)
    for key in current:
        if key not in earlier and (parts := report_equivalents(key)) and all(p in earlier for p in parts):
            yield (key,), parts


def _against(
    entry: Entry,
    values: Mapping[CellKey, int],
    threshold: int,
    forced: dict[CellKey, str],
    moved: set[CellKey],
    exact: frozenset[CellKey],
) -> Against:
    a = Against(entry.run_id, entry.released_at, entry.kind)
    earlier_counts = entry.counts()
    for now, then in twins(earlier_counts, values):
        a.common += 1
        earlier = [earlier_counts[k] for k in then]
        if None in earlier:
            a.kept += 1
            for key in now:
                forced.setdefault(key, KEPT)
            continue
        change = abs(sum(values[k] for k in now) - sum(earlier))
        if 0 < change < threshold:
            a.changed += 1
            if all(k in exact for k in now):
                moved.update(now)
            else:
                forced.update(dict.fromkeys(now, CHANGED))
            if any((k.unit, k.table, k.population) == MAIN for k in now):
                a.main_changed += 1
                a.smallest_main_change = min(a.smallest_main_change or change, change)
    return a


@dataclass(frozen=True)
class LedgerFinding:
    """A cell of a finished bundle that the ledger makes disclosive (named, never its value)."""

    key: CellKey
    run_id: str
    why: str


def bundle_findings(
    published: Mapping[CellKey, float | None],
    ledger: Ledger,
    threshold: int,
    exact: frozenset[CellKey] = frozenset(),
) -> list[LedgerFinding]:
    """From published counts only (None: suppressed): counts whose change since an earlier release is
    shown and smaller than the threshold (a count the policy publishes exactly, ``exact``, may
    change: that someone joined or left is all it says), and earlier suppressed counts shown again."""
    found = []
    for entry in ledger.entries:
        earlier_counts = entry.counts()
        for now, then in twins(earlier_counts, published):
            shown = [published[k] for k in now]
            if None in shown:
                continue
            earlier = [earlier_counts[k] for k in then]
            if None in earlier:
                found.append(LedgerFinding(now[0], entry.run_id, "suppressed there, shown here"))
            elif 0 < abs(sum(shown) - sum(earlier)) < threshold and not all(k in exact for k in now):
                found.append(LedgerFinding(now[0], entry.run_id, f"changed by fewer than {threshold} people, shown"))
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
        disclosure=dict(releases[0].get("disclosure") or {}) if releases else {},
    )


def json_key(item: Mapping[str, Any]) -> str:
    import json

    return json.dumps(item, sort_keys=True)


def pattern_over_time(linked: LinkedSet, threshold: int, ledger: Ledger, what: str = "report") -> Pattern:
    """The study's suppression pattern for a new release, protected against every release in
    ``ledger`` (refused, naming how many people changed since which release, never who, where it
    cannot be). Its `Pattern.history` says what each earlier release asked and `ledger_cost` what
    that cost (cells suppressed beyond the pattern without the ledger)."""
    past = history(ledger, linked.values, threshold, linked.exact)
    _protect_breakdowns(linked, past)
    refusal = past.refusal()
    if refusal:
        raise ReleaseRefused(f"the release is refused: {refusal}. No {what} was written.")
    try:
        pattern = suppression_pattern(linked, threshold, forced=frozenset(past.forced))
    except NoSafePattern:
        # the cell that could not be protected is not named: a page must never say which cell it hides
        why = past.unprotectable() if past.forced else "disclosure control found no safe suppression pattern"
        raise ReleaseRefused(f"the release is refused: {why}. No {what} was written.") from None
    cost = _ledger_cost(linked, pattern) if past.forced else None
    return replace(pattern, linked=linked, history=past, ledger_cost=cost, moved=frozenset(past.moved))


def _protect_breakdowns(linked: LinkedSet, past: History) -> None:
    """Where an exact count moved by too few people (one child withdrew from a team's arm), a
    category of a characteristic left unchanged and shown would tell the holder of both releases
    that the leaver was not in it: every category summing to that count is suppressed with the
    ones that changed (`BREAKDOWN`), so the change cannot be placed."""
    exact = linked.exact
    for identity in linked.identities:
        if identity.total in past.moved:
            for part in identity.parts:
                if part not in exact and part.table != COMPLEMENT:
                    past.forced.setdefault(part, BREAKDOWN)


def _ledger_cost(linked: LinkedSet, pattern: Pattern) -> int:
    """What the ledger costs, without solving the programme again: its own cells, and the
    secondary cells that share an identity with one of them (their protection)."""
    partners = {
        key
        for identity in linked.identities
        if pattern.ledger.intersection(identity.cells)
        for key in identity.cells
        if key in pattern.secondary
    }
    return len(pattern.ledger) + len(partners)


__all__ = [
    "CHANGED",
    "KEPT",
    "Against",
    "History",
    "LedgerFinding",
    "bundle_findings",
    "entry_from_release",
    "history",
    "pattern_over_time",
]
