"""One pandera `DataFrameModel` per file of study-data.md: the executable data dictionary.

Fields are the columns, with their checks beside them; cross-column rules within one file are
`row_rule` methods whose docstring states the rule in words (it is what `kitbag docs` prints).
Rules that span files live in `crossfile.py`; identifier-shaped privacy guards in `guards.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import ArrowString as Text
from pandera.typing import Series

from data_contracts.ages import age_in_years
from data_contracts.instruments import MEASURE_INSTRUMENTS, Instrument
from data_contracts.participants import ANY_ID_PATTERN, BY_TYPE, PARTICIPANTS, Participant

# --- identifiers and code lists (study-data.md) -------------------------------------------
TEAM_ID = r"^[A-Z]{3}-T\d{2,3}$"
CHILD_ID = BY_TYPE["child"].id_pattern
PRACTITIONER_ID = BY_TYPE["practitioner"].id_pattern
CARER_ID = BY_TYPE["carer"].id_pattern
ANY_PARTICIPANT_ID = ANY_ID_PATTERN
YEAR_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
YEAR = r"^\d{4}$"
LA_SLUG = r"^[a-z][a-z0-9_-]*$"

ARMS = ["kitbag", "control"]
WAVES = ["baseline", "followup"]
GENDERS = ["female", "male", "other", "not_recorded"]
ETHNICITIES = [
    "WBRI",
    "WIRI",
    "WIRT",
    "WOTH",
    "WROM",
    "MWBC",
    "MWBA",
    "MWAS",
    "MOTH",
    "AIND",
    "APKN",
    "ABAN",
    "AOTH",
    "BCRB",
    "BAFR",
    "BOTH",
    "CHNE",
    "OOTH",
    "REFU",
    "NOBT",
]
YES_NO = ["yes", "no"]
DISABILITY = ["yes", "no", "not_recorded"]
CHILD_LEGAL_STATUS = ["cin", "cp", "cla", "care_leaver"]
INFORMANTS = ["carer", "practitioner", "self"]
REASON_NEW_EPISODE = ["S", "L", "P", "T", "U", "B"]
PLACEMENT_TYPE = r"^[A-Z]\d$"
SSDA903_LEGAL_STATUS = [
    "C1",
    "C2",
    "D1",
    "E1",
    "J1",
    "J2",
    "J3",
    "L1",
    "L2",
    "L3",
    "V2",
    "V3",
    "V4",
]
MISSING_TYPES = ["M", "A"]
ROLES = ["social_worker", "family_support_worker"]
# kitbag_use: code -> the survey's answer label; a blank answer is not_asked (the Field's metadata)
KITBAG_USE_LABELS = {"never": "Never", "rarely": "Rarely", "sometimes": "Sometimes", "often": "Often"}
KITBAG_USE = [*KITBAG_USE_LABELS, "not_asked"]
CARER_TYPES = ["foster", "kinship"]
PARTICIPANT_TYPES = [p.type for p in PARTICIPANTS]
CONSENT_STATUSES = ["withdrawn", "objected", "restricted", "active"]
ID_PREFIX = {p.type: p.prefix for p in PARTICIPANTS}

# Which column a row rule is reported against (pandera reports frame-level checks without one),
# keyed by the rule's qualified name ("Class.rule").
RULE_COLUMNS: dict[str, str] = {}


def rule_column(model: type, rule: str) -> str | None:
    """The column a model's row rule ``rule`` is reported against (None if not a row rule)."""
    for cls in model.__mro__:
        column = RULE_COLUMNS.get(f"{cls.__name__}.{rule}")
        if column is not None:
            return column
    return None


def row_rule(column: str, *needs: str) -> Callable:
    """Declare a within-file, cross-column rule that marks each failing row.

    The rule is reported against ``column``; it is skipped (passes) when a column it needs is
    absent, because the missing column is itself reported.
    """

    def decorate(fn: Callable[[type, pd.DataFrame], pd.Series]) -> classmethod:
        RULE_COLUMNS[fn.__qualname__] = column

        @functools.wraps(fn)
        def check(cls: type, df: pd.DataFrame) -> pd.Series:
            if any(c not in df.columns for c in (column, *needs)):
                return pd.Series(True, index=df.index)
            return fn(cls, df).fillna(True).astype(bool)

        return pa.dataframe_check(check)

    return decorate


def _date(description: str, nullable: bool = False) -> object:
    return pa.Field(nullable=nullable, description=description)


def _followup_after_baseline(df: pd.DataFrame, id_col: str, date_col: str) -> pd.Series:
    """True unless the row is a follow-up dated on or before the same id's baseline."""
    codes, uniques = pd.factorize(df[id_col])
    dates = df[date_col].to_numpy(dtype="datetime64[ns]")
    is_base = (df["wave"] == "baseline").to_numpy(dtype=bool, na_value=False)
    base = np.full(len(uniques) + 1, np.datetime64("NaT"), dtype="datetime64[ns]")
    base[codes[is_base]] = dates[is_base]  # codes -1 (blank id) land in the spare last slot
    followup = (df["wave"] == "followup").to_numpy(dtype=bool, na_value=False)
    bad = followup & (dates <= base[codes])
    return pd.Series(~bad, index=df.index)


class _Contract(pa.DataFrameModel):
    class Config:
        strict = True  # a column outside study-data.md is refused (data minimisation)
        coerce = False  # types are parsed before validation (data_contracts.reading)


# --- files ------------------------------------------------------------------------------------
class Teams(_Contract):
    """teams.csv: one row per randomised team."""

    team_id: Series[Text] = pa.Field(str_matches=TEAM_ID, unique=True, description="team")
    local_authority: Series[Text] = pa.Field(
        str_matches=LA_SLUG, description="a slug from study.toml [local_authorities]"
    )
    arm: Series[Text] = pa.Field(isin=ARMS, description="randomised arm")
    randomised_on: Series[pa.DateTime] = _date("date the team was randomised")


class Children(_Contract):
    """children.csv: one row per child."""

    child_id: Series[Text] = pa.Field(str_matches=CHILD_ID, unique=True, description="child")
    team_id: Series[Text] = pa.Field(str_matches=TEAM_ID, description="team at randomisation (defines the arm)")
    birth_year_month: Series[Text] = pa.Field(
        str_matches=YEAR_MONTH, description="year and month of birth, YYYY-MM (never a full date)"
    )
    gender: Series[Text] = pa.Field(isin=GENDERS)
    ethnicity: Series[Text] = pa.Field(isin=ETHNICITIES, description="DfE 4-letter code")
    disability: Series[Text] = pa.Field(isin=DISABILITY)
    uasc: Series[Text] = pa.Field(isin=YES_NO, description="unaccompanied asylum-seeking child")
    legal_status: Series[Text] = pa.Field(isin=CHILD_LEGAL_STATUS)
    enrolled_on: Series[pa.DateTime] = _date("date the child entered the study")

    @row_rule("birth_year_month", "enrolled_on")
    def age_at_enrolment_0_to_25(cls, df: pd.DataFrame) -> pd.Series:
        """Age in completed years at `enrolled_on` (born on the 1st of the birth month) is 0–25."""
        age = age_in_years(df["birth_year_month"], df["enrolled_on"])
        return age.isna() | age.between(0, 25)


def _with_items(name: str, base: type, instruments: tuple[Instrument, ...], doc: str) -> type:
    """Add every item column of ``instruments`` (read from their declaration) to ``base``."""
    annotations: dict[str, object] = {}
    fields: dict[str, object] = {"__doc__": doc, "__annotations__": annotations}
    for inst in instruments:
        for item, col in enumerate(inst.columns, start=1):
            reverse = " (reverse-scored)" if item in inst.reverse else ""
            annotations[col] = Series[pd.Int64Dtype]
            fields[col] = pa.Field(
                isin=list(inst.allowed),
                nullable=True,
                description=f"{inst.title}, item {item}{reverse}",
            )
    return type(name, (base,), fields)


def _measures_contract(name: str, participant: Participant, date_col: str, doc: str, **extra: object) -> type:
    """The contract of a measures file: the participant's id, the wave and its date (one row per
    id and wave, follow-up dated after baseline), ``extra`` columns, then every item column of
    the file's instruments."""
    id_col = participant.id_column

    def followup_after_baseline(cls: type, df: pd.DataFrame) -> pd.Series:
        return _followup_after_baseline(df, id_col, date_col)

    base_name = f"_{name}Base"
    followup_after_baseline.__doc__ = f"A {participant.type}'s follow-up is dated later than their baseline."
    followup_after_baseline.__qualname__ = f"{base_name}.followup_after_baseline"
    annotations = {id_col: Series[Text], "wave": Series[Text], date_col: Series[pa.DateTime]}
    fields: dict[str, object] = {
        id_col: pa.Field(str_matches=participant.id_pattern, description=participant.type),
        "wave": pa.Field(isin=WAVES),
        date_col: _date("date the measure was taken"),
        "Config": type("Config", (), {"unique": [id_col, "wave"]}),
        "followup_after_baseline": row_rule(date_col, id_col, "wave")(followup_after_baseline),
    }
    for column, spec in extra.items():
        codes, metadata = spec if isinstance(spec, tuple) else (spec, None)
        annotations[column] = Series[Text]
        fields[column] = pa.Field(isin=codes, metadata=metadata)
    base = type(base_name, (_Contract,), {"__annotations__": annotations, **fields})
    return _with_items(name, base, MEASURE_INSTRUMENTS[participant.measures], doc)


ChildMeasures = _measures_contract(
    "ChildMeasures",
    BY_TYPE["child"],
    "assessed_on",
    "child_measures.csv: one row per child per wave (SDQ and CRIES-8 items; items may be blank).",
    informant=INFORMANTS,
)
PractitionerMeasures = _measures_contract(
    "PractitionerMeasures",
    BY_TYPE["practitioner"],
    "completed_on",
    "practitioner_measures.csv: one row per practitioner per wave (GSE and PSS-10 items).",
    kitbag_use=(KITBAG_USE, {"labels": KITBAG_USE_LABELS, "blank": "not_asked"}),
)
CarerMeasures = _measures_contract(
    "CarerMeasures",
    BY_TYPE["carer"],
    "completed_on",
    "carer_measures.csv: one row per carer per wave (GSE items).",
    kitbag_use=(KITBAG_USE, {"labels": KITBAG_USE_LABELS, "blank": "not_asked"}),
)


class Placements(_Contract):
    """placements.csv: one row per SSDA903-style care episode."""

    child_id: Series[Text] = pa.Field(str_matches=CHILD_ID)
    episode_start: Series[pa.DateTime] = _date("first day of the episode")
    episode_end: Series[pa.DateTime] = _date("last day of the episode; blank = still open", True)
    reason_new_episode: Series[Text] = pa.Field(
        isin=REASON_NEW_EPISODE, description="SSDA903 reason for new episode (RNE)"
    )
    placement_type: Series[Text] = pa.Field(
        str_matches=PLACEMENT_TYPE, description="SSDA903 placement type (PLACE), e.g. U1"
    )
    legal_status: Series[Text] = pa.Field(isin=SSDA903_LEGAL_STATUS, description="SSDA903 legal status (LS)")

    @row_rule("episode_end", "episode_start")
    def episode_end_not_before_start(cls, df: pd.DataFrame) -> pd.Series:
        """`episode_end` is on or after `episode_start`."""
        return df["episode_end"].isna() | (df["episode_end"] >= df["episode_start"])

    @row_rule("episode_start", "child_id", "episode_end")
    def episodes_do_not_overlap(cls, df: pd.DataFrame) -> pd.Series:
        """A child's episodes do not overlap: each starts on or after the day the last one ended."""
        prev_end = _previous_episode_end(df)
        start = df["episode_start"].to_numpy(dtype="datetime64[ns]").view("int64")
        return pd.Series(start >= prev_end.to_numpy(), index=df.index)

    @row_rule("episode_end", "child_id", "episode_start")
    def only_latest_episode_open(cls, df: pd.DataFrame) -> pd.Series:
        """Only a child's latest episode (by `episode_start`) may be open."""
        order, codes = _episode_order(df)
        c = codes[order]
        is_last = np.r_[c[1:] != c[:-1], True]
        ok = np.empty(len(df), dtype=bool)
        ok[order] = df["episode_end"].notna().to_numpy()[order] | is_last
        return pd.Series(ok, index=df.index)


_LAST_ORDER: list = [None, None]  # (frame, result): both episode rules sort the same frame


def _episode_order(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions sorting episodes by child, start, end (open last), and the child codes."""
    if _LAST_ORDER[0] is df:
        return _LAST_ORDER[1]
    codes = pd.factorize(df["child_id"])[0]
    start = df["episode_start"].to_numpy(dtype="datetime64[ns]").view("int64")
    result = np.lexsort((_end_or_open(df), start, codes)), codes
    _LAST_ORDER[:] = [df, result]
    return result


def _end_or_open(df: pd.DataFrame) -> np.ndarray:
    """Episode ends as int64 nanoseconds, an open episode as the largest value."""
    end = df["episode_end"].to_numpy(dtype="datetime64[ns]")
    return np.where(np.isnat(end), np.iinfo(np.int64).max, end.view("int64"))


def _previous_episode_end(df: pd.DataFrame) -> pd.Series:
    """For each episode, the end (int64 ns) of the same child's previous episode: the largest
    int64 if that one is open, the smallest if there is none."""
    order, codes = _episode_order(df)
    end = _end_or_open(df)[order]
    same_child = np.r_[False, codes[order][1:] == codes[order][:-1]]
    prev = np.where(same_child, np.r_[np.iinfo(np.int64).min, end[:-1]], np.iinfo(np.int64).min)
    out = np.empty(len(df), dtype=np.int64)
    out[order] = prev
    return pd.Series(out, index=df.index)


class MissingEpisodes(_Contract):
    """missing_episodes.csv: one row per missing / away episode."""

    child_id: Series[Text] = pa.Field(str_matches=CHILD_ID)
    missing_start: Series[pa.DateTime] = _date("first day missing or away")
    missing_end: Series[pa.DateTime] = _date("day of return; blank = not yet returned", True)
    missing_type: Series[Text] = pa.Field(isin=MISSING_TYPES, description="M missing, A away without authorisation")

    @row_rule("missing_end", "missing_start")
    def missing_end_not_before_start(cls, df: pd.DataFrame) -> pd.Series:
        """`missing_end` is on or after `missing_start`."""
        return df["missing_end"].isna() | (df["missing_end"] >= df["missing_start"])


class Referrals(_Contract):
    """referrals.csv: one row per referral to children's social care."""

    child_id: Series[Text] = pa.Field(str_matches=CHILD_ID)
    referral_date: Series[pa.DateTime] = _date("date of the referral")


class Practitioners(_Contract):
    """practitioners.csv: one row per social worker / family support worker."""

    practitioner_id: Series[Text] = pa.Field(str_matches=PRACTITIONER_ID, unique=True)
    team_id: Series[Text] = pa.Field(str_matches=TEAM_ID)
    role: Series[Text] = pa.Field(isin=ROLES)


class Absence(_Contract):
    """absence.csv: one row per practitioner per calendar month."""

    practitioner_id: Series[Text] = pa.Field(str_matches=PRACTITIONER_ID)
    month: Series[Text] = pa.Field(str_matches=YEAR_MONTH, description="calendar month, YYYY-MM")
    days_employed: Series[pd.Int64Dtype] = pa.Field(ge=1, le=31)
    sickness_days: Series[float] = pa.Field(ge=0, description="halves allowed")

    class Config:
        unique = ["practitioner_id", "month"]

    @row_rule("sickness_days")
    def sickness_days_in_halves(cls, df: pd.DataFrame) -> pd.Series:
        """`sickness_days` is a whole or half number of days."""
        return (df["sickness_days"] * 2) % 1 == 0

    @row_rule("sickness_days", "days_employed")
    def sickness_within_days_employed(cls, df: pd.DataFrame) -> pd.Series:
        """`sickness_days` is at most `days_employed`."""
        return df["sickness_days"] <= df["days_employed"].astype("float64")


class Carers(_Contract):
    """carers.csv: one row per foster / kinship carer."""

    carer_id: Series[Text] = pa.Field(str_matches=CARER_ID, unique=True)
    team_id: Series[Text] = pa.Field(
        str_matches=TEAM_ID, description="team of the child's social worker at randomisation"
    )
    carer_type: Series[Text] = pa.Field(isin=CARER_TYPES)
    gender: Series[Text] = pa.Field(isin=GENDERS)
    years_experience: Series[float] = pa.Field(ge=0, le=60, description="may be fractional")


class Consent(_Contract):
    """consent.csv: the withdrawal / objection / restriction register (latest row holds)."""

    participant_id: Series[Text] = pa.Field(str_matches=ANY_PARTICIPANT_ID)
    participant_type: Series[Text] = pa.Field(isin=PARTICIPANT_TYPES)
    status: Series[Text] = pa.Field(isin=CONSENT_STATUSES)
    status_changed_on: Series[pa.DateTime] = _date("date the status took effect")

    @row_rule("participant_type", "participant_id")
    def type_agrees_with_id(cls, df: pd.DataFrame) -> pd.Series:
        """`participant_type` agrees with the id's first letter (C, P or F)."""
        expected = df["participant_type"].map(ID_PREFIX)
        return expected.isna() | (df["participant_id"].str[:1] == expected)


class ArchiveChildren(Children):
    """children.csv in the long-term archive: `birth_year_month` coarsened to the year."""

    birth_year_month: Series[Text] = pa.Field(str_matches=YEAR, description="year of birth, YYYY (archive)")


# The study folder, in the order of study-data.md.
CONTRACTS: dict[str, type[pa.DataFrameModel]] = {
    "teams": Teams,
    "children": Children,
    "child_measures": ChildMeasures,
    "placements": Placements,
    "missing_episodes": MissingEpisodes,
    "referrals": Referrals,
    "practitioners": Practitioners,
    "practitioner_measures": PractitionerMeasures,
    "absence": Absence,
    "carers": Carers,
    "carer_measures": CarerMeasures,
    "consent": Consent,
}

# The long-term archive (privacy.md): the same files, birth dates coarsened to the year. A folder
# holding ARCHIVE_MARKER (the archive's own manifest) is an archive: validate checks it against these.
ARCHIVE_CONTRACTS: dict[str, type[pa.DataFrameModel]] = {**CONTRACTS, "children": ArchiveChildren}
ARCHIVE_MARKER = "archive_manifest.json"


def pattern_words() -> dict[str, str]:
    """Every text pattern of the contracts in words, as failures and the dictionary state them."""
    from data_contracts.participants import PARTICIPANTS

    return {
        YEAR_MONTH: "YYYY-MM (a year and month, e.g. 2019-07)",
        YEAR: "YYYY (a year, e.g. 2019)",
        TEAM_ID: "a team id: three capital letters, -T and 2 or 3 digits (e.g. BEX-T01)",
        LA_SLUG: "a slug: lower-case letters, digits, _ or -, starting with a letter",
        PLACEMENT_TYPE: "a capital letter and a digit (e.g. U1)",
        ANY_PARTICIPANT_ID: "a pseudonym: "
        + ", ".join(p.prefix for p in PARTICIPANTS)
        + " followed by 16 lower-case hex digits",
        **{
            p.id_pattern: f"a {p.type} pseudonym: {p.prefix} followed by 16 lower-case hex digits"
            for p in PARTICIPANTS
        },
    }


def rule_in_words(pattern: str) -> str:
    """A text pattern as a person reads it (the pattern itself only when none is declared)."""
    return pattern_words().get(pattern, f"the pattern {pattern}")
