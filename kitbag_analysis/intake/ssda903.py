"""The DfE returns' codes and dates, declared once as data, and their vectorised conversion.

SSDA903 (children looked after) and the CIN census write dates as DD/MM/YYYY; the trial's own
lists may use ISO YYYY-MM-DD. Codes map to the study's codes (data_contracts.schemas); an
unknown code is an error naming file, column and rows, never the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data_contracts.schemas import ETHNICITIES, MISSING_TYPES, REASON_NEW_EPISODE, SSDA903_LEGAL_STATUS

ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
DFE_DATE = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"  # DD/MM/YYYY; a leading zero lost by a spreadsheet is allowed
DATE_FORMATS = "DD/MM/YYYY or YYYY-MM-DD"


@dataclass(frozen=True)
class CodeMap:
    """A raw column's codes and the study's code for each (matched ignoring case and spaces).

    ``default`` is the study's code for any other value (and a blank); without one, an unknown
    code is an error and a blank stays blank (the contract says whether blank is allowed).
    """

    column: str
    codes: dict[str, str]
    default: str | None = None
    meaning: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # further raw codes (e.g. DfE extended)

    @property
    def table(self) -> dict[str, str]:
        return {**self.codes, **self.extra}

    def convert(self, raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
        """The study's codes for ``raw`` and a mask of the cells whose code is unknown."""
        key = raw.astype("string").str.strip().str.upper()
        mapped = key.map({k.upper(): v for k, v in self.table.items()}).astype(object)
        present = key.notna() & (key != "")
        if self.default is not None:
            return mapped.where(mapped.notna(), self.default), np.zeros(len(raw), dtype=bool)
        bad = (present & mapped.isna()).to_numpy(dtype=bool)
        return mapped.where(mapped.notna(), None), bad


def _same(codes: list[str]) -> dict[str, str]:
    return {c: c for c in codes}


# SSDA903 Header SEX: 1 male, 2 female; anything else (9, blank) is not recorded.
SEX = CodeMap(
    "SEX", {"1": "male", "2": "female"}, default="not_recorded", meaning="1 male, 2 female, else not recorded"
)
# The DfE's main ethnicity codes are the study's codes; the CBDS extended codes of the two largest
# groups that some case-management systems export are mapped to their main code.
ETHNIC = CodeMap(
    "ETHNIC",
    _same(ETHNICITIES),
    meaning="DfE main ethnicity code (or a CBDS extended code of WBRI or BAFR)",
    extra={
        **dict.fromkeys(["WCOR", "WENG", "WSCO", "WWEL", "WOWB"], "WBRI"),
        **dict.fromkeys(["BANN", "BCON", "BGHA", "BNGN", "BSLN", "BSOM", "BSUD", "BAOF"], "BAFR"),
    },
)
RNE = CodeMap("RNE", _same(REASON_NEW_EPISODE), meaning="SSDA903 reason for new episode")
LS = CodeMap("LS", _same(SSDA903_LEGAL_STATUS), meaning="SSDA903 legal status")
MISSING = CodeMap("MISSING", _same(MISSING_TYPES), meaning="M missing, A away without authorisation")
# SSDA903 placement types (PLACE) of the current guidance.
PLACE_CODES = [
    *("A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1"),
    *("T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1"),
]
PLACE = CodeMap("PLACE", _same(PLACE_CODES), meaning="SSDA903 placement type")

CODE_MAPS: dict[str, CodeMap] = {m.column: m for m in (SEX, ETHNIC, RNE, LS, MISSING, PLACE)}


def parse_dates(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """ISO text (YYYY-MM-DD) for dates written DD/MM/YYYY or YYYY-MM-DD, and a mask of the cells
    that are neither or not a calendar date (31/02/2020). A blank stays blank."""
    text = raw.astype("string").str.strip()
    present = (text.notna() & (text != "")).to_numpy(dtype=bool)
    iso = text.str.fullmatch(ISO_DATE).fillna(False).to_numpy(dtype=bool)
    dfe = text.str.fullmatch(DFE_DATE).fillna(False).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if iso.any():
        parsed[iso] = pd.to_datetime(text[iso], format="%Y-%m-%d", errors="coerce")
    if dfe.any():
        parsed[dfe] = pd.to_datetime(text[dfe], format="%d/%m/%Y", errors="coerce")
    ok = parsed.notna().to_numpy()
    out = parsed.dt.strftime("%Y-%m-%d").astype(object).where(ok, None)
    return out, present & ~ok


def year_month(iso: pd.Series) -> pd.Series:
    """YYYY-MM of ISO date text (the month of birth kept, the day dropped)."""
    return iso.str[:7]
