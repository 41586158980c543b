"""Reading a study folder's files (CSV or Parquet) as text, then parsing each column's type.

Files are read as text first so that a wrong value is reported by row, not by a crash, and
the privacy guards see every cell exactly as it was delivered.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pdr
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from data_contracts.errors import UnusableInput
from data_contracts.failures import Failure, failures_from_mask

DATA_SUFFIXES = (".csv", ".parquet")
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def locate(study_dir: Path, name: str) -> Path:
    """The file holding contract ``name`` (``name.csv`` or ``name.parquet``, not both)."""
    found = [study_dir / f"{name}{s}" for s in DATA_SUFFIXES if (study_dir / f"{name}{s}").is_file()]
    if not found:
        raise UnusableInput(
            f"{study_dir}: the file {name}.csv (or {name}.parquet) is missing. Every file of "
            "the data dictionary (kitbag docs) must be present; a file may have a header and no rows."
        )
    if len(found) > 1:
        raise UnusableInput(f"{study_dir}: both {name}.csv and {name}.parquet are present; keep exactly one.")
    if found[0].is_symlink():
        raise UnusableInput(
            f"{found[0]}: is a symbolic link. Study files must be real files in the study folder (a link "
            "would be read, and rewritten by erasure, in another place); copy the file in."
        )
    return found[0]


def data_files(study_dir: Path) -> list[Path]:
    """Every CSV or Parquet file in the folder (the privacy guards scan them all)."""
    return sorted(p for p in study_dir.iterdir() if p.is_file() and p.suffix in DATA_SUFFIXES)


def other_files(study_dir: Path) -> list[Path]:
    """Every other file in the folder, hidden ones included (the guards scan them too)."""
    return sorted(p for p in study_dir.rglob("*") if p.is_file() and p.suffix not in DATA_SUFFIXES)


TEXT = pd.ArrowDtype(pa.string())


def read_text(path: Path) -> pd.DataFrame:
    """Read one file with every cell as Arrow text (an empty cell is missing).

    Raise `UnusableInput` for a file that cannot be read as a table at all.
    """
    if path.suffix == ".parquet":
        return _read_parquet_text(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnusableInput(f"{path}: cannot be read ({exc.strerror}).") from None
    header = _header(path, raw)
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "utf8" in message.lower():
            raise UnusableInput(_not_utf8(path, raw)) from None
        shape = re.search(r"Expected \d+ columns, got \d+", message)
        detail = shape.group(0) if shape else "malformed CSV"
        line = _ragged_line(raw, len(header))
        where = f" at line {line}" if line else ""
        # the parser's own message quotes the row; it is not repeated (it may hold identifiers)
        raise UnusableInput(f"{path}: not a readable CSV table{where} ({detail}).") from None
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _header(path: Path, raw: bytes) -> list[str]:
    """The header row's column names (checked for emptiness, encoding and duplicates)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\r" in raw and b"\n" not in raw:
        raise UnusableInput(
            f"{path}: lines end with a carriage return only (old Mac line endings); save the file with "
            "LF or CRLF line endings."
        )
    first = raw.split(b"\n", 1)[0].rstrip(b"\r")
    if not first.strip():
        raise UnusableInput(f"{path}: the file is empty; it needs at least its header row.")
    try:
        names = next(csv.reader([first.decode("utf-8")]))
    except UnicodeDecodeError:
        raise UnusableInput(_not_utf8(path, raw)) from None
    except csv.Error as exc:
        raise UnusableInput(f"{path}: the header row (line 1) is not readable CSV ({exc}).") from None
    repeated = [k + 1 for k, n in enumerate(names) if names.count(n) > 1]
    if repeated:  # by position: a name may hold personal data, and is never repeated here
        raise UnusableInput(
            f"{path}: the header names a column more than once (columns {', '.join(map(str, repeated))})."
        )
    return names


def _ragged_line(raw: bytes, width: int) -> int | None:
    """The first line (1 = the header) whose number of fields differs from the header's."""
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if row and len(row) != width:
                return number
    except csv.Error:  # e.g. a field over the csv module's size limit: the file is still named
        return None
    return None


def _not_utf8(path: Path, raw: bytes) -> str:
    try:
        raw.decode("utf-8")
        where = ""
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        where = f" at line {line} (byte {exc.start})"
    return (
        f"{path}: the file is not UTF-8 text{where}. Re-export it as UTF-8 CSV; the workbench does not guess encodings."
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_parquet_text(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise UnusableInput(f"{path}: not a readable Parquet file ({_first_line(exc)}).") from None
    if frame.columns.duplicated().any():
        raise UnusableInput(f"{path}: a column name appears more than once.")
    return pd.DataFrame({str(c): _as_text(frame[c]) for c in frame.columns}, index=frame.index)


def _as_text(col: pd.Series) -> pd.Series:
    """One Parquet column as the text a CSV would have held (dates ISO, 2.0 as "2")."""
    missing = col.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(col):
        text = col.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_bool_dtype(col):
        text = col.astype("string").str.lower()
    elif pd.api.types.is_numeric_dtype(col):
        num = col.astype("float64")
        whole = np.isfinite(num) & (num % 1 == 0) & (num.abs() < 2**53)  # beyond: no exact integer
        text = col.astype("string").where(~whole, num.where(whole).astype("Int64").astype("string"))
    else:
        text = col.astype("string")
    return text.astype(TEXT).mask(missing)


def parse_types(file: str, text: pd.DataFrame, model: type[pdr.DataFrameModel]) -> tuple[pd.DataFrame, list[Failure]]:
    """Parse each declared column of ``text`` to the contract's type.

    A cell that does not parse becomes missing and is reported as a type failure by row.
    Values are parsed once per distinct value (codes, dates and items repeat a lot).
    """
    schema = model.to_schema()
    parsed_columns: dict[str, object] = {}
    failures: list[Failure] = []
    for name, column in schema.columns.items():
        if name not in text.columns:
            continue
        kind = str(column.dtype)
        if kind.startswith("datetime64"):
            parser, check = _parse_dates, "type: a date YYYY-MM-DD"
        elif kind == "Int64":
            parser, check = _parse_whole, "type: a whole number"
        elif kind in ("float64", "Float64"):
            parser, check = _parse_number, "type: a number"
        else:
            continue
        values, bad = parser(text[name])
        parsed_columns[name] = values
        failures += failures_from_mask(file, name, check, bad)
    columns = {name: parsed_columns.get(name, text[name].array) for name in text.columns}
    return pd.DataFrame(columns, index=text.index), failures


def _by_value(parse: Callable) -> Callable:
    """Apply ``parse`` once per distinct value of a text column and spread the result back."""

    @functools.wraps(parse)
    def parse_column(col: pd.Series) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
        encoded = pc.dictionary_encode(_arrow(col))
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        uniques = encoded.dictionary.to_pandas().astype(object)
        values, bad_unique = parse(uniques)
        present = codes >= 0
        bad = np.zeros(len(codes), dtype=bool)
        bad[present] = bad_unique[codes[present]]
        return values.take(np.where(present & ~bad, codes, -1), allow_fill=True), bad

    return parse_column


@_by_value
def _parse_dates(values: pd.Series) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
    parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    ok = values.str.match(ISO_DATE).fillna(False).to_numpy(dtype=bool)
    bad = ~ok | parsed.isna().to_numpy()
    return pd.array(parsed.where(~bad).to_numpy(dtype="datetime64[ns]")), bad


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()


def _fast_numbers(col: pd.Series) -> np.ndarray | None:
    """Arrow's cast of a clean text column to float64 (blank = NaN); None if any cell fails."""
    try:
        return pc.cast(_arrow(col), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return None


@_by_value
def _parse_number_slow(values: pd.Series) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
    parsed = _numbers(values)
    bad = ~np.isfinite(parsed)
    return pd.array(np.where(bad, np.nan, parsed), dtype="float64"), bad


def _parse_number(col: pd.Series) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
    parsed = _fast_numbers(col)
    if parsed is None:
        return _parse_number_slow(col)
    bad = col.notna().to_numpy(dtype=bool) & ~np.isfinite(parsed)
    return pd.array(np.where(bad, np.nan, parsed), dtype="float64"), bad


def _parse_whole(col: pd.Series) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray]:
    try:  # the common case: clean whole numbers, cast by Arrow in one step
        ints = pc.cast(_arrow(col), pa.int64())
        mask = ints.is_null().to_numpy(zero_copy_only=False)
        values = ints.fill_null(0).to_numpy(zero_copy_only=False)
        return pd.arrays.IntegerArray(values, mask), np.zeros(len(col), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        pass
    parsed = _fast_numbers(col)
    if parsed is None:
        parsed, bad = _parse_number_slow(col)
        parsed = parsed.to_numpy(dtype="float64", na_value=np.nan)
    # beyond 2**53 a float no longer holds every whole number: not a plausible value here
    whole = np.isfinite(parsed) & (np.abs(np.nan_to_num(parsed)) < 2**53)
    whole &= np.nan_to_num(parsed) % 1 == 0
    bad = col.notna().to_numpy(dtype=bool) & ~whole
    values = pd.arrays.IntegerArray(np.where(whole, parsed, 0).astype("int64"), ~whole)
    return values, bad


def _arrow(col: pd.Series) -> pa.Array:
    arrow = pa.array(col.array)
    return arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow


def plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow text columns (fast to check) become ordinary object columns for the analysis."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.ArrowDtype):
            out[name] = out[name].to_numpy(dtype=object, na_value=np.nan)
    return out
