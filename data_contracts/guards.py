"""Privacy guards: direct identifiers refused wherever they appear, never echoed.

Every text cell of every data file in the study folder (including files study-data.md does not
list) and every column name is scanned. A hit is reported by file, column and row only.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.failures import Failure, failure

# Separators people type inside an identifier: space (also no-break and thin spaces), hyphen, dot.
SEP = "[ \u00a0\u2007\u202f.\\-]"
# name -> pattern; matched case-insensitively anywhere in a cell. A number is bounded by
# non-digits, so an NHS number glued to letters (NHS9434765919) is caught; runs of 16 or more hex
# characters (the pseudonyms' keyed hashes, file digests) are blanked before the number guards.
GUARDS: dict[str, str] = {
    "email address": r"[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+",
    "UK postcode": rf"\b(?:gir{SEP}?0aa|[a-z]{{1,2}}\d[a-z\d]?{SEP}?\d[abd-hjlnp-uw-z]{{2}})\b",
    "10-digit number (NHS number shape)": rf"(?:^|[^\d.])\d{{3}}{SEP}?\d{{3}}{SEP}?\d{{4}}(?:$|[^\d])",
    "UPN shape (a letter and 12 digits)": r"[a-z]\d{12}(?:$|[^\d])",
}
HEX_RUN = r"[0-9a-f]{16,}"
# Only in `birth_year_month`: a full date of birth.
FULL_DATE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"
FULL_DATE_COLUMN = "birth_year_month"

# Python's `re` tries a match at every position, so inside a long run of an email's local-part
# characters (a pasted blob, a base64 image) the plain pattern would rescan the rest of the run
# from each one: quadratic, minutes for 100 kB. The Python form starts only where such a run
# starts (same hits); pyarrow's RE2, used on the cells, is linear and takes `GUARDS` as written.
_RUN_START = {"email address": r"(?<![a-z0-9._%+'-])"}
SEARCHERS: dict[str, re.Pattern[str]] = {
    name: re.compile(_RUN_START.get(name, "") + p, re.IGNORECASE) for name, p in GUARDS.items()
}
_ANY = re.compile("|".join(f"(?:{p.pattern})" for p in SEARCHERS.values()), re.IGNORECASE)
_ANY_RE2 = "|".join(f"(?:{p})" for p in GUARDS.values())
_FULL_DATE = re.compile(FULL_DATE)
_HEX = re.compile(HEX_RUN, re.IGNORECASE)


def check_text(file: str, frame: pd.DataFrame) -> list[Failure]:
    """Every guard hit in ``frame`` (cells read as text) and in its column names."""
    found: list[Failure] = []
    for position, name in enumerate(map(str, frame.columns)):
        for guard in _hits(name, _ANY, SEARCHERS):
            found.append(Failure(file, f"column {position + 1} (name)", f"privacy: {guard}", privacy=True))
    if frame.empty or not len(frame.columns):
        return found
    # Scan each distinct value once: the columns are laid end to end and dictionary-encoded.
    # A cell shorter than the shortest identifier cannot hold one (item answers, codes).
    columns = [c for c in frame.columns if c == FULL_DATE_COLUMN or _longest(frame[c]) >= 5]
    if not columns:
        return found
    frame = frame[columns]
    chunks = [chunk for name in columns for chunk in _arrow_chunks(frame[name])]
    cells = pa.chunked_array(chunks, type=pa.string()).combine_chunks()
    encoded = pc.dictionary_encode(cells)
    values, index = encoded.dictionary, encoded.indices.fill_null(-1).to_numpy(False)
    values = pc.replace_substring_regex(values, "(?i)" + HEX_RUN, " ")
    n = len(frame)
    per_guard = (
        {guard: _mask(values, pattern, index) for guard, pattern in GUARDS.items()}
        if pc.any(pc.match_substring_regex(values, _ANY_RE2, ignore_case=True)).as_py()
        else {}
    )
    for k, name in enumerate(frame.columns):
        block = slice(k * n, (k + 1) * n)
        if name == FULL_DATE_COLUMN:
            found += _report(file, name, "full date of birth", _mask(values, FULL_DATE, index)[block])
        for guard, mask in per_guard.items():
            found += _report(file, name, guard, mask[block])
    return found


def _mask(values: pa.Array, pattern: str, index: np.ndarray) -> np.ndarray:
    """For each cell (by its dictionary index), whether its value matches ``pattern``."""
    hit = pc.match_substring_regex(values, pattern, ignore_case=True).fill_null(False)
    hit = np.append(hit.to_numpy(zero_copy_only=False), False)  # index -1 = blank cell
    return hit[index]


def _longest(col: pd.Series) -> int:
    """Length in bytes of the column's longest cell (0 when all blank)."""
    longest = pc.max(pc.binary_length(pa.chunked_array(_arrow_chunks(col)))).as_py()
    return longest or 0


def _arrow_chunks(col: pd.Series) -> list[pa.Array]:
    """A text column's Arrow chunks (other dtypes are converted to text first)."""
    if not (isinstance(col.dtype, pd.ArrowDtype) and col.dtype.pyarrow_dtype == pa.string()):
        col = col.astype(object).where(col.notna(), None).astype(str).where(col.notna(), None)
        col = col.astype(pd.ArrowDtype(pa.string()))
    arrow = pa.array(col.array)
    return list(arrow.chunks) if isinstance(arrow, pa.ChunkedArray) else [arrow]


def _report(file: str, column: object, guard: str, mask: np.ndarray) -> list[Failure]:
    rows = np.flatnonzero(mask)
    if not rows.size:
        return []
    return [failure(file, str(column), f"privacy: {guard}", rows, privacy=True)]


def _hits(text: str, any_pattern: re.Pattern, patterns: dict[str, re.Pattern]) -> list[str]:
    text = _HEX.sub(" ", text)
    if not any_pattern.search(text):
        return []
    return [name for name, p in patterns.items() if p.search(text)]


def contains_identifier(text: str) -> bool:
    """True if ``text`` trips any guard (used to keep ids and values out of messages)."""
    return bool(_ANY.search(_HEX.sub(" ", text)))


def withheld_name(name: str) -> bool:
    """True if a file or column name must not be shown: it trips a guard or holds a full date
    (a date of birth used as a name is personal data like the others)."""
    return contains_identifier(name) or bool(_FULL_DATE.search(name))


def check_other_file(name: str, raw: bytes) -> list[Failure]:
    """The guards over a file that is not a table (notes, JSON, TOML, a spreadsheet): every line
    of its text (UTF-8, or its bytes read one to a character when it is not UTF-8) is scanned and a
    hit reported by line number, never echoed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    frame = pd.DataFrame({"(text, by line)": pd.array(lines, dtype=pd.ArrowDtype(pa.string()))})
    return check_text(name, frame)
