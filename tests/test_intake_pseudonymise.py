"""`kitbag pseudonymise`: raw LA extracts to one LA's study folder (study-data.md, "Intake")."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake_raw import (  # noqa: F401 - fixtures
    KEYS,
    assert_no_leak,
    files_bytes,
    identifier_values,
    key_file,
    raw_fixture,
    raw_master_fixture,
    read_raw_text,
)

from data_contracts import validate_study
from kitbag_analysis.cli import main
from kitbag_analysis.intake.keys import pseudonym
from kitbag_analysis.intake.rawfiles import RAW_FILES


def run(raw_dir: Path, out: Path, key: Path, la: str, capsys) -> tuple[int, str, str]:
    code = main(["pseudonymise", str(raw_dir), "--key", str(key), "--la", la, "--out", str(out)])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def test_one_la_becomes_a_valid_study_folder_with_keyed_pseudonyms(raw: Path, tmp_path: Path, capsys) -> None:
    key = key_file(tmp_path, "bexley")
    code, out, err = run(raw / "bexley", tmp_path / "out", key, "bexley", capsys)
    assert code == 0, err
    study = tmp_path / "out"
    assert validate_study(study).report.ok
    assert sorted(p.name for p in study.iterdir()) == sorted(
        ["study.toml", *(f"{n}.csv" for n in validate_study(study).frames)]
    )
    trial = read_raw_text(raw / "bexley" / "trial_children.csv")
    children = pd.read_csv(study / "children.csv", dtype=str)
    assert children["child_id"].tolist() == [pseudonym(KEYS["bexley"], "child", c) for c in trial["CHILD"]]
    header = read_raw_text(raw / "bexley" / "header.csv").set_index("CHILD")
    dob = pd.to_datetime(header.loc[trial["CHILD"], "DOB"], format="%d/%m/%Y")
    assert children["birth_year_month"].tolist() == dob.dt.strftime("%Y-%m").tolist()
    staff = read_raw_text(raw / "bexley" / "trial_practitioners.csv")
    absence = pd.read_csv(study / "absence.csv", dtype=str)
    assert set(absence["practitioner_id"]) <= {pseudonym(KEYS["bexley"], "practitioner", s) for s in staff["staff_id"]}
    assert (
        "[local_authorities]" in (study / "study.toml").read_text()
        and "haringey" not in (study / "study.toml").read_text()
    )
    # the summary: rows in / out / dropped, the dropped columns by name
    for spec in RAW_FILES:
        assert spec.name in out
    for name in ("UPN", "MOTHER", "MC_DOB", "HOME_POST", "PL_POST", "URN", "forename", "email", "postcode"):
        assert name in out
    episodes = read_raw_text(raw / "bexley" / "episodes.csv")
    on_list = episodes["CHILD"].isin(trial["CHILD"])
    assert len(pd.read_csv(study / "placements.csv")) == on_list.sum() < len(episodes)
    row = next(line for line in out.splitlines() if "episodes.csv" in line)
    assert f"{len(episodes)}" in row and f"{on_list.sum()}" in row and f"{(~on_list).sum()}" in row


def test_no_identifier_or_key_reaches_the_output_or_the_screen(raw: Path, tmp_path: Path, capsys) -> None:
    key = key_file(tmp_path, "haringey")
    code, out, err = run(raw / "haringey", tmp_path / "out", key, "haringey", capsys)
    assert code == 0, err
    values = identifier_values(raw / "haringey")
    assert len(values) > 1000
    assert_no_leak(values, [KEYS["haringey"]], files_bytes(tmp_path / "out"), out + err)
    # no full date of birth: the child's own date of birth is nowhere in its row
    header = read_raw_text(raw / "haringey" / "header.csv").set_index("CHILD")
    trial = read_raw_text(raw / "haringey" / "trial_children.csv")
    iso = pd.to_datetime(header.loc[trial["CHILD"], "DOB"], format="%d/%m/%Y").dt.strftime("%Y-%m-%d").to_numpy()
    lines = (tmp_path / "out" / "children.csv").read_text().splitlines()[1:]
    assert not any(d in line for d, line in zip(iso, lines, strict=True))


def test_the_leak_check_finds_a_planted_identifier_or_key(raw: Path) -> None:
    values = identifier_values(raw / "bexley")
    upn = read_raw_text(raw / "bexley" / "header.csv")["UPN"][0]
    name = read_raw_text(raw / "bexley" / "trial_practitioners.csv")["name"][0]
    key = KEYS["bexley"]
    for blobs, printed in (
        ({"a.csv": f"x,{upn},y".encode()}, ""),
        ({"a.csv": b"x," + key.hex().encode()}, ""),
        ({"a.csv": b"x"}, f"│ {upn[:5]}\n│ {upn[5:]} │"),  # wrapped across table lines
        ({"a.csv": b"x"}, f"staff: {name}"),
    ):
        with pytest.raises(AssertionError):
            assert_no_leak(values, [key], blobs, printed)
    assert_no_leak(values, [key], {"a.csv": b"child_id\nC0123456789abcdef\n"}, "rows in 66")


def test_same_raw_and_key_give_identical_bytes_another_key_other_pseudonyms(raw: Path, tmp_path: Path, capsys) -> None:
    key = key_file(tmp_path, "oxfordshire")
    for out in ("a", "b"):
        assert run(raw / "oxfordshire", tmp_path / out, key, "oxfordshire", capsys)[0] == 0
    assert {p.name: b for p, b in files_bytes(tmp_path / "a").items()} == {
        p.name: b for p, b in files_bytes(tmp_path / "b").items()
    }
    other = tmp_path / "other.key"
    assert main(["key", "new", "--out", str(other)]) == 0
    assert run(raw / "oxfordshire", tmp_path / "c", other, "oxfordshire", capsys)[0] == 0
    for name, id_column in (("children", "child_id"), ("practitioners", "practitioner_id"), ("carers", "carer_id")):
        a = pd.read_csv(tmp_path / "a" / f"{name}.csv", dtype=str)
        c = pd.read_csv(tmp_path / "c" / f"{name}.csv", dtype=str)
        assert not set(a[id_column]) & set(c[id_column])
        assert a.drop(columns=id_column).equals(c.drop(columns=id_column))


def test_a_second_return_with_one_more_episode_changes_only_that_row(raw: Path, tmp_path: Path, capsys) -> None:
    key = key_file(tmp_path, "warwickshire")
    folder = raw / "warwickshire"
    assert run(folder, tmp_path / "first", key, "warwickshire", capsys)[0] == 0
    trial = read_raw_text(folder / "trial_children.csv")
    episodes = read_raw_text(folder / "episodes.csv")
    child = trial.loc[~trial["CHILD"].isin(episodes["CHILD"]), "CHILD"].iloc[0]
    new = {c: "" for c in episodes.columns} | {
        "CHILD": child,
        "DECOM": "01/06/2021",
        "RNE": "S",
        "LS": "C2",
        "PLACE": "U1",
    }
    pd.concat([episodes, pd.DataFrame([new])], ignore_index=True).to_csv(folder / "episodes.csv", index=False)
    assert run(folder, tmp_path / "second", key, "warwickshire", capsys)[0] == 0
    first, second = files_bytes(tmp_path / "first"), files_bytes(tmp_path / "second")
    changed = [p.name for p, b in first.items() if second[tmp_path / "second" / p.name] != b]
    assert changed == ["placements.csv"]
    old = (tmp_path / "first" / "placements.csv").read_text().splitlines()
    now = (tmp_path / "second" / "placements.csv").read_text().splitlines()
    assert now[:-1] == old
    assert now[-1] == f"{pseudonym(KEYS['warwickshire'], 'child', child)},2021-06-01,,S,U1,C2"


def test_without_a_study_toml_the_spec_settings_are_used(raw: Path, tmp_path: Path, capsys) -> None:
    (raw / "bexley" / "study.toml").unlink()
    assert run(raw / "bexley", tmp_path / "out", key_file(tmp_path, "bexley"), "bexley", capsys)[0] == 0
    text = (tmp_path / "out" / "study.toml").read_text()
    assert 'name = "Putting Kitbags to Work"' in text and 'bexley = "London Borough of Bexley"' in text
    code, _, err = run(raw / "bexley", tmp_path / "out2", key_file(tmp_path, "bexley"), "camden", capsys)
    assert code == 2 and "study.toml" in err and not (tmp_path / "out2").exists()


def test_refuses_a_non_empty_out_folder_and_a_bad_key(raw: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    code, _, err = run(raw / "bexley", tmp_path / "full", key_file(tmp_path, "bexley"), "bexley", capsys)
    assert code == 2 and "not an empty folder" in err
    (tmp_path / "bad.key").write_bytes(b"short")
    code, _, err = run(raw / "bexley", tmp_path / "out", tmp_path / "bad.key", "bexley", capsys)
    assert code == 2 and "32 bytes" in err and not (tmp_path / "out").exists()


# --- corruptions: each names file, column and row, never the value; nothing is written ------------------
def cell(file: str, column: str, row: int, value: str) -> Callable[[Path], None]:
    """Set one cell (row 1 = the first row after the header)."""

    def change(folder: Path) -> None:
        frame = read_raw_text(folder / file)
        frame.loc[row - 1, column] = value
        frame.to_csv(folder / file, index=False)

    return change


def drop_column(file: str, column: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        read_raw_text(folder / file).drop(columns=column).to_csv(folder / file, index=False)

    return change


def swap_dates(folder: Path) -> None:
    frame = read_raw_text(folder / "episodes.csv")
    closed = frame.index[frame["DEC"] != ""][0]
    frame.loc[closed, ["DECOM", "DEC"]] = frame.loc[closed, ["DEC", "DECOM"]].to_numpy()
    frame.to_csv(folder / "episodes.csv", index=False)
    swap_dates.row = closed + 1


def raw_bytes(file: str, line: int, find: bytes, replace: bytes) -> Callable[[Path], None]:
    """Replace the first ``find`` on one line (1 = the header) of the file's bytes."""

    def change(folder: Path) -> None:
        lines = (folder / file).read_bytes().split(b"\n")
        assert find in lines[line - 1]
        lines[line - 1] = lines[line - 1].replace(find, replace, 1)
        (folder / file).write_bytes(b"\n".join(lines))

    return change


def no_header_row(folder: Path) -> None:
    frame = read_raw_text(folder / "header.csv")
    trial = read_raw_text(folder / "trial_children.csv")
    frame[frame["CHILD"] != trial.loc[4, "CHILD"]].to_csv(folder / "header.csv", index=False)


def twice_in_header(folder: Path) -> None:
    frame = read_raw_text(folder / "header.csv")
    pd.concat([frame, frame.iloc[[2]]], ignore_index=True).to_csv(folder / "header.csv", index=False)


def twice(file: str, row: int) -> Callable[[Path], None]:
    """Repeat one row at the end of the file."""

    def change(folder: Path) -> None:
        frame = read_raw_text(folder / file)
        pd.concat([frame, frame.iloc[[row - 1]]], ignore_index=True).to_csv(folder / file, index=False)

    return change


def ragged(folder: Path) -> None:
    text = (folder / "missing.csv").read_text().splitlines()
    text[3] += ",extra"
    (folder / "missing.csv").write_text("\n".join(text) + "\n")


# (id, change, exit code, file, column, row, value that must not be echoed)
CORRUPTIONS = [
    ("dob-not-a-date", cell("header.csv", "DOB", 3, "31/02/2012"), 2, "header.csv", "DOB", "row 3", "31/02/2012"),
    ("dob-month-13", cell("header.csv", "DOB", 2, "2012-13-01"), 2, "header.csv", "DOB", "row 2", "2012-13-01"),
    ("dob-blank", cell("header.csv", "DOB", 4, ""), 1, "header.csv", "DOB", "row 4", None),
    ("ethnic-unknown", cell("header.csv", "ETHNIC", 5, "QQQQ"), 2, "header.csv", "ETHNIC", "row 5", "QQQQ"),
    ("decom-text", cell("episodes.csv", "DECOM", 2, "yesterday"), 2, "episodes.csv", "DECOM", "row 2", "yesterday"),
    ("rne-unknown", cell("episodes.csv", "RNE", 3, "ZZ9"), 2, "episodes.csv", "RNE", "row 3", "ZZ9"),
    ("place-unknown", cell("episodes.csv", "PLACE", 1, "Q9"), 2, "episodes.csv", "PLACE", "row 1", "Q9"),
    ("ls-unknown", cell("episodes.csv", "LS", 4, "X9X"), 2, "episodes.csv", "LS", "row 4", "X9X"),
    ("episode-ends-before-start", swap_dates, 1, "episodes.csv", "DEC", None, None),
    (
        "missing-type-unknown",
        cell("missing.csv", "MISSING", 2, "RUNAWAY"),
        2,
        "missing.csv",
        "MISSING",
        "row 2",
        "RUNAWAY",
    ),
    (
        "referral-date-slashes-iso",
        cell("referrals.csv", "CINreferralDate", 3, "2020/01/01"),
        2,
        "referrals.csv",
        "CINreferralDate",
        "row 3",
        "2020/01/01",
    ),
    (
        "enrolled-dashes",
        cell("trial_children.csv", "enrolled_on", 6, "01-02-2020"),
        2,
        "trial_children.csv",
        "enrolled_on",
        "row 6",
        "01-02-2020",
    ),
    (
        "assessed-feb-30",
        cell("child_measures.csv", "assessed_on", 2, "2020-02-30"),
        2,
        "child_measures.csv",
        "assessed_on",
        "row 2",
        "2020-02-30",
    ),
    (
        "trial-list-no-team-column",
        drop_column("trial_children.csv", "team_id"),
        2,
        "trial_children.csv",
        "team_id",
        "header row",
        None,
    ),
    ("header-no-dob-column", drop_column("header.csv", "DOB"), 2, "header.csv", "DOB", "header row", None),
    (
        "not-utf8",
        raw_bytes("trial_children.csv", 5, b",", b",\xe9"),
        2,
        "trial_children.csv",
        "column forename",
        "row 4",
        None,
    ),
    (
        "consent-type-unknown",
        cell("consent.csv", "participant_type", 2, "parent"),
        2,
        "consent.csv",
        "participant_type",
        "row 2",
        "parent",
    ),
    ("child-id-blank", cell("trial_children.csv", "CHILD", 2, ""), 2, "trial_children.csv", "CHILD", "row 2", None),
    (
        "legal-status-unknown",
        cell("trial_children.csv", "legal_status", 3, "adopted"),
        1,
        "trial_children.csv",
        "legal_status",
        "row 3",
        "adopted",
    ),
    (
        "upn-in-team-id",
        cell("trial_children.csv", "team_id", 7, "A303123456789"),
        1,
        "trial_children.csv",
        "team_id",
        "row 7",
        "A303123456789",
    ),
    ("trial-child-without-header-row", no_header_row, 1, "trial_children.csv", "CHILD", "row 5", None),
    (
        "days-employed-text",
        cell("absence.csv", "days_employed", 8, "lots"),
        1,
        "absence.csv",
        "days_employed",
        "row 8",
        "lots",
    ),
    ("child-twice-in-header", twice_in_header, 2, "header.csv", "CHILD", "rows 3,", None),
    (
        "la-not-in-study-toml",
        cell("teams.csv", "local_authority", 2, "camden"),
        1,
        "teams.csv",
        "local_authority",
        "row 2",
        "camden",
    ),
    (
        "child-twice-on-trial-list",
        twice("trial_children.csv", 2),
        1,
        "trial_children.csv",
        "CHILD (children.csv child_id)",
        "rows 2,",
        None,
    ),
    ("measure-wave-twice", twice("child_measures.csv", 3), 1, "child_measures.csv", "column wave", "rows 3,", None),
    ("ragged-row", ragged, 2, "missing.csv", "MIS_END", "Row 3", None),
]


@pytest.mark.parametrize(
    ("change", "code", "file", "column", "row", "value"), [c[1:] for c in CORRUPTIONS], ids=[c[0] for c in CORRUPTIONS]
)
def test_corrupt_raw_input_named_by_file_column_row_never_value(
    raw: Path, tmp_path: Path, capsys, change, code, file, column, row, value
) -> None:
    folder = raw / "bexley"
    original = {p.name: read_raw_text(p) for p in folder.glob("*.csv") if p.name != "trial_children.csv"}
    change(folder)
    out = tmp_path / "out"
    got, printed, err = run(folder, out, key_file(tmp_path, "bexley"), "bexley", capsys)
    assert got == code, err
    assert "Traceback" not in printed + err
    paragraph = " ".join(err.split())
    assert file in paragraph and column in paragraph, paragraph
    row = row or f"row {swap_dates.row}"
    assert re.search(rf"\b{re.escape(row)}(?!\d)", paragraph), paragraph
    if value is not None:
        assert value not in printed + err
    assert "values are never shown" in paragraph.lower() or "not UTF-8" in paragraph or "fields" in paragraph
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # the cells around the corruption are not echoed either (e.g. the non-UTF-8 line's neighbours)
    trial = (
        read_raw_text(raw.parent / "raw" / "bexley" / "trial_children.csv") if file != "trial_children.csv" else None
    )
    names = set(original.get("trial_carers.csv", pd.DataFrame({"name": []}))["name"]) | set(
        [] if trial is None else trial["surname"]
    )
    assert not [n for n in names if n in printed + err]


# --- fuzzing: any value in any cell gives a study folder or one clear refusal ----------------------
SMALL_RAW: list[Path] = []


def small_raw() -> Path:
    """A raw folder of a tiny synthetic study (one LA), made once."""
    if not SMALL_RAW:
        import tempfile

        from kitbag_analysis.synthetic.generate import SynthSpec
        from kitbag_analysis.synthetic.raw_folders import write_raw

        SMALL_RAW.append(
            write_raw(Path(tempfile.mkdtemp(prefix="intake-fuzz-")) / "raw", SynthSpec(seed=5, children=60))
        )
    return SMALL_RAW[0] / "bexley"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.sampled_from(RAW_FILES), row=st.integers(1, 3), value=st.text(max_size=14), data=st.data())
def test_any_value_in_any_cell_gives_a_study_or_a_clear_refusal(tmp_path: Path, capsys, spec, row, value, data) -> None:
    import shutil
    import uuid

    work = tmp_path / uuid.uuid4().hex[:8]
    folder = Path(shutil.copytree(small_raw(), work / "raw"))
    frame = read_raw_text(folder / spec.name)
    column = data.draw(st.sampled_from(list(frame.columns)))
    if len(frame) < row:
        return
    frame.loc[row - 1, column] = value
    frame.to_csv(folder / spec.name, index=False)
    code, printed, err = run(folder, work / "out", key_file(work, "bexley"), "bexley", capsys)
    assert code in (0, 1, 2) and "Traceback" not in printed + err and "could not complete" not in err
    if code:
        assert not (work / "out").exists()
        # named by a raw file (the changed one, or one whose rows now point at nobody) and row
        assert any(f.name in err for f in RAW_FILES) and "row" in err.lower()
        if len(value.strip()) >= 6:
            assert value.strip() not in printed + err
    else:
        assert validate_study(work / "out").report.ok
