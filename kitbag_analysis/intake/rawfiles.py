"""The raw folder an LA hands to `kitbag pseudonymise`: study-data.md's intake table as data,
and reading its files as text (an unreadable file named by file, line and column, never a value).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data_contracts.errors import UnusableInput
from data_contracts.guards import contains_identifier
from data_contracts.reading import plain_text, read_text
from data_contracts.schemas import CONTRACTS


@dataclass(frozen=True)
class RawFile:
    """One raw file of the intake table: what it becomes and how each kept column converts."""

    name: str  # the raw file, e.g. "episodes.csv"
    becomes: str  # the study file (a contract name) it feeds
    id_column: str | None  # the raw id hashed into a pseudonym (None: teams)
    participant: str | None  # its participant type; None with an id column: per row (consent)
    columns: dict[str, str]  # raw column -> study column: every one required
    dates: tuple[str, ...] = ()  # raw columns holding dates (DD/MM/YYYY or ISO), written ISO
    codes: tuple[str, ...] = ()  # raw columns converted by ssda903.CODE_MAPS
    listed: tuple[str, ...] = ()  # further columns of the intake table, read by nobody, dropped
    trial_only: bool = False  # rows of children not on the trial list are dropped (counted)
    month_of: tuple[str, ...] = ()  # date columns cut to YYYY-MM (a date of birth)


def _same(contract: str, *, skip: tuple[str, ...] = (), rename: dict[str, str] | None = None) -> dict[str, str]:
    """Raw column -> study column for a raw file laid out as its study file (ids renamed)."""
    rename = rename or {}
    inverse = {study: raw for raw, study in rename.items()}
    columns = [c for c in CONTRACTS[contract].to_schema().columns if c not in skip]
    return {inverse.get(c, c): c for c in columns}


RAW_FILES: tuple[RawFile, ...] = (
    RawFile(
        "trial_children.csv",
        "children",
        "CHILD",
        "child",
        {
            "CHILD": "child_id",
            "team_id": "team_id",
            "enrolled_on": "enrolled_on",
            "disability": "disability",
            "uasc": "uasc",
            "legal_status": "legal_status",
        },
        dates=("enrolled_on",),
    ),
    RawFile(
        "header.csv",
        "children",
        "CHILD",
        "child",
        {"CHILD": "child_id", "SEX": "gender", "DOB": "birth_year_month", "ETHNIC": "ethnicity"},
        dates=("DOB",),
        codes=("SEX", "ETHNIC"),
        listed=("UPN", "MOTHER", "MC_DOB"),
        trial_only=True,
        month_of=("DOB",),
    ),
    RawFile(
        "episodes.csv",
        "placements",
        "CHILD",
        "child",
        {
            "CHILD": "child_id",
            "DECOM": "episode_start",
            "DEC": "episode_end",
            "RNE": "reason_new_episode",
            "PLACE": "placement_type",
            "LS": "legal_status",
        },
        dates=("DECOM", "DEC"),
        codes=("RNE", "PLACE", "LS"),
        listed=("CIN", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"),
        trial_only=True,
    ),
    RawFile(
        "missing.csv",
        "missing_episodes",
        "CHILD",
        "child",
        {"CHILD": "child_id", "MIS_START": "missing_start", "MIS_END": "missing_end", "MISSING": "missing_type"},
        dates=("MIS_START", "MIS_END"),
        codes=("MISSING",),
        trial_only=True,
    ),
    RawFile(
        "referrals.csv",
        "referrals",
        "LAchildID",
        "child",
        {"LAchildID": "child_id", "CINreferralDate": "referral_date"},
        dates=("CINreferralDate",),
        trial_only=True,
    ),
    RawFile(
        "child_measures.csv",
        "child_measures",
        "CHILD",
        "child",
        _same("child_measures", rename={"CHILD": "child_id"}),
        dates=("assessed_on",),
    ),
    RawFile("teams.csv", "teams", None, None, _same("teams"), dates=("randomised_on",)),
    RawFile(
        "trial_practitioners.csv",
        "practitioners",
        "staff_id",
        "practitioner",
        _same("practitioners", rename={"staff_id": "practitioner_id"}),
    ),
    RawFile(
        "absence.csv", "absence", "staff_id", "practitioner", _same("absence", rename={"staff_id": "practitioner_id"})
    ),
    RawFile("trial_carers.csv", "carers", "carer_ref", "carer", _same("carers", rename={"carer_ref": "carer_id"})),
    RawFile(
        "consent.csv",
        "consent",
        "participant_ref",
        None,
        _same("consent", rename={"participant_ref": "participant_id"}),
        dates=("status_changed_on",),
    ),
)
BY_NAME: dict[str, RawFile] = {f.name: f for f in RAW_FILES}
TRIAL_LIST = "trial_children.csv"
# Study files no raw file feeds: the questionnaires come from `kitbag intake-survey`.
NOT_FED = tuple(name for name in CONTRACTS if name not in {f.becomes for f in RAW_FILES})


def read_raw(path: Path) -> pd.DataFrame:
    """A raw CSV's cells as text (object columns, blank = missing), surrounding spaces kept.

    Raise `UnusableInput` naming the file, line and (where it can) the column of bytes that are
    not UTF-8 or a line with the wrong number of fields; the value is never shown.
    """
    if not path.is_file():
        raise UnusableInput(
            f"{path}: the raw file is missing. Every file of the intake table must be present "
            "(a file may have a header and no rows)."
        )
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnusableInput(_not_utf8(path, raw, exc.start)) from None
    try:
        text = read_text(path)
    except UnusableInput as exc:
        where = _ragged(raw)
        raise UnusableInput(f"{exc} {where}" if where else str(exc)) from None
    text.index = pd.RangeIndex(len(text))
    return plain_text(text)


def _not_utf8(path: Path, raw: bytes, start: int) -> str:
    line_start = raw.rfind(b"\n", 0, start) + 1
    line = raw.count(b"\n", 0, start) + 1
    header = next(csv.reader([raw.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r")]))
    before = raw[line_start:start].decode("utf-8", "replace")
    field = len(next(csv.reader([before]), [""])) - 1 if before else 0
    column = f"column {_name(header[field])}" if line > 1 and field < len(header) else "the header row"
    row = f"row {line - 1}" if line > 1 else "line 1"
    return (
        f"{path}: {column}, {row} (line {line}, byte {start}) is not UTF-8 text. Re-export the file as UTF-8 CSV; "
        "the workbench does not guess encodings."
    )


def _ragged(raw: bytes) -> str:
    """Where a CSV's first line of the wrong width is, and the column it runs past or stops at."""
    rows = csv.reader(io.StringIO(raw.decode("utf-8").lstrip("\ufeff"), newline=""))
    header = next(rows, [])
    for number, row in enumerate(rows, start=1):
        if row and len(row) != len(header):
            if len(row) > len(header):
                return f"Row {number} has {len(row)} fields: it runs past the last column ({_name(header[-1])})."
            return f"Row {number} has {len(row)} fields: it stops before column {_name(header[len(row)])}."
    return ""


def _name(column: str) -> str:
    """A column's name as a message shows it: withheld when it looks like personal data."""
    return "(a name that looks like personal data)" if contains_identifier(column) else column
