"""study.toml's [progression] and impact_evaluation settings (study-data.md "optional tables"):
read with their defaults, written back, and refused when inconsistent (exit 1, naming study.toml
and the key, never echoing an unknown key or slug)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_settings import GOOD

from data_contracts import Finding, UnusableInput, read_settings
from data_contracts.settings import Criterion, settings_toml
from kitbag_analysis.cli import main

REMOVED = """impact_evaluation = "removed"
impact_evaluation_reason = "Low uptake in the October 2021 survey."
impact_evaluation_decided_on = 2022-04-01
"""
PROGRESSION = """
[progression]
uptake_practitioners = { green = 0.7, amber = 0.5 }
contamination = { green = 0.05, amber = 0.15 }

[progression.recruitment_target]
bexley = 2250
"""


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "study.toml").write_text(text)
    return folder


def test_defaults_when_the_tables_are_absent(tmp_path: Path) -> None:
    s = read_settings(_write(tmp_path, GOOD))
    assert s.impact.status == "planned" and s.impact.done
    assert s.progression.criteria["uptake_practitioners"] == Criterion(0.60, 0.40)
    assert s.progression.criteria["contamination"] == Criterion(0.10, 0.20, lower_is_better=True)
    assert s.progression.recruitment_target == {}


def test_given_tables_are_read_and_written_back(tmp_path: Path) -> None:
    text = GOOD.replace('name = "x"\n', 'name = "x"\n' + REMOVED) + PROGRESSION
    s = read_settings(_write(tmp_path, text))
    assert (s.impact.status, s.impact.decided_on) == ("removed", dt.date(2022, 4, 1))
    assert s.impact.reason.startswith("Low uptake") and not s.impact.done
    assert s.progression.criteria["uptake_practitioners"] == Criterion(0.7, 0.5)
    assert s.progression.criteria["uptake_carers"] == Criterion(0.5, 0.3)  # default kept
    assert s.progression.recruitment_target == {"bexley": 2250}
    again = read_settings(_write(tmp_path / "again", settings_toml(s)))
    assert again == s


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("\n[progression]\nuptake_carers = { green = 0.3, amber = 0.5 }\n", "`uptake_carers`: `amber`"),
        ("\n[progression]\ncontamination = { green = 0.2, amber = 0.1 }\n", "`contamination`: `amber`"),
        ("\n[progression.recruitment_target]\nleak_me = 10\n", "[progression.recruitment_target] entry 1"),
    ],
)
def test_inconsistent_progression_is_a_finding(study: Path, extra: str, fragment: str, capsys) -> None:
    (study / "study.toml").write_text((study / "study.toml").read_text() + extra)
    assert main(["validate", str(study)]) == 1
    err = capsys.readouterr().err
    assert "study.toml" in err and fragment in err and "leak_me" not in err


@pytest.mark.parametrize(
    ("drop", "key"),
    [
        ('impact_evaluation_reason = "Low uptake in the October 2021 survey."\n', "impact_evaluation_reason"),
        ("impact_evaluation_decided_on = 2022-04-01\n", "impact_evaluation_decided_on"),
    ],
)
def test_removed_without_reason_or_date_is_refused(tmp_path: Path, drop: str, key: str) -> None:
    text = GOOD.replace('name = "x"\n', 'name = "x"\n' + REMOVED.replace(drop, ""))
    with pytest.raises(Finding, match=key) as refused:
        read_settings(_write(tmp_path, text))
    assert "study.toml" in str(refused.value)


@pytest.mark.parametrize(
    "extra",
    [
        "\n[progression]\nuptake = { green = 0.6, amber = 0.4 }\n",
        "\n[progression]\nuptake_carers = { green = 0.6 }\n",
        "\n[progression]\nuptake_carers = { green = 'high', amber = 0.4 }\n",
    ],
)
def test_malformed_progression_is_unusable(tmp_path: Path, extra: str) -> None:
    with pytest.raises(UnusableInput, match=r"\[progression\]"):
        read_settings(_write(tmp_path, GOOD + extra))


def test_unknown_impact_status_is_unusable(tmp_path: Path) -> None:
    text = GOOD.replace('name = "x"\n', 'name = "x"\nimpact_evaluation = "paused"\n')
    with pytest.raises(UnusableInput, match="impact_evaluation"):
        read_settings(_write(tmp_path, text))


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_ratings_follow_the_thresholds(a: float, b: float, share: float) -> None:
    green, amber = max(a, b), min(a, b)
    higher = Criterion(green, amber).rate(share)
    assert higher == ("green" if share >= green else "amber" if share >= amber else "red")
    lower = Criterion(amber, green, lower_is_better=True).rate(share)
    assert lower == ("green" if share <= amber else "amber" if share <= green else "red")


def test_docs_show_the_optional_tables(capsys) -> None:
    assert main(["docs"]) == 0
    out = capsys.readouterr().out
    for key in (
        "impact_evaluation_reason",
        "impact_evaluation_decided_on",
        "[progression]",
        "recruitment_target",
        "contamination` green 0.1, amber 0.2 (lower is better)",
    ):
        assert key in out
