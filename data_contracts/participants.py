"""The three kinds of participant, declared once (study-data.md, "Identifiers" and "Files").

Every map from a participant type to its files is read from here: the contracts' id patterns,
the cross-file links, loading and exclusion, the analysis populations, the privacy commands
(erasure order, export) and the synthetic-study generator.
"""

from __future__ import annotations

from dataclasses import dataclass

TEAM_FILE = "teams"
CONSENT_FILE = "consent"


@dataclass(frozen=True)
class Participant:
    """One kind of participant: its file, id column and prefix, and the files holding its rows."""

    type: str  # the consent register's participant_type: child | practitioner | carer
    population: str  # analysis-plan.md's name for the group: children | practitioners | carers
    file: str  # the participant file (one row per participant, with team_id)
    id_column: str
    prefix: str  # first letter of the pseudonym
    measures: str  # the file of survey waves
    dependents: tuple[str, ...]  # files with rows per participant, linked by id_column
    label: str  # a reader's name for the group

    @property
    def id_pattern(self) -> str:
        """The pseudonym: the prefix and 16 lower-case hex digits (a keyed hash made by the LA)."""
        return rf"^{self.prefix}[0-9a-f]{{16}}$"

    @property
    def files(self) -> tuple[str, ...]:
        """Every file holding this participant's rows: the participant file first."""
        return (self.file, *self.dependents)


PARTICIPANTS: tuple[Participant, ...] = (
    Participant(
        "child",
        "children",
        "children",
        "child_id",
        "C",
        "child_measures",
        ("child_measures", "placements", "missing_episodes", "referrals"),
        "Children",
    ),
    Participant(
        "practitioner",
        "practitioners",
        "practitioners",
        "practitioner_id",
        "P",
        "practitioner_measures",
        ("practitioner_measures", "absence"),
        "Practitioners",
    ),
    Participant("carer", "carers", "carers", "carer_id", "F", "carer_measures", ("carer_measures",), "Carers"),
)

BY_TYPE: dict[str, Participant] = {p.type: p for p in PARTICIPANTS}
BY_POPULATION: dict[str, Participant] = {p.population: p for p in PARTICIPANTS}
BY_FILE: dict[str, Participant] = {name: p for p in PARTICIPANTS for name in p.files}
ID_COLUMNS: tuple[str, ...] = (*(p.id_column for p in PARTICIPANTS), "participant_id")
ANY_ID_PATTERN = rf"^[{''.join(p.prefix for p in PARTICIPANTS)}][0-9a-f]{{16}}$"
# Dependent files before participant files: every intermediate state of a rewrite passes the
# cross-file rules (no measure row points at a participant who is gone).
REWRITE_ORDER: tuple[str, ...] = (
    *(d for p in PARTICIPANTS for d in p.dependents),
    *(p.file for p in PARTICIPANTS),
)
# What tells apart the rows of one participant in a file holding several (a correction names it).
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "child_measures": ("wave",),
    "practitioner_measures": ("wave",),
    "carer_measures": ("wave",),
    "absence": ("month",),
    "placements": ("episode_start",),
    "missing_episodes": ("missing_start",),
    "referrals": ("referral_date",),
}
# (file, column) must exist in (target file, target column): the cross-file links.
LINKS: tuple[tuple[str, str, str, str], ...] = (
    *((p.file, "team_id", TEAM_FILE, "team_id") for p in PARTICIPANTS),
    *((d, p.id_column, p.file, p.id_column) for p in PARTICIPANTS for d in p.dependents),
)

__all__ = [
    "ROW_KEYS",
    "BY_FILE",
    "BY_POPULATION",
    "BY_TYPE",
    "ID_COLUMNS",
    "LINKS",
    "PARTICIPANTS",
    "Participant",
    "REWRITE_ORDER",
]
