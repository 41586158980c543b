"""study.toml: the study's settings, read with tomllib and checked field by field."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from data_contracts.errors import UnusableInput
from data_contracts.schemas import LA_SLUG

SETTINGS_FILE = "study.toml"
FOLLOWUP_DAYS = (1, 3650)  # a follow-up window of a day to ten years
SDC_THRESHOLD = (3, 1000)  # below 3, disclosure control would be switched off
FOLDER_SETTINGS_HELP = (
    "Fill each CSV (UTF-8, header row kept, one row per record as the dictionary below says), set "
    "study.toml, then run `kitbag validate FOLDER`: it names every file, column and row that breaks a "
    "rule and never prints a value. Never add names, addresses, full dates of birth, NHS numbers or UPNs."
)
RANGE_WHY = {
    "followup_days": "the follow-up window in days: at most ten years",
    "sdc_threshold": "the smallest publishable count: below 3 disclosure control is off",
}


RETENTION_DATES = {  # the optional [retention] table: each key starts a clock of `kitbag retention`
    "transcripts_delivered": "interview transcripts' delivery by the vendor (recordings deleted 7 days after)",
    "prize_draw_closes": "the survey prize draw's closing date (the email list is deleted once drawn)",
}


@dataclass(frozen=True)
class Retention:
    """study.toml's optional [retention] table (study-data.md): dates that start retention clocks."""

    transcripts_delivered: dt.date | None = None
    prize_draw_closes: dt.date | None = None


@dataclass(frozen=True)
class StudySettings:
    """The [study] table and the local authorities of study.toml."""

    name: str
    analysis_phase_start: dt.date
    final_collection: dt.date
    followup_days: int
    sdc_threshold: int
    local_authorities: dict[str, str]  # slug -> display name, in file order
    retention: Retention = Retention()


def _bad(path: Path, what: str) -> UnusableInput:
    return UnusableInput(f"{path}: {what} See `kitbag docs` for the study.toml format.")


def read_settings(study_dir: Path) -> StudySettings:
    """Read and check ``study_dir/study.toml``; raise `UnusableInput` naming the problem."""
    path = Path(study_dir) / SETTINGS_FILE
    if not path.is_file():
        raise _bad(path, "the study settings file is missing.")
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _bad(path, f"is not UTF-8 text (byte {exc.start}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise _bad(path, f"is not valid TOML ({exc}).") from None

    study = data.get("study")
    if not isinstance(study, dict):
        raise _bad(path, "has no [study] table.")
    las = data.get("local_authorities")
    if not isinstance(las, dict) or not las:
        raise _bad(path, "has no [local_authorities] table (slug = display name).")
    for number, (slug, display) in enumerate(las.items(), start=1):
        if not re.match(LA_SLUG, slug) or slug == "all" or not isinstance(display, str):
            raise _bad(
                path,
                f"[local_authorities] entry {number} must be a lower-case slug (letters, digits, - or _; not "
                "'all') = a quoted display name (the key is not repeated here).",
            )

    def field(key: str, kind: type, default: object = None, limits: tuple[int, int] | None = None) -> object:
        value = study.get(key, default)
        if value is None:
            raise _bad(path, f"[study] is missing `{key}`.")
        if kind is dt.date:
            ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        else:
            ok = isinstance(value, kind)
        if not ok:
            want = {dt.date: "a date (YYYY-MM-DD, unquoted)", int: "a positive whole number", str: "a quoted string"}[
                kind
            ]
            raise _bad(path, f"[study] `{key}` must be {want}.")
        if limits and not limits[0] <= value <= limits[1]:
            raise _bad(path, f"[study] `{key}` must be between {limits[0]} and {limits[1]} ({RANGE_WHY[key]}).")
        return value

    return StudySettings(
        retention=_retention(path, data.get("retention", {})),
        name=field("name", str),
        analysis_phase_start=field("analysis_phase_start", dt.date),
        final_collection=field("final_collection", dt.date),
        followup_days=field("followup_days", int, 365, FOLLOWUP_DAYS),
        sdc_threshold=field("sdc_threshold", int, 10, SDC_THRESHOLD),
        local_authorities=dict(las),
    )


def _retention(path: Path, table: object) -> Retention:
    """The optional [retention] table: only its known keys, each an unquoted date."""
    if not isinstance(table, dict):
        raise _bad(path, "`retention` must be a table ([retention]) of dates.")
    for number, key in enumerate(table, start=1):
        if key not in RETENTION_DATES:
            known = ", ".join(f"`{k}`" for k in RETENTION_DATES)
            raise _bad(path, f"[retention] entry {number} is not one of its keys ({known}).")
    for key, value in table.items():
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise _bad(path, f"[retention] `{key}` must be a date (YYYY-MM-DD, unquoted): {RETENTION_DATES[key]}.")
    return Retention(**table)


def settings_toml(settings: StudySettings) -> str:
    """Render settings back to study.toml text (used by `kitbag synth` and the archive)."""
    import tomli_w

    return tomli_w.dumps(
        {
            "study": {
                "name": settings.name,
                "analysis_phase_start": settings.analysis_phase_start,
                "final_collection": settings.final_collection,
                "followup_days": settings.followup_days,
                "sdc_threshold": settings.sdc_threshold,
            },
            "local_authorities": dict(settings.local_authorities),
            **({"retention": retention} if (retention := _set(settings.retention)) else {}),
        }
    )


def _set(retention: Retention) -> dict[str, dt.date]:
    return {k: v for k, v in vars(retention).items() if v is not None}
