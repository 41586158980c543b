"""kitbag intake-survey: a platform export into the study, emails apart (study-data.md, "Intake")."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_contracts.guards import SEARCHERS
from data_contracts.instruments import CRIES8, GSE, PSS10, SDQ
from kitbag_analysis.analysis.scoring import score_measures
from kitbag_analysis.cli import main
from kitbag_analysis.intake import survey
from kitbag_analysis.synthetic.generate import SynthSpec, write_study
from kitbag_analysis.synthetic.survey_exports import PLATFORM_COLUMNS, hold_back
from tests.conftest import read_csv_text

EMAIL = SEARCHERS["email address"]  # linear on long runs (a base64 image)
# The questionnaires' printed answers, typed out here by hand (not read from instruments.py).
HAND_GSE = {"not at all true": 1, "hardly true": 2, "moderately true": 3, "exactly true": 4}
HAND_PSS = {"never": 0, "almost never": 1, "sometimes": 2, "fairly often": 3, "very often": 4}
HAND_USE = {"never": "never", "rarely": "rarely", "sometimes": "sometimes", "often": "often"}
KEY = ["practitioner_id", "wave"]


def folder_hash(folder: Path) -> str:
    """One digest of every file's name, mode and bytes under ``folder`` (hidden files too)."""
    digest = hashlib.sha256()
    if folder.exists():
        for p in sorted(folder.rglob("*")):
            digest.update(str(p.relative_to(folder)).encode())
            if p.is_file():
                digest.update(oct(p.stat().st_mode).encode() + p.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def held(study: Path, tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """The small study with 200 practitioners' follow-up rows held back as a platform export."""
    original = read_csv_text(study / "practitioner_measures.csv")
    export = hold_back(study, tmp_path / "exports", "practitioners", "followup", n=200, seed=3)
    return study, export, original


def _intake(study: Path, export: Path, draw: Path, *extra: str, population: str = "practitioners") -> int:
    argv = ["intake-survey", str(export), "--population", population, "--wave", "followup"]
    return main([*argv, "--study", str(study), "--prize-draw", str(draw), *extra])


def _hand_coded(export: pd.DataFrame) -> pd.DataFrame:
    """The export's answers coded by hand (labels or digits, any case and spacing)."""
    coded = {"practitioner_id": export["external_ref"], "wave": "followup"}
    for inst, table in ((GSE, HAND_GSE), (PSS10, HAND_PSS)):
        for column in inst.columns:
            text = export[column].str.strip().str.lower()
            coded[column] = pd.to_numeric(text.map(table).fillna(text), errors="coerce").astype("Int64")
    use = export["kitbag_use"].str.strip().str.lower()
    coded["kitbag_use"] = use.map(HAND_USE).fillna("not_asked")
    return pd.DataFrame(coded)


def test_200_practitioners_at_followup_go_in(held, tmp_path: Path, capsys) -> None:
    study, export_path, original = held
    export = read_csv_text(export_path)
    assert len(export) == 200 and len(read_csv_text(study / "practitioner_measures.csv")) == len(original) - 200
    draw = tmp_path / "draw"
    assert _intake(study, export_path, draw) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps lines
    after = read_csv_text(study / "practitioner_measures.csv")
    # exactly the held-back rows came back: the file is the original one, row for row
    pd.testing.assert_frame_equal(
        after.sort_values(KEY).reset_index(drop=True), original.sort_values(KEY).reset_index(drop=True)
    )
    new = after.iloc[len(original) - 200 :].reset_index(drop=True)
    assert list(new["practitioner_id"]) == list(export["external_ref"])
    # scores of the new rows = scores of the labels coded by hand
    items = [*GSE.columns, *PSS10.columns]
    ours = score_measures(
        new.assign(**{c: pd.to_numeric(new[c]).astype("Int64") for c in items}), "practitioner_measures"
    )
    hand = score_measures(_hand_coded(export), "practitioner_measures")
    for score in ("gse_total", "pss10_total"):
        np.testing.assert_array_equal(ours[score].to_numpy(float), hand[score].to_numpy(float))
    assert ours["gse_total"].notna().sum() > 150
    assert (new["kitbag_use"] == hand["kitbag_use"]).all()
    assert main(["validate", str(study)]) == 0
    # the summary names the dropped platform columns and counts them, never a value
    for column in PLATFORM_COLUMNS:
        assert f"{column} (200 non-blank cells)" in printed
    assert "192.0.2." not in printed and "@" not in printed
    # emails only, sorted, each once, in a 0600 file beside no pseudonym
    entrants = draw / survey.ENTRANTS_FILE
    assert stat.S_IMODE(entrants.stat().st_mode) == 0o600
    listed = read_csv_text(entrants)
    assert list(listed.columns) == ["email"]
    given_emails = export["email"].dropna()
    assert list(listed["email"]) == sorted(set(given_emails.str.lower()))
    assert not re.search(rb"[PF][0-9a-f]{16}", entrants.read_bytes())
    assert not (set(os.listdir(draw)) - {survey.ENTRANTS_FILE, survey.MARKER_FILE})


def _identifiers(export: pd.DataFrame) -> set[bytes]:
    values = pd.concat([export["email"], *(export[c] for c in PLATFORM_COLUMNS if "Recipient" in c or "IP" in c)])
    return {v.encode() for v in values.dropna().unique()}


def _no_identifier_under(folder: Path, identifiers: set[bytes]) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            lowered = data.lower()
            hits += [f"{path}: email shape" for _ in EMAIL.finditer(data.decode("latin-1"))][:1]
            hits += [f"{path}: identifier" for v in identifiers if v in data or v.lower() in lowered][:1]
    return hits


def test_no_email_ip_or_name_in_the_study_or_its_report(study: Path, tmp_path: Path) -> None:
    """The whole path: the small study, an export in, a report built; every byte of both is searched."""
    export_path = hold_back(study, tmp_path / "exports", "practitioners", "followup", seed=5)
    export = read_csv_text(export_path)
    identifiers = _identifiers(export)
    assert len(identifiers) > 100 and any(b"192.0.2." in v for v in identifiers)
    assert _intake(study, export_path, tmp_path / "draw") == 0
    out = tmp_path / "bundle"
    assert main(["report", str(study), "--unit", "bexley", "--out", str(out)]) == 0
    assert (out / "bexley" / "report.html").is_file()
    assert _no_identifier_under(study, identifiers) == []
    assert _no_identifier_under(out, identifiers) == []
    ips = {v.encode() for v in export["IPAddress"]}
    held = b"".join(p.read_bytes() for p in (tmp_path / "draw").rglob("*") if p.is_file())
    assert b"@example.org" in held and not any(ip in held for ip in ips)  # emails by design, nothing else


def test_carers_and_a_column_map(study: Path, tmp_path: Path) -> None:
    original = read_csv_text(study / "carer_measures.csv")
    export_path = hold_back(study, tmp_path / "exports", "carers", "followup", seed=9)
    renamed = {c: f"Q{k}" for k, c in enumerate(GSE.columns, start=1)} | {"external_ref": "Respondent ref"}
    frame = read_csv_text(export_path).rename(columns=renamed)
    frame.to_csv(export_path, index=False)
    mapping = tmp_path / "map.toml"
    mapping.write_text("".join(f'"{new}" = "{old}"\n' for old, new in renamed.items()), encoding="utf-8")
    assert _intake(study, export_path, tmp_path / "draw", "--map", str(mapping), population="carers") == 0
    after = read_csv_text(study / "carer_measures.csv")
    key = ["carer_id", "wave"]
    pd.testing.assert_frame_equal(
        after.sort_values(key).reset_index(drop=True), original.sort_values(key).reset_index(drop=True)
    )


def test_parquet_study(tmp_path: Path) -> None:
    study = write_study(tmp_path / "study", SynthSpec(seed=3, children=80), fmt="parquet")
    before = pd.read_parquet(study / "practitioner_measures.parquet")
    export_path = hold_back(study, tmp_path / "exports", "practitioners", "followup", n=20)
    assert _intake(study, export_path, tmp_path / "draw") == 0
    after = pd.read_parquet(study / "practitioner_measures.parquet")
    assert len(after) == len(before) and main(["validate", str(study)]) == 0
    pd.testing.assert_frame_equal(
        after.sort_values(KEY).reset_index(drop=True)[before.columns],
        before.sort_values(KEY).reset_index(drop=True),
        check_dtype=False,
    )


def test_entrants_created_private_never_chmod(held, tmp_path: Path, monkeypatch) -> None:
    """The list is born 0600: a chmod anywhere during the intake would fail this test."""
    study, export_path, _ = held

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("chmod called")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(os, "fchmod", refuse)
    monkeypatch.setattr(Path, "chmod", refuse)
    old = os.umask(0o022)
    try:
        assert _intake(study, export_path, tmp_path / "draw") == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "draw" / survey.ENTRANTS_FILE).stat().st_mode) == 0o600


def test_second_export_merges_emails_and_leaves_no_old_copy(held, tmp_path: Path) -> None:
    study, export_path, _ = held
    draw = tmp_path / "draw"
    carers = hold_back(study, tmp_path / "exports", "carers", "followup", seed=4)
    assert _intake(study, export_path, draw) == 0
    assert _intake(study, carers, draw, population="carers") == 0
    emails = pd.concat([read_csv_text(p)["email"] for p in (export_path, carers)]).dropna().str.lower()
    assert list(read_csv_text(draw / survey.ENTRANTS_FILE)["email"]) == sorted(set(emails))
    assert sorted(os.listdir(draw)) == sorted([survey.ENTRANTS_FILE, survey.MARKER_FILE])


@pytest.mark.parametrize("where", ["inside", "same", "holding"])
def test_prize_draw_folder_apart_from_the_study(held, tmp_path: Path, where: str, capsys) -> None:
    study, export_path, _ = held
    draw = {"inside": study / "draw", "same": study, "holding": tmp_path}[where]
    before = folder_hash(tmp_path)
    assert _intake(study, export_path, draw) == 2
    assert "kept apart" in capsys.readouterr().err
    assert folder_hash(tmp_path) == before


def test_emails_need_a_closing_date(held, tmp_path: Path, capsys) -> None:
    study, export_path, _ = held
    toml = study / "study.toml"
    toml.write_text(toml.read_text().split("[retention]")[0], encoding="utf-8")
    assert _intake(study, export_path, tmp_path / "draw") == 2
    assert "prize_draw_closes" in capsys.readouterr().err
    assert not (tmp_path / "draw").exists()


# --- fifteen bad exports: each refused whole, named by file, row and column, never by value ------
def _set(column: str, row: int, value: str):
    def change(frame: pd.DataFrame, study: Path) -> str:
        frame.loc[row - 1, column] = value
        return value

    return change


def _unknown_ref(frame: pd.DataFrame, study: Path) -> str:
    frame.loc[2, "external_ref"] = "P00000000deadbeef"
    return "P00000000deadbeef"


def _repeated_ref(frame: pd.DataFrame, study: Path) -> str:
    frame.loc[4, "external_ref"] = frame.loc[1, "external_ref"]
    return frame.loc[1, "external_ref"]


def _already_has_wave(frame: pd.DataFrame, study: Path) -> str:
    kept = read_csv_text(study / "practitioner_measures.csv")
    taken = kept.loc[kept["wave"] == "followup", "practitioner_id"].iloc[0]
    frame.loc[5, "external_ref"] = taken
    return taken


def _before_baseline(frame: pd.DataFrame, study: Path) -> str:
    kept = read_csv_text(study / "practitioner_measures.csv")
    with_baseline = set(kept.loc[kept["wave"] == "baseline", "practitioner_id"])
    row = int(np.flatnonzero(frame["external_ref"].isin(with_baseline))[0])
    frame.loc[row, "completed_on"] = "02/01/2019"
    return "02/01/2019"


BAD = {
    # name: (change, exit code, column named, export row named (None: a study-file row))
    "unknown respondent": (_unknown_ref, 1, "external_ref", 3),
    "blank respondent": (_set("external_ref", 4, ""), 1, "external_ref", 4),
    "respondent twice in the export": (_repeated_ref, 1, "external_ref", 5),
    "respondent already has the wave": (_already_has_wave, 1, "external_ref", 6),
    "unknown GSE label": (_set("gse_03", 7, "Totally true"), 1, "gse_03", 7),
    "a kitbag_use label as a PSS answer": (_set("pss_04", 8, "Rarely"), 1, "pss_04", 8),
    "a code outside the scale": (_set("gse_01", 9, "5"), 1, "gse_01", 9),
    "unknown kitbag_use label": (_set("kitbag_use", 10, "Always"), 1, "kitbag_use", 10),
    "an email typed into an item": (_set("pss_01", 11, "jo.bloggs@example.org"), 1, "pss_01", 11),
    "a date in another form": (_set("completed_on", 12, "2021/03/04"), 1, "completed_on", 12),
    "a day that does not exist": (_set("completed_on", 13, "31/02/2021"), 1, "completed_on", 13),
    "a time that does not exist": (_set("completed_on", 14, "2021-03-04 25:61"), 1, "completed_on", 14),
    "a date after today": (_set("completed_on", 15, "2099-01-01"), 1, "completed_on", 15),
    "blank completion date": (_set("completed_on", 16, ""), 1, "completed_on", 16),
    "not an email address": (_set("email", 17, "Zebedee Frobisher"), 1, "email", 17),
    "follow-up before baseline (the contracts)": (_before_baseline, 1, "completed_on", None),
}


@pytest.fixture
def filled(held, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The held study, and a prize-draw folder already holding the carers' emails."""
    study, export_path, _ = held
    carers = hold_back(study, tmp_path / "exports", "carers", "followup", seed=8)
    assert _intake(study, carers, tmp_path / "draw", population="carers") == 0
    assert (tmp_path / "draw" / survey.ENTRANTS_FILE).exists()
    return study, export_path, tmp_path / "draw"


@pytest.mark.parametrize("case", list(BAD))
def test_bad_export_refused_whole(filled, case: str, capsys) -> None:
    study, export_path, draw = filled
    change, code, column, row = BAD[case]
    frame = read_csv_text(export_path)
    value = change(frame, study)
    frame.to_csv(export_path, index=False)
    before = folder_hash(study), folder_hash(draw), folder_hash(study.parent / "draw2")
    capsys.readouterr()
    assert _intake(study, export_path, study.parent / "draw2") == code  # a fresh folder is not even made
    capsys.readouterr()
    assert _intake(study, export_path, draw) == code
    captured = capsys.readouterr()
    message = captured.err.split("kitbag intake-survey: ")[1]
    assert captured.out == "" and "Traceback" not in captured.err
    assert len(message.strip().splitlines()) == 1  # one paragraph
    assert f"column {column}" in message and "nothing was written" in message
    if row is None:
        assert "practitioner_measures.csv" in message and str(export_path) in message
    else:
        assert str(export_path) in message and re.search(rf"\brows? (\d+, )*{row}\b", message)
    if len(value) > 2:
        assert value not in message
    assert (folder_hash(study), folder_hash(draw), folder_hash(study.parent / "draw2")) == before


UNUSABLE = {
    "an item column missing": (lambda f: f.drop(columns="pss_07"), "pss_07"),
    "the respondent column missing": (lambda f: f.drop(columns="external_ref"), "external_ref"),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_unusable_export_exit_2(filled, case: str, capsys) -> None:
    study, export_path, draw = filled
    change, named = UNUSABLE[case]
    change(read_csv_text(export_path)).to_csv(export_path, index=False)
    before = folder_hash(study), folder_hash(draw)
    assert _intake(study, export_path, draw) == 2
    assert named in capsys.readouterr().err
    assert (folder_hash(study), folder_hash(draw)) == before


def test_not_utf8_and_bad_map_exit_2(filled, tmp_path: Path, capsys) -> None:
    study, export_path, draw = filled
    before = folder_hash(study), folder_hash(draw)
    mapping = tmp_path / "map.toml"
    mapping.write_text('"gse_01" = "gse_99"\n', encoding="utf-8")
    assert _intake(study, export_path, draw, "--map", str(mapping)) == 2
    assert "--map entry 1" in capsys.readouterr().err
    export_path.write_bytes(export_path.read_bytes().replace(b"Hardly true", b"Hardly tr\xe9"))
    assert _intake(study, export_path, draw) == 2
    assert "UTF-8" in capsys.readouterr().err
    assert (folder_hash(study), folder_hash(draw)) == before


# --- label and date parsing, fuzzed ---------------------------------------------------------
ANSWERS = {a.column.split("_")[0]: a for a in survey.answer_columns("practitioners")}
SPACE = st.text(alphabet=" \t\u00a0", max_size=3)


@st.composite
def typed_label(draw: st.DrawFn) -> tuple[str, str, int]:
    inst = draw(st.sampled_from([GSE, PSS10]))
    k = draw(st.integers(0, len(inst.labels) - 1))
    label = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in inst.labels[k])
    return inst.key, draw(SPACE) + label + draw(SPACE), inst.allowed[k]


@given(typed_label())
def test_labels_match_any_case_and_surrounding_space(case: tuple[str, str, int]) -> None:
    key, text, code = case
    codes, bad = survey.parse_answers(pd.Series([text, None, f" {code} "]), ANSWERS[key])
    assert not bad.any()
    assert list(codes) == [str(code), None, str(code)]


@given(st.text(max_size=20))
def test_any_other_answer_is_refused(text: str) -> None:
    answers = ANSWERS["gse"]
    codes, bad = survey.parse_answers(pd.Series([text]), answers)
    known = text.strip().casefold() in answers.codes
    assert bad[0] == (text.strip() != "" and not known)


def test_labels_declared_beside_the_items() -> None:
    assert GSE.labels[0] == "Not at all true" and PSS10.labels[-1] == "Very often"
    assert len(SDQ.labels) == len(SDQ.allowed) and len(CRIES8.labels) == len(CRIES8.allowed)
    assert survey.answer_columns("carers")[-1].codes["often"] == "often"
    assert survey.answer_columns("carers")[-1].blank == "not_asked"


@given(
    st.datetimes(
        min_value=pd.Timestamp("1990-01-01").to_pydatetime(), max_value=pd.Timestamp("2099-12-31").to_pydatetime()
    ),
    st.sampled_from([fmt for _, fmt in survey.DATE_FORMATS]),
    SPACE,
)
def test_dates_in_every_platform_form(when, fmt: str, pad: str) -> None:
    parsed = survey.parse_completed_on(pd.Series([pad + when.strftime(fmt) + pad]))
    assert parsed.iloc[0] == pd.Timestamp(when.date())


@given(st.text(max_size=20))
def test_any_other_date_is_refused(text: str) -> None:
    fits = any(re.fullmatch(p, text.strip()) for p, _ in survey.DATE_FORMATS)
    parsed = survey.parse_completed_on(pd.Series([text], dtype=object))
    if not fits:
        assert pd.isna(parsed.iloc[0])


@pytest.mark.parametrize("text", ["31/02/2021", "2021-02-29", "2021-13-01", "00/01/2021", "2021-01-01 24:00", "1/1/21"])
def test_impossible_dates(text: str) -> None:
    assert pd.isna(survey.parse_completed_on(pd.Series([text])).iloc[0])


def test_snapshot_helper_sees_modes(tmp_path: Path) -> None:
    """folder_hash notices a change of mode as well as of bytes (so the tests above can fail)."""
    (tmp_path / "f").write_text("x")
    before = folder_hash(tmp_path)
    (tmp_path / "f").chmod(0o600)
    assert folder_hash(tmp_path) != before
    shutil.rmtree(tmp_path / "f", ignore_errors=True)


def test_synth_survey_exports(tmp_path: Path, capsys) -> None:
    argv = ["synth", "--out", str(tmp_path / "s"), "--children", "80", "--seed", "2"]
    assert main([*argv, "--survey-exports", str(tmp_path / "s" / "exports")]) == 2
    assert "kept apart" in capsys.readouterr().err and not (tmp_path / "s").exists()
    assert main([*argv, "--survey-exports", str(tmp_path / "exports")]) == 0
    held = read_csv_text(tmp_path / "exports" / "practitioners_followup.csv")
    assert set(PLATFORM_COLUMNS) <= set(held.columns) and held["email"].notna().any()
    kept = read_csv_text(tmp_path / "s" / "practitioner_measures.csv")
    assert (kept["wave"] == "baseline").all() and main(["validate", str(tmp_path / "s")]) == 0
