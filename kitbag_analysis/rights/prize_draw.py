"""The survey prize draw (privacy.md): winners drawn reproducibly, then the email list deleted.

The folder is the one `kitbag intake-survey --prize-draw DIR` fills: ``entrants.csv`` (emails
only) and ``prize_draw.json`` (the study's name and `prize_draw_closes`, which is how the draw
knows its date). The draw is refused on or before the closing day (entries are taken to the end
of it). Entrants are put in a canonical order (each address once, sorted) and
``numpy.random.default_rng(seed).choice(n, winners, replace=False)`` picks them, so the same list
and seed give the same winners. The winners are handed to ``announce`` (the CLI prints them, once)
and the list is then deleted with every copy of it in the folder: each file's bytes are
overwritten with zeros, fsynced, and only then unlinked (`atomic.overwrite_and_unlink` says what that
does and does not guarantee). ``prize_draw_log.json`` holds counts, the seed and dates only.

Write-ahead: the log is written ("started", with the seed) before the winners are announced and
completed after the deletion, so a draw stopped in between is finished by running it again with
the same seed (the same winners are announced again); another seed is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_contracts import Finding, UnusableInput
from data_contracts.guards import SEARCHERS
from kitbag_analysis import atomic
from kitbag_analysis.intake.survey import DRAW_LOG, ENTRANTS_FILE, MARKER_FILE, read_entrants
from kitbag_analysis.rights.journal import Journal

METHOD = "numpy.random.default_rng(seed).choice over the entrants (each address once, sorted), without replacement"
_EMAIL = SEARCHERS["email address"]


@dataclass(frozen=True)
class DrawOutcome:
    """What a draw did (the winners themselves are only ever handed to ``announce``)."""

    entrants: int
    winners: int
    seed: int
    drawn_on: dt.date
    files_deleted: int
    log: Path


def draw(entrants: Sequence[str], winners: int, seed: int) -> list[str]:
    """The winners, in the order drawn: reproducible for the same entrants (in any order) and seed."""
    canonical = sorted(set(entrants))
    if not 1 <= winners <= len(canonical):
        raise UnusableInput(f"--winners must be between 1 and the number of entrants ({len(canonical)}).")
    picks = np.random.default_rng(seed).choice(len(canonical), size=winners, replace=False)
    return [canonical[i] for i in picks]


def copies(draw_dir: Path) -> list[Path]:
    """The entrants list and every copy or temporary file of it in the folder (hidden ones too)."""
    return sorted(p for p in draw_dir.rglob("*") if p.is_file() and "entrants" in p.name.casefold())


def prize_draw(
    draw_dir: str | Path,
    winners: int,
    seed: int,
    announce: Callable[[list[str]], None],
    today: dt.date | None = None,
) -> DrawOutcome:
    """Draw ``winners`` from ``draw_dir``'s entrants, hand them to ``announce``, delete the list and
    every copy of it, and log counts, the seed and the date (never an email)."""
    draw_dir = Path(draw_dir)
    today = today or dt.date.today()
    marker_path = draw_dir / MARKER_FILE
    marker = json.loads(marker_path.read_text(encoding="utf-8")) if marker_path.is_file() else None
    if marker is None:
        raise UnusableInput(
            f"{draw_dir}: not a prize-draw folder (no {MARKER_FILE}, written by `kitbag intake-survey`)."
        )
    closes = dt.date.fromisoformat(marker["prize_draw_closes"])
    if today <= closes:
        raise Finding(
            f"{draw_dir}: the prize draw closes on {closes} (study.toml [retention] prize_draw_closes) and takes "
            f"entries to the end of that day; draw from {closes + dt.timedelta(days=1)} on. Nothing was changed."
        )
    journal = Journal(draw_dir, DRAW_LOG)  # the same write-ahead journal as erase and rectify
    log_path = journal.path
    entries = journal.entries()
    entry = entries[-1] if entries else None
    if entry and entry["status"] == "completed":
        raise Finding(f"{draw_dir}: the draw was made on {entry['drawn_on']} and its list deleted; see {DRAW_LOG}.")
    if entry and entry["seed"] != seed:
        raise UnusableInput(
            f"{draw_dir}: a draw begun on {entry['drawn_on']} with another seed was interrupted; finish it with "
            "the seed it logged (the same winners are drawn again)."
        )
    path = draw_dir / ENTRANTS_FILE
    if path.exists():
        entrants = read_entrants(path)
        chosen = draw(list(entrants), winners, seed)
        if entry is None:
            entry = journal.begin(
                {
                    "drawn_on": today.isoformat(),
                    "prize_draw_closes": closes.isoformat(),
                    "seed": seed,
                    "entrants": len(entrants),
                    "winners": winners,
                    "method": METHOD,
                    "numpy": np.__version__,
                }
            )
        announce(chosen)
    elif entry is None:
        raise UnusableInput(f"{draw_dir}: has no {ENTRANTS_FILE}: no one entered the draw.")
    deleted = copies(draw_dir)
    for leftover in deleted:
        atomic.overwrite_and_unlink(leftover)
    entry = journal.complete(entry, "completed_at", files_deleted=len(deleted))
    _no_email_left(draw_dir)
    return DrawOutcome(
        entry["entrants"], entry["winners"], seed, dt.date.fromisoformat(entry["drawn_on"]), len(deleted), log_path
    )


def _no_email_left(draw_dir: Path) -> None:
    """Every file left in the folder is scanned: one still holding an email address is named."""
    held = [p for p in sorted(draw_dir.rglob("*")) if p.is_file() and _EMAIL.search(p.read_bytes().decode("latin-1"))]
    if held:
        names = ", ".join(str(p.relative_to(draw_dir)) for p in held)
        raise Finding(
            f"{draw_dir}: the draw was made and the entrants list deleted, but {len(held)} other file(s) still hold "
            f"an email address ({names}); they are not the workbench's, so delete them yourself."
        )


__all__ = ["DrawOutcome", "copies", "draw", "prize_draw"]
