"""SSDA903 codes and dates: declared once, converted vectorised; fuzzed with hypothesis."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.schemas import ETHNICITIES, PLACEMENT_TYPE, SSDA903_LEGAL_STATUS
from kitbag_analysis.intake import ssda903


def test_sex_codes_and_default() -> None:
    got, bad = ssda903.SEX.convert(pd.Series(["1", "2", " 2 ", "9", None, "0"]))
    assert got.tolist() == ["male", "female", "female", "not_recorded", "not_recorded", "not_recorded"]
    assert not bad.any()


def test_ethnic_main_codes_are_the_study_codes_and_extended_map_to_main() -> None:
    got, bad = ssda903.ETHNIC.convert(pd.Series([*ETHNICITIES, "weng", "BSOM", "XXXX", None]))
    assert got.tolist()[: len(ETHNICITIES)] == ETHNICITIES
    assert got.tolist()[len(ETHNICITIES) :] == ["WBRI", "BAFR", None, None]
    assert bad.tolist() == [False] * (len(ETHNICITIES) + 2) + [True, False]


def test_episode_codes_are_checked_against_their_lists() -> None:
    assert set(ssda903.LS.table) == set(SSDA903_LEGAL_STATUS)
    assert all(pd.Series(ssda903.PLACE_CODES).str.fullmatch(PLACEMENT_TYPE[1:-1]))
    got, bad = ssda903.PLACE.convert(pd.Series(["u1", "K2", "Q9"]))
    assert got.tolist()[:2] == ["U1", "K2"] and bad.tolist() == [False, False, True]
    got, bad = ssda903.MISSING.convert(pd.Series(["m", "A", "X"]))
    assert got.tolist()[:2] == ["M", "A"] and bad.tolist() == [False, False, True]


def test_dates_both_formats_blank_and_impossible() -> None:
    got, bad = ssda903.parse_dates(
        pd.Series(["04/03/2010", "2010-03-04", "4/3/2010", None, "", "31/02/2010", "2010-3-4"])
    )
    assert got.tolist()[:3] == ["2010-03-04"] * 3
    assert got.tolist()[3:] == [None] * 4
    assert bad.tolist() == [False, False, False, False, False, True, True]


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(dates, st.booleans()), min_size=1, max_size=20))
def test_any_date_in_either_format_parses_to_its_iso_text(days: list[tuple[dt.date, bool]]) -> None:
    text = pd.Series([d.strftime("%d/%m/%Y") if dfe else d.isoformat() for d, dfe in days])
    got, bad = ssda903.parse_dates(text)
    assert not bad.any()
    assert got.tolist() == [d.isoformat() for d, _ in days]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=12),
            st.from_regex(r"\d{1,2}/\d{1,2}/\d{4}", fullmatch=True),
            st.from_regex(r"\d{4}-\d{2}-\d{2}", fullmatch=True),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_text_is_an_iso_date_or_flagged_never_an_exception(cells: list[str]) -> None:
    got, bad = ssda903.parse_dates(pd.Series(cells, dtype=object))
    for cell, value, flagged in zip(cells, got, bad, strict=True):
        if flagged:
            assert value is None and cell.strip()
        elif value is None:
            assert not cell.strip()
        else:  # a real calendar date, written back as ISO, and it was the date the cell said
            day = dt.date.fromisoformat(value)
            stripped = cell.strip()
            assert stripped in (
                day.isoformat(),
                f"{day.day}/{day.month}/{day.year:04d}",
                f"{day.day:02d}/{day.month:02d}/{day.year:04d}",
                f"{day.day:02d}/{day.month}/{day.year:04d}",
                f"{day.day}/{day.month:02d}/{day.year:04d}",
            )
    assert isinstance(bad, np.ndarray) and len(got) == len(cells)


def test_year_month_drops_the_day() -> None:
    assert ssda903.year_month(pd.Series(["2010-03-04", None])).tolist()[0] == "2010-03"
