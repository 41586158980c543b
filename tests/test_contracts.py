"""Every rule of study-data.md: a violating study is refused, naming file and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import rewrite, snapshot

from data_contracts import validate_study
from kitbag_analysis.cli import main


def first(frame: pd.DataFrame, **where: str) -> int:
    mask = pd.Series(True, index=frame.index)
    for col, value in where.items():
        mask &= frame[col] == value
    return int(mask.idxmax())


def set_cell(column: str, value: str | None, **where: str):
    def change(frame: pd.DataFrame) -> None:
        frame.loc[first(frame, **where) if where else 0, column] = value

    return change


# (id, file, change, expected column, fragment of the expected check)
CELL_CASES = [
    ("team_id pattern", "teams", set_cell("team_id", "BEX_07"), "team_id", "in the form a team id"),
    ("arm code", "teams", set_cell("arm", "treatment"), "arm", "one of"),
    ("randomised_on type", "teams", set_cell("randomised_on", "03/02/2020"), "randomised_on", "type"),
    ("la slug unknown", "teams", set_cell("local_authority", "camden"), "local_authority", "study.toml"),
    ("child_id pattern", "children", set_cell("child_id", "C12345"), "child_id", "in the form a child pseudonym"),
    ("child team unknown", "children", set_cell("team_id", "ZZZ-T99"), "team_id", "exists in teams.csv"),
    ("birth_year_month shape", "children", set_cell("birth_year_month", "2010-13"), "birth_year_month", "in the form YYYY-MM"),
    ("gender code", "children", set_cell("gender", "F"), "gender", "one of"),
    ("ethnicity code", "children", set_cell("ethnicity", "WHITE"), "ethnicity", "one of"),
    ("disability code", "children", set_cell("disability", "maybe"), "disability", "one of"),
    ("uasc code", "children", set_cell("uasc", "not_recorded"), "uasc", "one of"),
    ("legal_status code", "children", set_cell("legal_status", "looked_after"), "legal_status", "one of"),
    ("enrolled_on type", "children", set_cell("enrolled_on", "2020-02-30"), "enrolled_on", "type"),
    (
        "age over 25",
        "children",
        set_cell("birth_year_month", "1980-01"),
        "birth_year_month",
        "age at enrolment 0 to 25",
    ),
    (
        "born after enrolment",
        "children",
        set_cell("birth_year_month", "2030-01"),
        "birth_year_month",
        "age at enrolment 0 to 25",
    ),
    ("required cell blank", "children", set_cell("gender", None), "gender", "not blank"),
    ("wave code", "child_measures", set_cell("wave", "week12"), "wave", "one of"),
    ("informant code", "child_measures", set_cell("informant", "teacher"), "informant", "one of"),
    ("sdq item 3", "child_measures", set_cell("sdq_05", "3"), "sdq_05", "one of 0, 1, 2"),
    ("sdq item text", "child_measures", set_cell("sdq_05", "often"), "sdq_05", "type: a whole number"),
    ("cries item 2", "child_measures", set_cell("cries_2", "2"), "cries_2", "one of 0, 1, 3, 5"),
    ("cries item half", "child_measures", set_cell("cries_2", "1.5"), "cries_2", "type: a whole number"),
    (
        "measure child unknown",
        "child_measures",
        set_cell("child_id", "C" + "0" * 16),
        "child_id",
        "exists in children.csv",
    ),
    ("assessed_on type", "child_measures", set_cell("assessed_on", "yesterday"), "assessed_on", "type"),
    ("reason_new_episode", "placements", set_cell("reason_new_episode", "X"), "reason_new_episode", "one of"),
    ("placement_type", "placements", set_cell("placement_type", "U10"), "placement_type", "in the form a capital letter and a digit"),
    ("episode legal status", "placements", set_cell("legal_status", "C3"), "legal_status", "one of"),
    ("episode child unknown", "placements", set_cell("child_id", "C" + "1" * 16), "child_id", "exists in children.csv"),
    ("missing_type", "missing_episodes", set_cell("missing_type", "R"), "missing_type", "one of"),
    ("missing child unknown", "missing_episodes", set_cell("child_id", "C" + "2" * 16), "child_id", "exists"),
    ("referral date", "referrals", set_cell("referral_date", "2021-13-01"), "referral_date", "type"),
    ("referral child unknown", "referrals", set_cell("child_id", "C" + "3" * 16), "child_id", "exists"),
    ("practitioner_id pattern", "practitioners", set_cell("practitioner_id", "P-1"), "practitioner_id", "in the form a practitioner pseudonym"),
    ("role code", "practitioners", set_cell("role", "manager"), "role", "one of"),
    ("practitioner team unknown", "practitioners", set_cell("team_id", "ZZZ-T98"), "team_id", "exists"),
    ("gse item 0", "practitioner_measures", set_cell("gse_01", "0"), "gse_01", "one of 1, 2, 3, 4"),
    ("pss item 5", "practitioner_measures", set_cell("pss_03", "5"), "pss_03", "one of 0, 1, 2, 3, 4"),
    ("kitbag_use code", "practitioner_measures", set_cell("kitbag_use", "daily"), "kitbag_use", "one of"),
    (
        "pm practitioner unknown",
        "practitioner_measures",
        set_cell("practitioner_id", "P" + "4" * 16),
        "practitioner_id",
        "exists",
    ),
    ("month shape", "absence", set_cell("month", "2021-1"), "month", "in the form YYYY-MM"),
    ("days_employed 0", "absence", set_cell("days_employed", "0"), "days_employed", "at least 1"),
    ("days_employed 32", "absence", set_cell("days_employed", "32"), "days_employed", "at most 31"),
    ("sickness negative", "absence", set_cell("sickness_days", "-1"), "sickness_days", "at least 0"),
    ("sickness quarter", "absence", set_cell("sickness_days", "0.25"), "sickness_days", "halves"),
    ("sickness above employed", "absence", set_cell("sickness_days", "40"), "sickness_days", "within days employed"),
    (
        "absence practitioner unknown",
        "absence",
        set_cell("practitioner_id", "P" + "5" * 16),
        "practitioner_id",
        "exists",
    ),
    ("carer_id pattern", "carers", set_cell("carer_id", "Fabc"), "carer_id", "in the form a carer pseudonym"),
    ("carer_type", "carers", set_cell("carer_type", "residential"), "carer_type", "one of"),
    ("carer gender", "carers", set_cell("gender", "woman"), "gender", "one of"),
    ("years_experience 61", "carers", set_cell("years_experience", "61"), "years_experience", "at most 60"),
    ("years_experience text", "carers", set_cell("years_experience", "ten"), "years_experience", "type: a number"),
    ("carer team unknown", "carers", set_cell("team_id", "ZZZ-T97"), "team_id", "exists"),
    ("cm carer unknown", "carer_measures", set_cell("carer_id", "F" + "6" * 16), "carer_id", "exists"),
    ("carer gse 5", "carer_measures", set_cell("gse_10", "5"), "gse_10", "one of 1, 2, 3, 4"),
    ("consent id pattern", "consent", set_cell("participant_id", "X" + "0" * 16), "participant_id", "in the form a pseudonym"),
    ("consent type code", "consent", set_cell("participant_type", "parent"), "participant_type", "one of"),
    ("consent status code", "consent", set_cell("status", "paused"), "status", "one of"),
    ("consent date", "consent", set_cell("status_changed_on", "soon"), "status_changed_on", "type"),
]


def failures_of(study: Path) -> list:
    return validate_study(study).report.failures


def assert_refused(study: Path, file: str, column: str, fragment: str) -> None:
    found = failures_of(study)
    hits = [f for f in found if f.file == f"{file}.csv" and column in f.column and fragment in f.check]
    assert hits, f"expected {file}.csv/{column}/{fragment!r}; got {[(f.file, f.column, f.check) for f in found]}"


@pytest.mark.parametrize(
    ("file", "change", "column", "fragment"), [c[1:] for c in CELL_CASES], ids=[c[0] for c in CELL_CASES]
)
def test_cell_rule_refused(study: Path, file, change, column, fragment) -> None:
    rewrite(study, file, change)
    assert_refused(study, file, column, fragment)


def test_clean_study_passes(study: Path) -> None:
    assert failures_of(study) == []


def test_header_only_file_is_valid(study: Path) -> None:
    for file in ("missing_episodes", "referrals", "consent"):
        rewrite(study, file, lambda f: f.iloc[0:0])
    assert failures_of(study) == []


@pytest.mark.parametrize(
    ("file", "key"),
    [
        ("teams", ["team_id"]),
        ("children", ["child_id"]),
        ("practitioners", ["practitioner_id"]),
        ("carers", ["carer_id"]),
        ("child_measures", ["child_id", "wave"]),
        ("practitioner_measures", ["practitioner_id", "wave"]),
        ("carer_measures", ["carer_id", "wave"]),
        ("absence", ["practitioner_id", "month"]),
    ],
)
def test_duplicates_refused(study: Path, file: str, key: list[str]) -> None:
    rewrite(study, file, lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    found = failures_of(study)
    assert any(f.file == f"{file}.csv" and f.check == "unique" and len(f.rows) >= 2 for f in found), found


def test_extra_column_refused_by_name(study: Path) -> None:
    rewrite(study, "carers", lambda f: f.assign(religion="none"))
    assert_refused(study, "carers", "religion", "not a column of the data dictionary")


def test_missing_column_refused(study: Path) -> None:
    rewrite(study, "children", lambda f: f.drop(columns=["uasc"]))
    assert_refused(study, "children", "uasc", "missing")


def test_followup_before_baseline_refused(study: Path) -> None:
    for file, id_col, date_col in (
        ("child_measures", "child_id", "assessed_on"),
        ("practitioner_measures", "practitioner_id", "completed_on"),
        ("carer_measures", "carer_id", "completed_on"),
    ):

        def change(f: pd.DataFrame, id_col=id_col, date_col=date_col) -> None:
            both = f.groupby(id_col)["wave"].transform("nunique") == 2
            pid = f.loc[both, id_col].iloc[0]
            base = f.loc[(f[id_col] == pid) & (f["wave"] == "baseline"), date_col].iloc[0]
            f.loc[(f[id_col] == pid) & (f["wave"] == "followup"), date_col] = base

        rewrite(study, file, change)
        assert_refused(study, file, date_col, "followup after baseline")


def _child_with_two_episodes(f: pd.DataFrame) -> pd.Series:
    counts = f["child_id"].map(f["child_id"].value_counts())
    return f.loc[counts >= 2, "child_id"].iloc[0]


def test_overlapping_episodes_refused(study: Path) -> None:
    def change(f: pd.DataFrame) -> None:
        cid = _child_with_two_episodes(f)
        rows = f.index[f["child_id"] == cid]
        second = rows[1]
        start = pd.Timestamp(f.loc[second, "episode_start"])
        f.loc[second, "episode_start"] = (start - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        f.loc[rows[0], "episode_end"] = start.strftime("%Y-%m-%d")

    rewrite(study, "placements", change)
    assert_refused(study, "placements", "episode_start", "episodes do not overlap")


def test_touching_episodes_are_fine(study: Path) -> None:
    # the synthetic episodes already touch (a move starts the day the last one ended)
    f = pd.read_csv(study / "placements.csv")
    assert (f["episode_start"].isin(f["episode_end"])).any()
    assert failures_of(study) == []


def test_open_episode_before_latest_refused(study: Path) -> None:
    def change(f: pd.DataFrame) -> None:
        cid = _child_with_two_episodes(f)
        first_row = f.index[f["child_id"] == cid][0]
        f.loc[first_row, "episode_end"] = None

    rewrite(study, "placements", change)
    assert_refused(study, "placements", "episode_end", "only latest episode open")


def test_episode_end_before_start_refused(study: Path) -> None:
    rewrite(study, "placements", set_cell("episode_end", "1999-01-01"))
    assert_refused(study, "placements", "episode_end", "episode end not before start")


def test_missing_end_before_start_refused(study: Path) -> None:
    rewrite(study, "missing_episodes", set_cell("missing_end", "1999-01-01"))
    assert_refused(study, "missing_episodes", "missing_end", "not before start")


def test_consent_type_must_agree_with_id(study: Path) -> None:
    def change(f: pd.DataFrame) -> None:
        row = first(f, participant_type="child")
        f.loc[row, "participant_type"] = "carer"

    rewrite(study, "consent", change)
    assert_refused(study, "consent", "participant_type", "type agrees with id")


def test_every_failure_reported_in_one_run(study: Path) -> None:
    rewrite(study, "children", set_cell("gender", "F"))
    rewrite(study, "absence", set_cell("days_employed", "0"))
    rewrite(study, "teams", set_cell("arm", "x"))
    files = {f.file for f in failures_of(study)}
    assert {"children.csv", "absence.csv", "teams.csv"} <= files


def test_row_numbers_are_data_rows(study: Path) -> None:
    def change(f: pd.DataFrame) -> None:
        f.loc[4, "gender"] = "F"  # the fifth data row

    rewrite(study, "children", change)
    [hit] = [f for f in failures_of(study) if f.column == "gender"]
    assert hit.rows == (5,)


def test_validate_never_modifies_input(study: Path) -> None:
    rewrite(study, "children", set_cell("gender", "F"))
    before = snapshot(study)
    assert main(["validate", str(study)]) == 1
    assert snapshot(study) == before
