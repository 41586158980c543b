"""Synthetic raw LA folders (fixtures only): the intake table's files, realistic fake identifiers."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from intake_raw import RAW_SPEC, SLUGS, raw_master_fixture, read_raw_text  # noqa: F401 - fixtures

from data_contracts.guards import GUARDS
from kitbag_analysis.cli import main
from kitbag_analysis.intake.rawfiles import RAW_FILES
from kitbag_analysis.synthetic.generate import SynthSpec
from kitbag_analysis.synthetic.raw_folders import raw_folders


def test_every_raw_file_has_the_intake_columns_and_the_identifiers_real_extracts_carry(raw_master: Path) -> None:
    for slug in SLUGS:
        folder = raw_master / slug
        for spec in RAW_FILES:
            columns = read_raw_text(folder / spec.name).columns
            assert set(spec.columns) | set(spec.listed) <= set(columns), (slug, spec.name)
        header = read_raw_text(folder / "header.csv")
        assert header["UPN"].str.fullmatch(r"[A-Z]\d{12}").all()
        assert header["UPN"].str.contains(GUARDS["UPN shape (a letter and 12 digits)"], flags=re.I).all()
        assert header["DOB"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
        episodes = read_raw_text(folder / "episodes.csv")
        postcodes = pd.concat([episodes["HOME_POST"], read_raw_text(folder / "trial_carers.csv")["postcode"]])
        assert postcodes.str.contains(GUARDS["UK postcode"], flags=re.I).all()
        staff = read_raw_text(folder / "trial_practitioners.csv")
        assert staff["email"].str.contains(GUARDS["email address"], flags=re.I).all()
        assert staff["name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][A-Za-z]+").all()


def test_raw_ids_unique_per_list_distinct_across_las_and_non_trial_children_present(raw_master: Path) -> None:
    seen: set[str] = set()
    for slug in SLUGS:
        folder = raw_master / slug
        trial = read_raw_text(folder / "trial_children.csv")["CHILD"]
        staff = read_raw_text(folder / "trial_practitioners.csv")["staff_id"]
        carers = read_raw_text(folder / "trial_carers.csv")["carer_ref"]
        for ids in (trial, staff, carers):
            assert ids.is_unique and not set(ids) & seen
            seen |= set(ids)
        for file, column in (("header.csv", "CHILD"), ("episodes.csv", "CHILD"), ("referrals.csv", "LAchildID")):
            assert (~read_raw_text(folder / file)[column].isin(trial)).any(), (slug, file)
        assert len(read_raw_text(folder / "header.csv")) > len(trial)
    formats = {slug: read_raw_text(raw_master / slug / "trial_children.csv")["enrolled_on"].iloc[0] for slug in SLUGS}
    assert {bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)) for v in formats.values()} == {True, False}


def test_the_same_seed_gives_the_same_raw_folders() -> None:
    spec = SynthSpec(seed=3, children=80)
    a, b = raw_folders(spec), raw_folders(spec)
    for slug in SLUGS:
        for name in a[slug]:
            pd.testing.assert_frame_equal(a[slug][name], b[slug][name])
    assert RAW_SPEC.children == 400


def test_synth_raw_from_the_command_line(tmp_path: Path, capsys) -> None:
    assert main(["synth", "--raw", str(tmp_path / "raw"), "--children", "80", "--seed", "3"]) == 0
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(SLUGS)
    assert (tmp_path / "raw" / "bexley" / "study.toml").is_file()
    assert main(["synth", "--raw", str(tmp_path / "raw"), "--children", "80"]) == 2  # not empty: refused
    assert main(["synth", "--children", "80"]) == 2  # neither --out nor --raw
    assert "exactly one of --out" in capsys.readouterr().err
