"""Validate a whole study folder: read, guard, parse, check every contract, lazily."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from data_contracts import crossfile, guards, journals, reading
from data_contracts.errors import UnusableInput
from data_contracts.failures import Failure, ValidationReport
from data_contracts.schemas import ARCHIVE_CONTRACTS, ARCHIVE_MARKER, CONTRACTS, rule_column, rule_in_words
from data_contracts.settings import StudySettings, read_settings


@dataclass
class ValidatedStudy:
    """A study folder after validation: settings, typed frames and the report."""

    path: Path
    settings: StudySettings
    frames: dict[str, pd.DataFrame]
    report: ValidationReport


def validate_study(
    study_dir: str | Path, contracts: dict | None = None, *, finishing: str | None = None
) -> ValidatedStudy:
    """Check every contract of ``study_dir`` and return every failure (never just the first).

    A folder holding `ARCHIVE_MARKER` is a long-term archive and is checked against the
    archive's contracts (birth year, not year and month) unless ``contracts`` says otherwise.
    A folder holding a half-applied erasure or rectification (its journal ends ``started``) fails,
    naming the command that finishes it, unless that command is the one asking (``finishing``).

    Raises `UnusableInput` when the folder cannot be read at all (missing folder or file,
    bytes that are not UTF-8, an unreadable Parquet file, a bad study.toml).
    """
    path = Path(study_dir)
    if not path.is_dir():
        raise UnusableInput(f"{path}: no such study folder.")
    contracts = contracts or (ARCHIVE_CONTRACTS if is_archive(path) else CONTRACTS)
    settings = read_settings(path)
    located = {name: reading.locate(path, name) for name in contracts}
    report = ValidationReport(str(path), files={n: p.name for n, p in located.items()})
    for journal, command, what in journals.unfinished(path):
        if command != finishing:
            check = f"{what} was interrupted and is half-applied: {journals.finish_hint(path, command)} to finish it"
            report.failures.append(Failure(journal, "(file)", check))

    known = set(located.values())
    data = set(reading.data_files(path))
    for extra in sorted(data - known):
        text = reading.read_text(extra)
        check = "not a file of the data dictionary (kitbag docs; data minimisation)"
        report.failures.append(Failure(extra.name, "(file)", check))
        report.failures += guards.check_text(extra.name, text)
    for other in reading.other_files(path):  # notes, JSON, study.toml, anything added later
        report.failures += guards.check_other_file(other.name, other.read_bytes())

    frames: dict[str, pd.DataFrame] = {}
    for name, model in contracts.items():
        file = located[name].name
        text = reading.read_text(located[name])
        text.index = pd.RangeIndex(len(text))
        report.failures += guards.check_text(file, text)
        typed, type_failures = reading.parse_types(file, text, model)
        report.failures += type_failures
        report.failures += _check_contract(file, typed, model, type_failures)
        frames[name] = typed
    report.failures += crossfile.check_links(frames, report.files, settings)
    return ValidatedStudy(path, settings, frames, report)


def is_archive(path: Path) -> bool:
    """A long-term archive (`kitbag archive`'s folder) carries its own manifest."""
    return (path / ARCHIVE_MARKER).is_file()


def _check_contract(
    file: str, frame: pd.DataFrame, model: type[pa.DataFrameModel], already: list[Failure]
) -> list[Failure]:
    """Run the pandera model lazily and turn its failure cases into `Failure`s (no values)."""
    try:
        model.validate(frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    # A cell that failed to parse is already reported as a type failure.
    unparsed = {(f.column, r) for f in already for r in f.rows}
    cases = cases.assign(column=cases["column"].astype(object), check=cases["check"].astype(str))
    merged: dict[tuple[str, str], set[int]] = {}
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        column, label = _describe(model, column, check, group)
        index = group["index"].dropna().astype(int)
        rows = {int(i) + 1 for i in index} - {r for c, r in unparsed if c == column}
        if len(index) and not rows:
            continue
        merged.setdefault((column, label), set()).update(rows)
    return [Failure(file, col, label, tuple(sorted(rows))) for (col, label), rows in merged.items()]


def _describe(model: type, column: object, check: str, group: pd.DataFrame) -> tuple[str, str]:
    """A readable (column, check) for one pandera failure group."""
    check_name = check.split("(", 1)[0]
    rule_col = rule_column(model, check_name)
    if rule_col is not None:
        return rule_col, check_name.replace("_", " ")
    if check == "column_in_schema":
        # failure_case holds the unexpected column's name (not a cell value); a name that
        # trips a privacy guard is withheld
        return _names(group), "not a column of the data dictionary (see `kitbag docs`; data minimisation)"
    if check == "column_in_dataframe":
        return _names(group), "required column is missing"
    if check == "multiple_fields_uniqueness":
        return "+".join(sorted(set(map(str, group["column"].dropna())))) or "(row)", "unique"
    if check == "field_uniqueness":
        return str(column), "unique"
    if check == "not_nullable":
        return str(column), "not blank"
    if check.startswith("dtype("):
        return str(column), f"type {check[6:-1]}"
    return str(column), readable_check(check)


_READABLE = (
    (r"^isin\(\[(.*)\]\)$", "one of {}"),
    (r"^greater_than_or_equal_to\((.*)\)$", "at least {}"),
    (r"^less_than_or_equal_to\((.*)\)$", "at most {}"),
    (r"^in_range\((.*)\)$", "in range {}"),
)


def readable_check(check: str) -> str:
    """pandera's check label in words, e.g. ``isin([0, 1, 2])`` -> ``one of 0, 1, 2`` and
    ``str_matches('^\\d{4}-(0[1-9]|1[0-2])$')`` -> ``in the form YYYY-MM (…)``."""
    matches = re.match(r"^str_matches\('(.*)'\)$", check)
    if matches:
        return f"in the form {rule_in_words(matches.group(1).replace(chr(92) * 2, chr(92)))}"
    for pattern, words in _READABLE:
        match = re.match(pattern, check)
        if match:
            return words.format(match.group(1).replace("'", ""))
    return check


def _names(group: pd.DataFrame) -> str:
    names = sorted(map(str, group["failure_case"]))
    return ", ".join("[name withheld]" if guards.contains_identifier(n) else n for n in names)
