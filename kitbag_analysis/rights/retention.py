"""Retention (privacy.md): every category of the privacy notice with its clock.

| category | clock starts | kept until |
|---|---|---|
| interview recordings and transcripts (held by the vendor) | `[retention] transcripts_delivered` | 7 days after |
| prize-draw email list (the prize-draw folder) | `[retention] prize_draw_closes` | the draw, made after closing |
| primary data (the study folder) | `[study] final_collection` | 12 months after |
| pseudonymised archive (ONS Secure Research Service) | `kitbag archive` | indefinitely |

A clock is *due* once its date has passed. Only data the workbench can see make `kitbag
retention` exit 1: the study folder past its 12 months, and a prize-draw folder (given with
``--prize-draw``) still holding its list after the closing date. The vendor's deletion of
transcripts cannot be seen from here: it is reported, to be confirmed with the vendor.
The workbench's own logs (erasure, rectification, release ledger, prize-draw log) hold aggregates
only (counts, hashes, published cells, the seed), never an id, value or email: they are kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from data_contracts import CONTRACTS
from data_contracts.reading import locate
from kitbag_analysis.intake.survey import DRAW_LOG, ENTRANTS_FILE, MARKER_FILE
from kitbag_analysis.study.load import load_study

TRANSCRIPT_DAYS = 7
LOGS = {
    "erasure_log.json": "counts and file hashes of each erasure (never ids)",
    "rectification_log.json": "counts and file hashes of each correction (never values or ids)",
    "release_ledger.json": "every published cell as published, per release (aggregates only)",
    DRAW_LOG: "the prize draw's counts, seed and date (in the prize-draw folder; never an email)",
}
LOGS_FATE = (
    "kept: they hold aggregates only and are the record that each erasure, correction, release and draw "
    "happened; when the primary data are deleted, keep them with the archive manifest"
)


@dataclass(frozen=True)
class Clock:
    """One category's retention clock on a given day."""

    category: str
    starts: str  # what starts the clock, with its date
    rule: str
    due: dt.date | None  # None: not set, or kept indefinitely
    status: str  # kept | due | done | not set | indefinite
    action: str
    finding: bool = False  # due, on data the workbench holds: the command exits 1


@dataclass(frozen=True)
class RetentionReport:
    """Every clock of the study on ``today``, the primary files and the logs."""

    today: dt.date
    clocks: tuple[Clock, ...]
    primary_data: tuple[tuple[str, int], ...]  # (file, rows)
    logs: tuple[tuple[str, bool, str], ...]  # (name, present, what it holds)

    @property
    def findings(self) -> tuple[Clock, ...]:
        return tuple(c for c in self.clocks if c.finding)

    @property
    def primary(self) -> Clock:
        return next(c for c in self.clocks if c.category.startswith("primary"))


def retention_due(final_collection: dt.date) -> dt.date:
    """Twelve months after the final collection (29 February becomes 28 February)."""
    try:
        return final_collection.replace(year=final_collection.year + 1)
    except ValueError:
        return final_collection.replace(year=final_collection.year + 1, day=28)


def transcripts_clock(delivered: dt.date | None, today: dt.date) -> Clock:
    rule = f"the vendor deletes recordings and transcripts {TRANSCRIPT_DAYS} days after delivery"
    category = "interview recordings and transcripts (vendor)"
    if delivered is None:
        return Clock(
            category,
            "transcripts_delivered: not set",
            rule,
            None,
            "not set",
            "set [retention] transcripts_delivered in study.toml once the vendor delivers",
        )
    due = delivered + dt.timedelta(days=TRANSCRIPT_DAYS)
    if today <= due:
        return Clock(category, f"transcripts_delivered {delivered}", rule, due, "kept", f"the vendor deletes by {due}")
    return Clock(
        category,
        f"transcripts_delivered {delivered}",
        rule,
        due,
        "due",
        "confirm with the vendor that recordings and transcripts were deleted (not visible from here)",
    )


def prize_draw_clock(closes: dt.date | None, today: dt.date, draw_dir: Path | None) -> Clock:
    rule = "the email list is deleted once the winners are drawn, after the draw closes"
    category = "prize-draw email list"
    if closes is None:
        return Clock(
            category,
            "prize_draw_closes: not set",
            rule,
            None,
            "not set",
            "set [retention] prize_draw_closes before any emails are taken in",
        )
    starts = f"prize_draw_closes {closes}"
    if draw_dir is not None and (draw_dir / DRAW_LOG).exists() and not (draw_dir / ENTRANTS_FILE).exists():
        return Clock(category, starts, rule, closes, "done", f"drawn and deleted (see {draw_dir / DRAW_LOG})")
    if today <= closes:
        return Clock(category, starts, rule, closes, "kept", f"kept until the draw, from {closes} + 1 day")
    if draw_dir is None:
        return Clock(
            category,
            starts,
            rule,
            closes,
            "due",
            "run `kitbag prize-draw DIR` (give --prize-draw DIR to check a folder)",
        )
    held = (draw_dir / ENTRANTS_FILE).exists() or (draw_dir / MARKER_FILE).exists()
    if not held:
        return Clock(category, starts, rule, closes, "done", f"no prize-draw list in {draw_dir}")
    return Clock(
        category,
        starts,
        rule,
        closes,
        "due",
        f"run `kitbag prize-draw {draw_dir}`: the list is still held",
        finding=(draw_dir / ENTRANTS_FILE).exists(),
    )


def retention(
    study_dir: str | Path, today: dt.date | None = None, draw_dir: str | Path | None = None
) -> RetentionReport:
    """Every category's clock for a (valid) study folder on ``today`` (default: today)."""
    study = load_study(study_dir, apply_exclusions_=False)
    today = today or dt.date.today()
    settings = study.settings
    final = settings.final_collection
    due = retention_due(final)
    past = today > due
    primary = Clock(
        "primary data (the study folder)",
        f"final_collection {final}",
        "kept 12 months after the final collection point",
        due,
        "due" if past else "kept",
        "delete the study folder, after `kitbag archive` has made the reduced copy" if past else f"kept until {due}",
        finding=past,
    )
    archive = Clock(
        "pseudonymised archive (ONS Secure Research Service)",
        "kitbag archive",
        "kept indefinitely, reduced to what stays useful",
        None,
        "indefinite",
        "nothing to delete",
    )
    clocks = (
        transcripts_clock(settings.retention.transcripts_delivered, today),
        prize_draw_clock(settings.retention.prize_draw_closes, today, Path(draw_dir) if draw_dir else None),
        primary,
        archive,
    )
    files = tuple((locate(study.path, n).name, len(study[n])) for n in CONTRACTS)
    where = {name: (Path(draw_dir) if name == DRAW_LOG and draw_dir else study.path) / name for name in LOGS}
    logs = tuple((name, where[name].exists(), held) for name, held in LOGS.items())
    return RetentionReport(today, clocks, files, logs)


__all__ = ["LOGS", "LOGS_FATE", "Clock", "RetentionReport", "retention", "retention_due"]
