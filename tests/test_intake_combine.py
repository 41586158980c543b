"""`kitbag combine`, and the whole intake end to end through the `kitbag` command's entry point:
synth --raw -> key new -> pseudonymise (four LAs) -> combine -> validate -> batch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from intake_raw import (  # noqa: F401 - fixtures
    KEYS,
    SLUGS,
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
from kitbag_analysis.synthetic.raw_folders import IDENTIFIERS

KITBAG = shutil.which("kitbag", path=str(Path(sys.executable).parent)) or "kitbag"


def kitbag(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([KITBAG, *map(str, args)], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def la_folders(raw_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each LA's pseudonymised study folder (fixed keys), written once."""
    base = tmp_path_factory.mktemp("lafolders")
    for slug in SLUGS:
        assert (
            main(
                [
                    "pseudonymise",
                    str(raw_master / slug),
                    "--key",
                    str(key_file(base, slug)),
                    "--la",
                    slug,
                    "--out",
                    str(base / slug),
                ]
            )
            == 0
        )
    return base


def test_end_to_end_four_las_to_a_batch_with_no_identifier_anywhere(tmp_path: Path, capsys) -> None:
    """Every step through the CLI's entry point, in this process (no start-up per step); what
    each prints is captured for the leak check."""

    def kitbag(*args: str | Path) -> subprocess.CompletedProcess:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    raw = tmp_path / "raw"
    steps = [kitbag("synth", "--raw", raw, "--children", "200", "--seed", "11")]
    assert steps[-1].returncode == 0, steps[-1].stderr
    keys = {}
    for slug in SLUGS:
        steps.append(kitbag("key", "new", "--out", tmp_path / f"{slug}.key"))
        assert steps[-1].returncode == 0, steps[-1].stderr
        keys[slug] = (tmp_path / f"{slug}.key").read_bytes()
        steps.append(
            kitbag(
                "pseudonymise",
                raw / slug,
                "--key",
                tmp_path / f"{slug}.key",
                "--la",
                slug,
                "--out",
                tmp_path / "la" / slug,
            )
        )
        assert steps[-1].returncode == 0, steps[-1].stderr
    steps.append(kitbag("combine", *(tmp_path / "la" / s for s in SLUGS), "--out", tmp_path / "study"))
    assert steps[-1].returncode == 0, steps[-1].stderr
    steps.append(kitbag("validate", tmp_path / "study"))
    assert steps[-1].returncode == 0, steps[-1].stdout + steps[-1].stderr
    steps.append(kitbag("batch", tmp_path / "study", "--out", tmp_path / "reports", "--workers", "2"))
    assert steps[-1].returncode == 0, steps[-1].stdout + steps[-1].stderr
    for unit in (*SLUGS, "all"):
        assert (tmp_path / "reports" / unit / "report.html").is_file()

    study = validate_study(tmp_path / "study")
    assert list(study.settings.local_authorities) == list(SLUGS)
    trial_sizes = sum(len(read_raw_text(raw / s / "trial_children.csv")) for s in SLUGS)
    assert len(study.frames["children"]) == trial_sizes == 200
    printed = "".join(s.stdout + s.stderr for s in steps)
    values = set().union(*(identifier_values(raw / s) for s in SLUGS))
    assert_no_leak(values, list(keys.values()), files_bytes(tmp_path / "la", tmp_path / "study"), printed)
    # the report bundle too (every identifier value; base64 images blanked, see assert_no_leak)
    assert_no_leak(values, list(keys.values()), files_bytes(tmp_path / "reports"), "", images=True)


def _retarget(folder: Path, old: str, new: str) -> None:
    """Give one child of ``folder`` another raw id, in every file."""
    for file, columns in IDENTIFIERS.items():
        frame = read_raw_text(folder / file)
        for column in columns[:1]:
            frame[column] = frame[column].replace(old, new)
        frame.to_csv(folder / file, index=False)


def test_a_pseudonym_in_two_folders_is_refused_by_file_and_row(raw: Path, tmp_path: Path, capsys) -> None:
    shared = key_file(tmp_path, "bexley")  # two LAs wrongly sharing a key, and a raw id in both
    bex = read_raw_text(raw / "bexley" / "trial_children.csv")["CHILD"]
    har = read_raw_text(raw / "haringey" / "trial_children.csv")["CHILD"]
    _retarget(raw / "haringey", har[2], bex[4])
    for slug in ("bexley", "haringey"):
        assert (
            main(["pseudonymise", str(raw / slug), "--key", str(shared), "--la", slug, "--out", str(tmp_path / slug)])
            == 0
        )
    capsys.readouterr()
    code = main(["combine", str(tmp_path / "bexley"), str(tmp_path / "haringey"), "--out", str(tmp_path / "study")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 1, err
    assert (
        f"{tmp_path / 'bexley' / 'children.csv'} row 5" in err
        and f"{tmp_path / 'haringey' / 'children.csv'} row 3" in err
    )
    assert "1 id(s)" in err and "Traceback" not in err
    collided = pd.read_csv(tmp_path / "bexley" / "children.csv")["child_id"][4]
    assert collided not in err and bex[4] not in err
    assert not (tmp_path / "study").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_same_folder_twice_and_disagreeing_settings_are_refused(la_folders: Path, tmp_path: Path, capsys) -> None:
    copy = Path(shutil.copytree(la_folders / "bexley", tmp_path / "bexley2"))
    assert main(["combine", str(la_folders / "bexley"), str(copy), "--out", str(tmp_path / "s1")]) == 1
    assert "local_authorities.bexley" in capsys.readouterr().err
    har = Path(shutil.copytree(la_folders / "haringey", tmp_path / "haringey"))
    toml = har / "study.toml"
    toml.write_text(toml.read_text().replace("sdc_threshold = 10", "sdc_threshold = 11"))
    assert main(["combine", str(la_folders / "bexley"), str(har), "--out", str(tmp_path / "s2")]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "study.sdc_threshold" in err and "differs" in err
    assert main(["combine", str(la_folders / "bexley"), str(la_folders / "bexley"), "--out", str(tmp_path / "s3")]) == 2
    capsys.readouterr()
    assert not any((tmp_path / s).exists() for s in ("s1", "s2", "s3"))


def test_an_invalid_or_foreign_folder_is_refused_and_nothing_written(la_folders: Path, tmp_path: Path, capsys) -> None:
    har = Path(shutil.copytree(la_folders / "haringey", tmp_path / "haringey"))
    (har / "notes.txt").write_text("a note")
    assert main(["combine", str(la_folders / "bexley"), str(har), "--out", str(tmp_path / "s")]) == 2
    assert "besides study.toml" in capsys.readouterr().err
    (har / "notes.txt").unlink()
    carers = har / "carers.csv"
    carers.write_text(carers.read_text().replace("foster", "fostr", 1))
    assert main(["combine", str(la_folders / "bexley"), str(har), "--out", str(tmp_path / "s")]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "breaks its contracts" in err and "carers.csv, column carer_type, row 1: one of foster, kinship" in err
    assert "fostr" not in err
    assert not (tmp_path / "s").exists()


def test_combined_rows_are_each_folders_rows_in_order(la_folders: Path, tmp_path: Path, capsys) -> None:
    assert main(["combine", *(str(la_folders / s) for s in SLUGS), "--out", str(tmp_path / "study")]) == 0
    assert "study" in capsys.readouterr().out
    for name in ("children", "placements", "consent"):
        combined = (tmp_path / "study" / f"{name}.csv").read_text().splitlines()
        parts = [(la_folders / s / f"{name}.csv").read_text().splitlines() for s in SLUGS]
        assert combined == [parts[0][0], *(line for p in parts for line in p[1:])]
    assert validate_study(tmp_path / "study").report.ok
    assert KEYS  # the fixed keys are the ones the LA folders were made with


def test_optional_settings_travel_and_each_las_target_is_joined(raw: Path, tmp_path: Path, capsys) -> None:
    progression = (
        "\n[progression]\nuptake_practitioners = { green = 0.6, amber = 0.4 }\n\n"
        "[progression.recruitment_target]\nbexley = 70\nharingey = 90\noxfordshire = 120\n"
    )
    for slug in ("bexley", "haringey"):
        toml = raw / slug / "study.toml"
        toml.write_text(toml.read_text() + progression)
        assert (
            main(
                [
                    "pseudonymise",
                    str(raw / slug),
                    "--key",
                    str(key_file(tmp_path, slug)),
                    "--la",
                    slug,
                    "--out",
                    str(tmp_path / slug),
                ]
            )
            == 0
        )
    bexley = (tmp_path / "bexley" / "study.toml").read_text()
    assert "bexley = 70" in bexley and "haringey = 90" not in bexley and "uptake_practitioners" in bexley
    assert main(["combine", str(tmp_path / "bexley"), str(tmp_path / "haringey"), "--out", str(tmp_path / "s")]) == 0
    combined = (tmp_path / "s" / "study.toml").read_text()
    assert "bexley = 70" in combined and "haringey = 90" in combined and "oxfordshire" not in combined
    # a setting one folder has and the other lacks is a disagreement
    toml = tmp_path / "haringey" / "study.toml"
    toml.write_text(toml.read_text().replace("[progression.uptake_practitioners]", "[progression.uptake_carers]"))
    capsys.readouterr()
    assert main(["combine", str(tmp_path / "bexley"), str(tmp_path / "haringey"), "--out", str(tmp_path / "s2")]) == 1
    assert "progression.uptake" in capsys.readouterr().err and not (tmp_path / "s2").exists()
