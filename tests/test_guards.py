"""Privacy guards: direct identifiers refused anywhere, never echoed; pseudonyms never trip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from conftest import rewrite
from hypothesis import given
from hypothesis import strategies as st

from data_contracts import validate_study
from data_contracts.guards import GUARDS, SEARCHERS, check_text, contains_identifier
from kitbag_analysis.cli import main

SECRETS = {
    "email address": "jo.bloggs@example.org",
    "UK postcode": "SW1A 1AA",
    "10-digit number (NHS number shape)": "943 476 5919",
    "UPN shape (a letter and 12 digits)": "A123456789012",
}


def _frame(value: str) -> pd.DataFrame:
    return pd.DataFrame({"team_id": ["BEX-T01", value]}).astype(pd.ArrowDtype(pa.string()))


@pytest.mark.parametrize(("guard", "value"), SECRETS.items())
def test_each_guard_fires(guard: str, value: str) -> None:
    [hit] = check_text("teams.csv", _frame(value))
    assert hit.check == f"privacy: {guard}" and hit.rows == (2,) and hit.privacy


@pytest.mark.parametrize("value", ["9434765919", "ec1a1bb", "someone@nhs.net", "b123456789012"])
def test_guard_variants(value: str) -> None:
    assert check_text("x.csv", _frame(value))


@given(st.sampled_from("CPF"), st.text("0123456789abcdef", min_size=16, max_size=16))
def test_pseudonyms_never_trip_guards(prefix: str, hexpart: str) -> None:
    assert not contains_identifier(prefix + hexpart)
    assert check_text("x.csv", _frame(prefix + hexpart)) == []


@pytest.mark.parametrize(
    "value", ["BEX-T07", "2021-05-01", "2021-05", "U1", "not_recorded", "WBRI", "12.5", "family_support_worker"]
)
def test_ordinary_values_never_trip(value: str) -> None:
    assert check_text("x.csv", _frame(value)) == []


@pytest.mark.parametrize(("guard", "value"), SECRETS.items())
def test_guard_refuses_study_without_echo(study: Path, guard: str, value: str, capsys) -> None:
    def change(f: pd.DataFrame) -> None:
        f.loc[2, "ethnicity"] = value

    rewrite(study, "children", change)
    hits = [f for f in validate_study(study).report.failures if f.check == f"privacy: {guard}"]
    assert [(h.file, h.column, h.rows) for h in hits] == [("children.csv", "ethnicity", (3,))]
    assert main(["validate", str(study)]) == 1
    printed = capsys.readouterr()
    assert value not in printed.out + printed.err
    assert "children.csv" in printed.out and "ethnicity" in printed.out


@pytest.mark.parametrize("value", ["2012-05-14", "14/05/2012", "2012/5/14"])
def test_full_date_of_birth_refused_without_echo(study: Path, value: str, capsys) -> None:
    def change(f: pd.DataFrame) -> None:
        f.loc[0, "birth_year_month"] = value

    rewrite(study, "children", change)
    hits = [f for f in validate_study(study).report.failures if "full date of birth" in f.check]
    assert hits and hits[0].rows == (1,) and hits[0].column == "birth_year_month"
    assert main(["validate", str(study)]) == 1
    out = capsys.readouterr()
    assert value not in out.out + out.err


def test_guard_scans_files_outside_the_spec(study: Path, capsys) -> None:
    pd.DataFrame({"note": ["call 020 7946 0000", "jo@example.org"]}).to_csv(study / "notes.csv", index=False)
    found = validate_study(study).report.failures
    assert any(f.file == "notes.csv" and f.check == "privacy: email address" for f in found)
    assert any(f.file == "notes.csv" and "not a file of the data dictionary" in f.check for f in found)


def test_identifier_in_column_name_withheld(study: Path, capsys) -> None:
    rewrite(study, "carers", lambda f: f.assign(**{"jo@example.org": "x"}))
    assert main(["validate", str(study)]) == 1
    out = capsys.readouterr().out
    assert "jo@example.org" not in out and "carers.csv" in out


@pytest.mark.parametrize(
    ("value", "guard"),
    [
        ("NHS9434765919", "10-digit number"),
        ("943.476.5919", "10-digit number"),
        ("943 476 5919", "10-digit number"),
        ("943-476-5919", "10-digit number"),
        ("SW1A-1AA", "UK postcode"),
        ("SW1A\u00a01AA", "UK postcode"),
        ("sw1a 1aa", "UK postcode"),
        ("A123456789012", "UPN shape"),
    ],
)
def test_variants_people_type_are_caught(study: Path, value: str, guard: str, capsys) -> None:
    from kitbag_analysis.cli import main

    rewrite(study, "children", lambda f: f.assign(team_id=f["team_id"].where(f.index != 2, value)))
    assert main(["validate", str(study)]) == 1
    out = capsys.readouterr().out
    assert guard in out and value not in out and value.replace("\u00a0", " ") not in out


def test_every_file_of_the_folder_is_scanned(study: Path, capsys) -> None:
    from kitbag_analysis.cli import main

    (study / "notes.txt").write_text("call back on 943 476 5919\n")
    (study / ".hidden.json").write_text('{"who": "leak.me@example.org"}')
    assert main(["validate", str(study)]) == 1
    out = capsys.readouterr().out
    assert "notes.txt" in out and ".hidden.json" in out and "leak.me" not in out and "5919" not in out


@given(
    st.sampled_from(["C", "P", "F"]),
    st.text("0123456789abcdef", min_size=16, max_size=16),
    st.dates(),
    st.integers(0, 10**9),
)
def test_valid_ids_dates_and_numbers_never_trip_a_guard(prefix: str, hexpart: str, day, number: int) -> None:
    from data_contracts.guards import contains_identifier

    for text in (prefix + hexpart, day.isoformat(), str(number / 7), f"{number:,}", "BEX-T07", "U1", "2012-05"):
        assert not contains_identifier(text), text


@given(st.text(alphabet="aZ9._%+'-@ \n/=x", max_size=60))
def test_the_python_searchers_find_what_the_cell_scan_finds(text: str) -> None:
    """`SEARCHERS` (Python `re`, started only where a run starts so that a long run is not
    rescanned from each of its characters) flag exactly the texts that `GUARDS` flag under
    pyarrow's RE2, which scans the cells."""
    import pyarrow.compute as pc

    for name, pattern in GUARDS.items():
        re2 = pc.match_substring_regex(pa.array([text]), pattern, ignore_case=True)[0].as_py()
        assert bool(SEARCHERS[name].search(text)) == re2, name


def test_a_long_run_inside_a_message_is_still_searched_to_its_end() -> None:
    blob = "QUJD+" * 40_000  # a 200 kB base64-like run, then an address glued to it
    assert not contains_identifier(blob) and contains_identifier(blob + "jo@example.org")
