"""Unusable input: missing or unreadable files give exit 2 with one clear paragraph."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import snapshot

from data_contracts import UnusableInput, validate_study
from kitbag_analysis.cli import main


def run(study: Path, capsys) -> tuple[int, str]:
    code = main(["validate", str(study)])
    captured = capsys.readouterr()
    return code, captured.err


def test_missing_folder(tmp_path: Path, capsys) -> None:
    code, err = run(tmp_path / "nowhere", capsys)
    assert code == 2 and "no such study folder" in err and "Traceback" not in err


def test_missing_file(study: Path, capsys) -> None:
    (study / "referrals.csv").unlink()
    code, err = run(study, capsys)
    assert code == 2 and "referrals.csv" in err and "missing" in err


def test_non_utf8_bytes_named_with_line(study: Path, capsys) -> None:
    path = study / "carers.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"foster", b"f\xf6ster").replace(b"kinship", b"k\xefnship")
    path.write_bytes(b"\n".join(lines))
    before = snapshot(study)
    code, err = run(study, capsys)
    assert code == 2 and "carers.csv" in err and "UTF-8" in err and "line 4" in err
    assert snapshot(study) == before


def test_empty_file(study: Path, capsys) -> None:
    (study / "teams.csv").write_text("")
    code, err = run(study, capsys)
    assert code == 2 and "teams.csv" in err and "empty" in err


def test_ragged_row_does_not_echo_it(study: Path, capsys) -> None:
    path = study / "teams.csv"
    path.write_text(path.read_text() + "BEX-T99,bexley,kitbag,2020-01-01,jo@example.org\n")
    code, err = run(study, capsys)
    assert code == 2 and "teams.csv" in err and "jo@example.org" not in err


def test_both_csv_and_parquet(study: Path, capsys) -> None:
    pd.read_csv(study / "teams.csv").to_parquet(study / "teams.parquet")
    code, err = run(study, capsys)
    assert code == 2 and "teams.csv" in err and "teams.parquet" in err


def test_debug_shows_traceback(tmp_path: Path) -> None:
    with pytest.raises(UnusableInput):
        main(["validate", str(tmp_path / "nowhere"), "--debug"])


def test_parquet_study_validates_like_csv(study: Path) -> None:
    for csv in list(study.glob("*.csv")):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
        for col in frame.columns:  # store dates and numbers typed, as an LA export would
            if col.endswith(("_on", "_start", "_end", "_date")):
                frame[col] = pd.to_datetime(frame[col])
            elif col.startswith(("sdq_", "cries_", "gse_", "pss_")) or col == "days_employed":
                frame[col] = pd.to_numeric(frame[col]).astype("Int64")
            elif col in ("sickness_days", "years_experience"):
                frame[col] = pd.to_numeric(frame[col])
        frame.to_parquet(csv.with_suffix(".parquet"), index=False)
        csv.unlink()
    validated = validate_study(study)
    assert validated.report.ok, validated.report.failures
    assert validated.frames["child_measures"]["sdq_01"].dtype == "Int64"


def test_utf8_bom_is_accepted(study: Path) -> None:
    path = study / "teams.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert validate_study(study).report.ok


def test_cr_only_line_endings_name_the_file(study: Path, capsys) -> None:
    from kitbag_analysis.cli import main

    path = study / "referrals.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    assert main(["validate", str(study)]) == 2
    err = capsys.readouterr().err
    assert "referrals.csv" in err and "carriage return" in err and "could not complete" not in err


def test_a_repeated_header_is_named_by_position_never_echoed(study: Path, capsys) -> None:
    from kitbag_analysis.cli import main

    (study / "teams.csv").write_text("leak.me@example.org,leak.me@example.org,arm\nx,y,kitbag\n")
    assert main(["validate", str(study)]) == 2
    err = capsys.readouterr().err
    assert "columns 1, 2" in err and "leak.me" not in err


def test_huge_float_in_a_parquet_whole_number_column(tmp_path: Path, capsys) -> None:
    from kitbag_analysis.cli import main
    from kitbag_analysis.synthetic.generate import SynthSpec, write_study

    study = write_study(tmp_path / "p", SynthSpec(seed=3, children=200), fmt="parquet")
    frame = pd.read_parquet(study / "absence.parquet")
    frame["days_employed"] = frame["days_employed"].astype(float)
    frame.loc[0, "days_employed"] = 1e20
    frame.to_parquet(study / "absence.parquet")
    assert main(["validate", str(study)]) == 1
    out = capsys.readouterr().out
    assert "absence.parquet" in out and "days_employed" in out and "whole number" in out


def test_markup_and_personal_data_in_column_names(study: Path, capsys) -> None:
    from kitbag_analysis.cli import main

    frame = pd.read_csv(study / "teams.csv", dtype=str)
    frame["[bold]x[/italic]"] = "a"
    frame["leak.me@example.org"] = "b"
    frame.to_csv(study / "teams.csv", index=False)
    assert main(["validate", str(study)]) == 1
    out = capsys.readouterr().out
    assert "[bold]x[/italic]" in out and "leak.me" not in out


def test_a_ragged_csv_names_its_line(study: Path, capsys) -> None:
    from kitbag_analysis.cli import main

    with (study / "referrals.csv").open("a") as handle:
        handle.write("C0000000000000001,2021-01-01,extra\n")
    lines = (study / "referrals.csv").read_text().count("\n")
    assert main(["validate", str(study)]) == 2
    err = capsys.readouterr().err
    assert f"referrals.csv: not a readable CSV table at line {lines}" in err and "C0000000000000001" not in err
