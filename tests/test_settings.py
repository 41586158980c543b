"""study.toml: malformed settings are unusable input (exit 2), named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitbag_analysis.cli import main

GOOD = """[study]
name = "x"
analysis_phase_start = 2022-03-01
final_collection = 2022-02-28
followup_days = 365
sdc_threshold = 10

[local_authorities]
bexley = "London Borough of Bexley"
haringey = "London Borough of Haringey"
oxfordshire = "Oxfordshire County Council"
warwickshire = "Warwickshire County Council"
"""


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[study\nname = 1", "not valid TOML"),
        (GOOD.replace("analysis_phase_start = 2022-03-01", 'analysis_phase_start = "soon"'), "analysis_phase_start"),
        (GOOD.replace("followup_days = 365", "followup_days = -3"), "followup_days"),
        (GOOD.replace("[local_authorities]", "[las]"), "local_authorities"),
        (GOOD.replace('bexley = "London', 'Bexley = "London'), "entry 1"),
        (GOOD.replace("followup_days = 365", "followup_days = 200000"), "between 1 and 3650"),
        (GOOD.replace("sdc_threshold = 10", "sdc_threshold = 2"), "below 3 disclosure control is off"),
        (GOOD.replace("sdc_threshold = 10", "sdc_threshold = 0"), "sdc_threshold"),
        (GOOD.replace("[study]", "[trial]"), "[study]"),
    ],
)
def test_malformed_settings(study: Path, text: str, fragment: str, capsys) -> None:
    (study / "study.toml").write_text(text)
    assert main(["validate", str(study)]) == 2
    err = capsys.readouterr().err
    assert "study.toml" in err and fragment in err


def test_defaults_for_optional_settings(study: Path) -> None:
    from data_contracts import read_settings

    text = GOOD.replace("followup_days = 365\n", "").replace("sdc_threshold = 10\n", "")
    (study / "study.toml").write_text(text)
    settings = read_settings(study)
    assert settings.followup_days == 365 and settings.sdc_threshold == 10


def test_a_bad_slug_is_never_echoed(study: Path, capsys) -> None:
    """A slug holding personal data (an email) is named by its position, not repeated."""
    (study / "study.toml").write_text(GOOD.replace("bexley = ", '"leak.me@example.org" = '))
    assert main(["validate", str(study)]) == 2
    err = capsys.readouterr().err
    assert "leak.me" not in err and "entry 1" in err
