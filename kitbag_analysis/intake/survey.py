"""A survey platform's export into the study (study-data.md, "Intake: a survey platform's export").

`intake_survey` turns answer labels into the codes the instruments declare (labels live beside
the items in `data_contracts.instruments`, kitbag_use's beside its levels in the measures
contract), parses `completed_on` from the platform's forms and appends one row per respondent to
the study's measures file. The prize-draw emails, and nothing else, go to ``DIR/entrants.csv``
(created 0600, sorted and de-duplicated so nothing in it links to a study row); every other
platform column is dropped and counted. The export is taken whole or not at all: any problem
refuses it, naming file, row and column but never a value, before anything is written; the
study, as it would be, is validated by the contracts before the new file replaces the old.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts import CONTRACTS, ContractViolation, Finding, UnusableInput, validate_study
from data_contracts.guards import GUARDS, contains_identifier
from data_contracts.instruments import MEASURE_INSTRUMENTS
from data_contracts.participants import BY_POPULATION, Participant
from data_contracts.reading import locate, read_text
from kitbag_analysis import atomic

ENTRANTS_FILE = "entrants.csv"  # the prize draw's email list: one column, `email`
MARKER_FILE = "prize_draw.json"  # the draw folder's own record: the study and its closing date (no email)
DRAW_LOG = "prize_draw_log.json"  # written by `kitbag prize-draw` (rights.prize_draw)
POPULATIONS = ("practitioners", "carers")
WAVES = ("baseline", "followup")
REF, EMAIL, DATE = "external_ref", "email", "completed_on"
# completed_on as the platforms write it: (pattern, strptime format)
DATE_FORMATS: tuple[tuple[str, str], ...] = (
    (r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "%Y-%m-%d"),
    (r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}", "%Y-%m-%d %H:%M"),
    (r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", "%Y-%m-%d %H:%M:%S"),
    (r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", "%d/%m/%Y"),
    (r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{2}:[0-9]{2}", "%d/%m/%Y %H:%M"),
)
SHOWN_ROWS = 6


@dataclass(frozen=True)
class Answers:
    """How one kept column's answers become codes: accepted text (case-folded) -> the code as text."""

    column: str
    meaning: str  # for messages, e.g. "a General Self-Efficacy Scale answer"
    codes: dict[str, str]
    blank: str | None = None  # the code of a blank answer (None: left blank)


@dataclass
class IntakeSummary:
    """What an intake did: counts and column names only (never a value)."""

    export: Path
    population: str
    wave: str
    measures_file: str
    rows: int
    emails: int  # emails given in this export
    entrants: int  # distinct emails in the prize-draw list afterwards
    dropped: dict[str, int] = field(default_factory=dict)  # column (or "[name withheld]") -> non-blank cells
    mapped: dict[str, str] = field(default_factory=dict)  # export column -> item


def answer_columns(population: str) -> list[Answers]:
    """The kept answer columns of a population's measures file, read from their declarations."""
    participant = BY_POPULATION[population]
    out = [
        Answers(
            column,
            f"a {inst.title} answer ({', '.join(inst.labels)}, or a code)",
            {text: str(code) for text, code in inst.answers.items()},
        )
        for inst in MEASURE_INSTRUMENTS[participant.measures]
        for column in inst.columns
    ]
    meta = CONTRACTS[participant.measures].to_schema().columns["kitbag_use"].metadata
    codes = {**{label.casefold(): code for code, label in meta["labels"].items()}, **{c: c for c in meta["labels"]}}
    codes[meta["blank"]] = meta["blank"]
    shown = ", ".join(meta["labels"].values())
    out.append(Answers("kitbag_use", f"a kitbag_use answer ({shown}, or blank)", codes, meta["blank"]))
    return out


def parse_answers(values: pd.Series, answers: Answers) -> tuple[pd.Series, np.ndarray]:
    """Codes for ``values`` (labels or codes, any case, surrounding spaces ignored) and the mask
    of non-blank cells that are neither."""
    key = values.astype("string").str.strip().str.casefold()
    blank = (key.isna() | (key == "")).to_numpy(dtype=bool)
    codes = key.map(answers.codes).astype(object)
    bad = ~blank & codes.isna().to_numpy(dtype=bool)
    return codes.where(~blank, answers.blank), bad


def parse_completed_on(values: pd.Series) -> pd.Series:
    """Dates (datetime64, the day) from the platforms' forms; NaT where a cell fits none of them
    or names no real day or time."""
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for pattern, fmt in DATE_FORMATS:
        hit = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        if hit.any():
            out[hit] = pd.to_datetime(text[hit], format=fmt, errors="coerce")
    return out.dt.normalize()


def read_map(path: Path | None) -> dict[str, str]:
    """``--map``: a TOML table of export column = item (or external_ref, email, completed_on)."""
    if path is None:
        return {}
    try:
        table = tomllib.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as exc:
        raise UnusableInput(f"{path}: the column map cannot be read ({exc.strerror}).") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise UnusableInput(f'{path}: the column map is not UTF-8 TOML (export column = "item").') from None
    if not all(isinstance(v, str) for v in table.values()):
        raise UnusableInput(f'{path}: every entry of the column map must be export column = "item" (quoted).')
    return table


def _shown(name: str) -> str:
    return "[name withheld]" if contains_identifier(name) else name


def _columns(export: Path, frame: pd.DataFrame, mapping: dict[str, str], population: str) -> dict[str, str]:
    """Export column -> kept column; refuse an unknown target, a clash or a missing item."""
    kept = [REF, EMAIL, DATE, *(a.column for a in answer_columns(population))]
    for number, (source, target) in enumerate(mapping.items(), start=1):
        if target not in kept:
            raise UnusableInput(f"--map entry {number}: its item is not a column of {population}' answers.")
        if source not in frame.columns:
            raise UnusableInput(f"--map entry {number}: {export} has no such column.")
    targets = list(mapping.values())
    if len(set(targets)) < len(targets):
        raise UnusableInput("--map names an item for two export columns; keep one.")
    chosen = {**{c: c for c in kept if c in frame.columns and c not in mapping}, **mapping}
    clash = [t for t in targets if t in frame.columns and t not in mapping]
    if clash:
        raise UnusableInput(f"{export}: column {clash[0]} is in the export and also mapped from another column.")
    missing = [c for c in kept if c not in chosen.values() and c not in (EMAIL, "kitbag_use")]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise UnusableInput(
            f"{export}: has no column for {', '.join(missing[:3])}{more}; name the export's columns as "
            "the data dictionary does (`kitbag docs`) or map them with --map (a TOML table of export column = item)."
        )
    return chosen


Problem = tuple[str, str, np.ndarray]  # (column, what is wrong, 1-based export rows)


def _problems(export: Path, problems: list[Problem]) -> Finding:
    """One paragraph naming each problem by column and rows (values never shown)."""
    parts = []
    for column, what, rows in sorted(problems, key=lambda p: int(p[2][0])):
        shown = ", ".join(map(str, rows[:SHOWN_ROWS])) + (f", … ({len(rows)} rows)" if len(rows) > SHOWN_ROWS else "")
        parts.append(f"column {_shown(column)}, row{'s' if len(rows) > 1 else ''} {shown}: {what}")
    total = sum(len(rows) for _c, _w, rows in problems)
    return Finding(
        f"{export}: the export was refused and nothing was written ({total} problem(s)): {'; '.join(parts)}. "
        "Rows count from 1 at the first data row after the header; values are never shown: look them up in "
        "the export, correct it on the platform or by hand, and run the intake again."
    )


def _mask_problems(mask: np.ndarray, column: str, what: str) -> list[Problem]:
    rows = np.flatnonzero(np.asarray(mask, dtype=bool)) + 1
    return [(column, what, rows)] if rows.size else []


def check_draw_folder(study_dir: Path, draw_dir: Path, what: str = "the prize-draw folder") -> None:
    """A folder of emails (the prize draw's) must be apart from the study: neither inside it nor holding it."""
    study, draw = Path(study_dir).resolve(), Path(draw_dir).resolve()
    if draw == study or draw.is_relative_to(study) or study.is_relative_to(draw):
        raise UnusableInput(
            f"{draw_dir}: {what} must be kept apart from the study folder (neither inside "
            "it nor holding it): the privacy notice keeps email addresses apart from survey data."
        )
    if draw.exists() and not draw.is_dir():
        raise UnusableInput(f"{draw_dir}: exists and is not a folder.")


def intake_survey(
    export: str | Path,
    population: str,
    wave: str,
    study_dir: str | Path,
    draw_dir: str | Path,
    map_file: str | Path | None = None,
    today: dt.date | None = None,
) -> IntakeSummary:
    """Append a platform export's rows to the study's measures file and its emails to the prize
    draw's list, or refuse the whole export (`Finding`: a value; `UnusableInput`: the file, map,
    folders or study.toml) with nothing written."""
    export, study_dir, draw_dir = Path(export), Path(study_dir), Path(draw_dir)
    if population not in POPULATIONS or wave not in WAVES:
        raise UnusableInput(f"--population is one of {', '.join(POPULATIONS)}; --wave one of {', '.join(WAVES)}.")
    check_draw_folder(study_dir, draw_dir)
    participant = BY_POPULATION[population]
    mapping = read_map(Path(map_file) if map_file else None)
    if not export.is_file():
        raise UnusableInput(f"{export}: no such export file.")
    raw = read_text(export)
    chosen = _columns(export, raw, mapping, population)
    dropped = {_shown(c): int(raw[c].notna().sum()) for c in raw.columns if c not in chosen}
    frame = raw[list(chosen)].rename(columns=chosen).reset_index(drop=True)

    validated = validate_study(study_dir)
    if not validated.report.ok:
        raise ContractViolation(
            f"{study_dir} fails its contracts ({validated.report.summary()}); run `kitbag validate {study_dir}` "
            "and correct it before an intake.",
            validated.report,
        )
    people = validated.frames[participant.file][participant.id_column]
    measures = validated.frames[participant.measures]
    problems = _value_problems(frame, population, participant, people, measures, wave, today or dt.date.today())
    emails = _emails(frame, problems)
    if problems:
        raise _problems(export, problems)
    closes = validated.settings.retention.prize_draw_closes
    if len(emails) and closes is None:
        raise UnusableInput(
            f"{study_dir / 'study.toml'}: the export holds prize-draw emails but [retention] has no "
            "`prize_draw_closes`: the privacy notice promises the list's deletion once the draw is made, so set "
            "its closing date first."
        )
    if len(emails):
        _check_marker(draw_dir, validated.settings.name, closes)
    rows = _rows(frame, participant, wave, population)
    path = locate(study_dir, participant.measures)
    for leftover in study_dir.glob(".*.intake-*"):  # staged by an intake that was killed, never renamed in
        leftover.unlink(missing_ok=True)
    staged = atomic.staged_file(path, lambda tmp: _append(path, rows, tmp), "intake")
    try:
        _check_whole_study(study_dir, path, staged, export, len(measures))
        total = _add_entrants(draw_dir, emails, validated.settings.name, closes) if len(emails) else _count(draw_dir)
        atomic.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    return IntakeSummary(
        export,
        population,
        wave,
        path.name,
        len(rows),
        len(emails),
        total,
        dropped,
        {_shown(k): v for k, v in mapping.items()},
    )


def _value_problems(
    frame: pd.DataFrame,
    population: str,
    participant: Participant,
    people: pd.Series,
    measures: pd.DataFrame,
    wave: str,
    today: dt.date,
) -> list[Problem]:
    """Every cell that breaks the export's rules, as (row, column, what) — never a value."""
    problems: list[Problem] = []
    ref = frame[REF].astype("string").str.strip()
    blank = ref.isna().to_numpy(dtype=bool) | (ref == "").fillna(True).to_numpy(dtype=bool)
    known = ref.isin(set(people)).fillna(False).to_numpy(dtype=bool)
    problems += _mask_problems(blank, REF, "blank: every row needs the respondent's pseudonym")
    problems += _mask_problems(
        ~blank & ~known, REF, f"not a respondent of the study's {participant.file} (an unknown pseudonym)"
    )
    repeated = ref.duplicated(keep=False).to_numpy(dtype=bool) & ~blank
    problems += _mask_problems(repeated, REF, "the same respondent is in the export more than once")
    had = set(measures.loc[measures["wave"] == wave, participant.id_column])
    problems += _mask_problems(
        ref.isin(had).fillna(False).to_numpy(dtype=bool), REF, f"already has a {wave} row in {participant.measures}"
    )
    dates = parse_completed_on(frame[DATE])
    problems += _mask_problems(
        dates.isna().to_numpy(), DATE, "not a date of the form YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY[ HH:MM]"
    )
    problems += _mask_problems((dates > pd.Timestamp(today)).to_numpy(), DATE, "a date after today")
    for answers in answer_columns(population):
        if answers.column in frame.columns:
            problems += _mask_problems(
                parse_answers(frame[answers.column], answers)[1], answers.column, f"not {answers.meaning}"
            )
    return problems


def _emails(frame: pd.DataFrame, problems: list[Problem]) -> np.ndarray:
    """The distinct emails given (case-folded, stripped); a cell that is not an email is a problem."""
    if EMAIL not in frame.columns:
        return np.array([], dtype=object)
    text = frame[EMAIL].astype("string").str.strip()
    given = text.notna().to_numpy(dtype=bool) & (text != "").fillna(False).to_numpy(dtype=bool)
    shaped = text.str.fullmatch(GUARDS["email address"], case=False).fillna(False).to_numpy(dtype=bool)
    problems += _mask_problems(given & ~shaped, EMAIL, "not an email address")
    return np.unique(text[given].str.casefold().to_numpy(dtype=object)).astype(object)


def _rows(frame: pd.DataFrame, participant: Participant, wave: str, population: str) -> pd.DataFrame:
    """The new rows of the measures file, as text in its column order."""
    out = {
        participant.id_column: frame[REF].astype("string").str.strip(),
        "wave": wave,
        "completed_on": parse_completed_on(frame[DATE]).dt.strftime("%Y-%m-%d"),
    }
    for answers in answer_columns(population):
        if answers.column in frame.columns:
            codes = parse_answers(frame[answers.column], answers)[0]
        else:
            codes = pd.Series(answers.blank, index=frame.index, dtype=object)
        out[answers.column] = codes.astype("string")
    columns = list(CONTRACTS[participant.measures].to_schema().columns)
    return pd.DataFrame(out, index=frame.index)[columns]


def _append(path: Path, rows: pd.DataFrame, target: Path) -> None:
    """``path`` with ``rows`` appended, in its own format; a CSV keeps its old bytes as they were."""
    if path.suffix == ".parquet":
        old = pd.read_parquet(path)
        new = rows[list(old.columns)].copy()
        for column in old.columns:
            if pd.api.types.is_datetime64_any_dtype(old[column]):
                new[column] = pd.to_datetime(new[column], format="%Y-%m-%d")
            elif pd.api.types.is_numeric_dtype(old[column]):
                new[column] = pd.to_numeric(new[column]).astype("Int64")
        pd.concat([old, new], ignore_index=True).to_parquet(target, index=False)
        return
    header = list(read_text(path).columns)
    old = path.read_bytes()
    if old and not old.endswith(b"\n"):
        old += b"\n"
    target.write_bytes(old + rows[header].to_csv(index=False, header=False).encode("utf-8"))


def _check_whole_study(study_dir: Path, path: Path, staged: Path, export: Path, n_old: int) -> None:
    """Validate the whole study as it would be with ``staged`` in place of ``path``; a failure on an
    appended row is named by its export row."""
    with atomic.staging_dir(study_dir, "intake-check") as check:
        for other in study_dir.iterdir():
            if other.is_file() and not other.name.startswith("."):
                os.link(other, check / other.name)
        (check / path.name).unlink()
        os.link(staged, check / path.name)
        report = validate_study(check).report
    if report.ok:
        return
    named = []
    for f in report.failures[:SHOWN_ROWS]:
        new = [r - n_old for r in f.rows if f.file == path.name and r > n_old]
        where = f"export {export} row(s) {', '.join(map(str, new[:SHOWN_ROWS]))}" if new else "the study's own rows"
        named.append(f"{f.file}, column {_shown(f.column)}: {f.check} ({where})")
    raise ContractViolation(
        f"{study_dir}: with the export's rows the study would break its contracts ({'; '.join(named)}); "
        "nothing was written. Values are never shown.",
        report,
    )


def _check_marker(draw_dir: Path, study: str, closes: dt.date) -> None:
    """A draw folder serves one study's draw, until it is drawn."""
    if (draw_dir / DRAW_LOG).exists():
        raise UnusableInput(
            f"{draw_dir}: the prize draw of this folder has been made (see {DRAW_LOG}); it takes no more entrants."
        )
    marker = draw_dir / MARKER_FILE
    if marker.exists():
        held = json.loads(marker.read_text(encoding="utf-8"))
        if held.get("study") != study or held.get("prize_draw_closes") != closes.isoformat():
            raise UnusableInput(
                f"{draw_dir}: holds the prize draw of another study or closing date ({MARKER_FILE}); use a folder "
                "of its own for each draw."
            )


def _count(draw_dir: Path) -> int:
    path = draw_dir / ENTRANTS_FILE
    return len(read_entrants(path)) if path.exists() else 0


def read_entrants(path: Path) -> np.ndarray:
    """The distinct emails of an entrants list."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return np.unique(frame["email"].to_numpy(dtype=object)) if len(frame) else np.array([], dtype=object)


def _add_entrants(draw_dir: Path, emails: np.ndarray, study: str, closes: dt.date) -> int:
    """Merge ``emails`` into ``draw_dir/entrants.csv`` (0600, sorted, each address once) and write the
    folder's marker. The replaced version is overwritten before its name goes (`atomic.overwrite_and_unlink`)."""
    draw_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = draw_dir / ENTRANTS_FILE
    merged = np.union1d(read_entrants(path), emails) if path.exists() else np.unique(emails)
    text = pd.DataFrame({"email": merged}).to_csv(index=False)
    old = atomic.sibling(path, "old")
    if path.exists():
        os.link(path, old)  # the version being replaced, to overwrite once the new one is in
    try:
        atomic.write_private_text(path, text)
    except BaseException:
        old.unlink(missing_ok=True)  # still the live file's inode: only its extra name goes
        raise
    if old.exists():
        atomic.overwrite_and_unlink(old)
    marker = {"study": study, "prize_draw_closes": closes.isoformat(), "note": "entrants.csv holds emails only"}
    atomic.write_text(draw_dir / MARKER_FILE, json.dumps(marker, indent=2) + "\n")
    return len(merged)


__all__ = [
    "DRAW_LOG",
    "ENTRANTS_FILE",
    "MARKER_FILE",
    "IntakeSummary",
    "answer_columns",
    "check_draw_folder",
    "intake_survey",
    "parse_answers",
    "parse_completed_on",
    "read_entrants",
]
