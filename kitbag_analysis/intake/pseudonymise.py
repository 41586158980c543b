"""`kitbag pseudonymise RAW --key KEYFILE --la SLUG --out DIR`: an LA's raw extracts (SSDA903
tables, CIN referrals, the trial's lists) become that LA's study folder (study-data.md, "Intake").

Raw ids become keyed pseudonyms (`keys`), codes and dates the study's (`ssda903`); every column
outside the intake table, and every direct identifier in it, is dropped and counted. The folder
is built in a staging sibling, checked by the project's contracts and published by one rename,
so it appears whole or not at all. A problem in the raw files is named by file, column and row,
never by its value, and nothing is written.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

from data_contracts.errors import ContractViolation, Finding, KitbagError, UnusableInput
from data_contracts.failures import Failure
from data_contracts.guards import contains_identifier
from data_contracts.participants import BY_TYPE
from data_contracts.schemas import CONTRACTS, LA_SLUG
from data_contracts.settings import SETTINGS_FILE, read_settings
from data_contracts.validate import validate_study
from kitbag_analysis import atomic
from kitbag_analysis.intake import ssda903
from kitbag_analysis.intake.keys import pseudonyms, read_key
from kitbag_analysis.intake.rawfiles import NOT_FED, RAW_FILES, TRIAL_LIST, RawFile, read_raw

MAX_ROWS_NAMED = 6
CHILD_SOURCES = (TRIAL_LIST, "header.csv")  # children.csv is made of both
# The study's settings when RAW holds no study.toml (study-data.md, "study.toml").
STUDY_DEFAULTS = {
    "name": "Putting Kitbags to Work",
    "analysis_phase_start": pd.Timestamp("2022-03-01").date(),
    "final_collection": pd.Timestamp("2022-02-28").date(),
    "followup_days": 365,
    "sdc_threshold": 10,
}
KNOWN_AUTHORITIES = {
    "bexley": "London Borough of Bexley",
    "haringey": "London Borough of Haringey",
    "oxfordshire": "Oxfordshire County Council",
    "warwickshire": "Warwickshire County Council",
}


@dataclass(frozen=True)
class Problem:
    """Something wrong in a raw file, by file, column and rows (1 = the first row after the header)."""

    file: str
    column: str
    what: str
    rows: tuple[int, ...] = ()
    unusable: bool = True  # exit 2; False: a finding (exit 1)

    def describe(self) -> str:
        column = "(a column name that looks like personal data)" if contains_identifier(self.column) else self.column
        return f"{self.file}, column {column}, {_rows(self.rows)}: {self.what}"


def _rows(rows: tuple[int, ...] | np.ndarray) -> str:
    rows = tuple(int(r) for r in rows)
    if not rows:
        return "header row"
    shown = ", ".join(map(str, rows[:MAX_ROWS_NAMED]))
    more = f", … ({len(rows)} rows)" if len(rows) > MAX_ROWS_NAMED else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def raise_problems(where: Path, problems: list[Problem], done: str = "nothing was written") -> None:
    """One paragraph naming every problem (never a value); exit 2 if any makes the input
    unusable, else 1."""
    if not problems:
        return
    kind = UnusableInput if any(p.unusable for p in problems) else Finding
    listed = "; ".join(p.describe() for p in problems)
    raise kind(
        f"{where}: {len(problems)} problem(s) in the raw files, so {done}: {listed}. Rows count from 1 = the "
        "first row after the header; values are never shown, look the rows up in the files."
    )


@dataclass
class Converted:
    """One study file made from raw rows, with where each column and row came from."""

    frame: pd.DataFrame  # study columns as text
    rows: dict[str, np.ndarray]  # raw file -> the raw row number of each output row
    sources: dict[str, tuple[str, str]]  # study column -> (raw file, raw column)
    main: str  # the raw file of the rows (and of any column not in ``sources``)


@dataclass(frozen=True)
class FileSummary:
    """What became of one raw file: counts and column names, never values."""

    file: str
    becomes: str
    rows_in: int
    rows_out: int
    rows_dropped: int  # of children not on the trial list
    columns_dropped: tuple[str, ...]


@dataclass
class IntakeSummary:
    """What `pseudonymise` did, for the printed summary."""

    out: Path
    la: str
    files: list[FileSummary] = field(default_factory=list)
    empty: tuple[str, ...] = NOT_FED  # study files written with a header only
    warnings: list[str] = field(default_factory=list)


# --- one raw file -------------------------------------------------------------------------
def _convert(
    spec: RawFile, text: pd.DataFrame, key: bytes, trial: pd.Series | None
) -> tuple[Converted | None, list[Problem], int]:
    """The study columns of one raw file, its problems and the rows dropped (not on the trial list)."""
    missing = [c for c in spec.columns if c not in text.columns]
    if missing:
        return None, [Problem(spec.name, c, "required column is missing") for c in missing], 0
    text = text[list(spec.columns)].apply(lambda col: col.str.strip())
    text = text.mask(text == "")
    rows = np.arange(1, len(text) + 1)
    problems: list[Problem] = []
    dropped = 0
    if spec.id_column is not None:
        blank = text[spec.id_column].isna().to_numpy()
        if blank.any():
            problems.append(Problem(spec.name, spec.id_column, "the id is blank", tuple(rows[blank])))
        if spec.trial_only and trial is not None:
            keep = text[spec.id_column].isin(trial).to_numpy() | blank
            dropped = int((~keep).sum())
            text, rows = text[keep], rows[keep]
    out: dict[str, pd.Series] = {}
    for raw_column, study_column in spec.columns.items():
        col = text[raw_column]
        bad = np.zeros(len(col), dtype=bool)
        if raw_column in spec.dates:
            col, bad = ssda903.parse_dates(col)
            what = f"not a date ({ssda903.DATE_FORMATS})"
        elif raw_column in spec.codes:
            code_map = ssda903.CODE_MAPS[raw_column]
            col, bad = code_map.convert(col)
            what = f"not a known code ({code_map.meaning})"
        if bad.any():
            problems.append(Problem(spec.name, raw_column, what, tuple(rows[bad])))
        if raw_column in spec.month_of:
            col = ssda903.year_month(col)
        out[study_column] = col
    if spec.id_column is not None:
        study_id = spec.columns[spec.id_column]
        out[study_id], bad_type = _pseudonyms(spec, text, key)
        if bad_type.any():
            problems.append(
                Problem(spec.name, "participant_type", "not child, practitioner or carer", tuple(rows[bad_type]))
            )
    frame = pd.DataFrame(out, index=text.index)
    sources = {study: (spec.name, raw) for raw, study in spec.columns.items()}
    return Converted(frame.reset_index(drop=True), {spec.name: rows}, sources, spec.name), problems, dropped


def _pseudonyms(spec: RawFile, text: pd.DataFrame, key: bytes) -> tuple[pd.Series, np.ndarray]:
    """The pseudonyms of the raw id column (by the file's participant type, or each row's)."""
    ids = text[spec.id_column]
    if spec.participant is not None:
        return pseudonyms(key, spec.participant, ids), np.zeros(len(ids), dtype=bool)
    kinds = text["participant_type"]
    out = pd.Series(None, index=ids.index, dtype=object)
    for kind in BY_TYPE:
        chosen = (kinds == kind).to_numpy()
        out[chosen] = pseudonyms(key, kind, ids[chosen])
    return out, ~kinds.isin(list(BY_TYPE)).to_numpy()


def _children(trial: Converted, header: Converted) -> tuple[Converted, list[Problem]]:
    """children.csv: the trial list, with gender, ethnicity and month of birth from the Header."""
    problems = []
    hdr = header.frame.assign(_row=header.rows["header.csv"])
    twice = hdr["child_id"].notna() & hdr["child_id"].duplicated(keep=False)
    if twice.any():
        problems.append(
            Problem("header.csv", "CHILD", "the child has more than one Header row", tuple(hdr["_row"][twice]))
        )
    hdr = hdr[~hdr["child_id"].duplicated(keep="first")]
    merged = trial.frame.merge(hdr, on="child_id", how="left", validate="many_to_one", suffixes=("", "_hdr"))
    absent = (merged["_row"].isna() & merged["child_id"].notna()).to_numpy()
    if absent.any():
        trial_rows = trial.rows[TRIAL_LIST][absent]
        problems.append(
            Problem(
                TRIAL_LIST,
                "CHILD",
                "the child has no row in header.csv (gender, ethnicity, date of birth)",
                tuple(trial_rows),
                unusable=False,
            )
        )
    columns = list(CONTRACTS["children"].to_schema().columns)
    rows = {TRIAL_LIST: trial.rows[TRIAL_LIST], "header.csv": merged["_row"].fillna(0).astype(int).to_numpy()}
    sources = {**trial.sources, **{c: header.sources[c] for c in ("gender", "ethnicity", "birth_year_month")}}
    return Converted(merged[columns], rows, sources, TRIAL_LIST), problems


# --- settings -----------------------------------------------------------------------------
def _settings_toml(raw_dir: Path, la: str) -> str:
    """study.toml for the LA's folder: RAW/study.toml (the evaluators' settings) cut to this LA,
    or the study's settings of study-data.md for one of its four authorities."""
    path = raw_dir / SETTINGS_FILE
    if path.is_file():
        read_settings(raw_dir)  # a malformed file is named as the contracts name it
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        names = data["local_authorities"]
        if la not in names:
            raise UnusableInput(f"{path}: [local_authorities] has no entry `{la}` (the --la given).")
        data["local_authorities"] = {la: names[la]}
        target = data.get("progression", {}).get("recruitment_target")
        if isinstance(target, dict):
            data["progression"]["recruitment_target"] = {k: v for k, v in target.items() if k == la}
        return tomli_w.dumps(data)
    if la not in KNOWN_AUTHORITIES:
        raise UnusableInput(
            f"{raw_dir}: holds no study.toml, and `{la}` is not one of the study's authorities "
            f"({', '.join(KNOWN_AUTHORITIES)}); put the evaluators' study.toml in the raw folder."
        )
    return tomli_w.dumps({"study": STUDY_DEFAULTS, "local_authorities": {la: KNOWN_AUTHORITIES[la]}})


def check_out(out: Path) -> None:
    """The output folder must be new or empty (a study folder is never overwritten)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UnusableInput(f"{out}: exists and is not an empty folder; choose a new one. Nothing was written.")


# --- the command --------------------------------------------------------------------------
def pseudonymise(raw_dir: str | Path, key_file: str | Path, la: str, out: str | Path) -> IntakeSummary:
    """Turn the raw folder ``raw_dir`` into LA ``la``'s study folder ``out`` (new or empty)."""
    raw_dir, out = Path(raw_dir), Path(out)
    if not re.match(LA_SLUG, la) or la == "all":
        raise UnusableInput("--la must be a lower-case slug (letters, digits, - or _; not 'all'), e.g. bexley.")
    if not raw_dir.is_dir():
        raise UnusableInput(f"{raw_dir}: no such raw folder.")
    check_out(out)
    key, warning = read_key(key_file)
    settings = _settings_toml(raw_dir, la)
    texts = {spec.name: read_raw(raw_dir / spec.name) for spec in RAW_FILES}

    problems: list[Problem] = []
    converted: dict[str, Converted] = {}
    summary = IntakeSummary(out, la, warnings=[warning] if warning else [])
    trial_text = texts[TRIAL_LIST]
    trial_ids = trial_text["CHILD"].str.strip().dropna() if "CHILD" in trial_text else None
    for spec in RAW_FILES:
        result, found, dropped = _convert(spec, texts[spec.name], key, trial_ids)
        problems += found
        if result is not None:
            converted[spec.name if spec.name in CHILD_SOURCES else f"{spec.becomes}.csv"] = result
        kept = set(spec.columns)
        summary.files.append(
            FileSummary(
                spec.name,
                f"{spec.becomes}.csv",
                len(texts[spec.name]),
                len(result.frame) if result is not None else 0,
                dropped,
                tuple(c for c in texts[spec.name].columns if c not in kept),
            )
        )
    if all(name in converted for name in CHILD_SOURCES):
        converted["children.csv"], found = _children(*(converted.pop(name) for name in CHILD_SOURCES))
        problems += found
    raise_problems(raw_dir, problems)

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic.staging_dir(out, "pseudonymise") as staged:
        for name, model in CONTRACTS.items():
            columns = list(model.to_schema().columns)
            made = converted.get(f"{name}.csv")
            frame = made.frame[columns] if made is not None else pd.DataFrame(columns=columns)
            atomic.write_with(
                staged / f"{name}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False, lineterminator="\n")
            )
        atomic.write_text(staged / SETTINGS_FILE, settings)
        _check_output(staged, raw_dir, converted)
        if out.exists():
            out.rmdir()
        atomic.publish_dir(staged, out)
    return summary


def _check_output(staged: Path, raw_dir: Path, made: dict[str, Converted | None]) -> None:
    """Validate the staged folder; a failure is named by the raw file, column and rows it came from."""
    try:
        report = validate_study(staged).report
    except KitbagError as exc:  # cannot happen for files written above; said plainly if it does
        raise ContractViolation(f"{raw_dir}: the study folder made from it cannot be read back ({exc}).") from None
    if report.ok:
        return
    problems = [_traced(f, made.get(f.file)) for f in report.failures]
    try:
        raise_problems(raw_dir, problems, "the study folder would break its contracts and nothing was written")
    except Finding as exc:
        raise ContractViolation(str(exc), report) from None


def _traced(failure: Failure, made: Converted | None) -> Problem:
    """A contract failure of the output, named by the raw file, column and rows it came from."""
    check = failure.check + (" (value not shown)" if failure.privacy else "")
    if made is None:
        return Problem(failure.file, failure.column, check, failure.rows, unusable=False)
    parts = [made.sources.get(part, (made.main, part)) for part in failure.column.split("+")]
    raw_file, raw_column = parts[0][0], "+".join(column for _, column in parts)
    positions = np.asarray(failure.rows, dtype=int) - 1
    rows = tuple(sorted(set(made.rows[raw_file][positions].tolist()))) if positions.size else ()
    column = raw_column if raw_column == failure.column else f"{raw_column} ({failure.file} {failure.column})"
    return Problem(raw_file, column, check, rows, unusable=False)


def summary_table(summary: IntakeSummary) -> tuple[list[str], list[tuple[str, ...]]]:
    """The printed summary: per raw file, rows in and out and the columns dropped (names and
    counts, never values; a name that looks like personal data is withheld)."""
    header = ["raw file", "becomes", "rows in", "rows out", "not on trial list", "columns dropped"]
    rows = []
    for f in summary.files:
        names = ["(a name that looks like personal data)" if contains_identifier(c) else c for c in f.columns_dropped]
        dropped = f"{len(names)}: {', '.join(names)}" if names else "0"
        rows.append((f.file, f.becomes, f"{f.rows_in:,}", f"{f.rows_out:,}", f"{f.rows_dropped:,}", dropped))
    return header, rows
