"""study.toml's optional [trial] table (study-data.md): the authors' words for the CONSORT
checklist, part of the contracts: unknown keys refused, and every value passes the identifier
guards (refused naming the key, never echoing the value), through `kitbag validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_contracts.settings import TRIAL_KEYS, read_settings, settings_toml
from kitbag_analysis.cli import main


def _with_trial(study: Path, body: str) -> None:
    toml = study / "study.toml"
    text = toml.read_text()
    if "[trial]" in text:  # the synthetic study has its own: replace it whole
        text = text[: text.index("[trial]")]
    toml.write_text(text + "\n[trial]\n" + body)


def test_known_keys_are_read_and_written_back(study: Path) -> None:
    _with_trial(study, 'registration = "ISRCTN12345678, registered 2021-03-01"\nharms = "  none expected  "\n')
    settings = read_settings(study)
    assert settings.trial.get("registration") == "ISRCTN12345678, registered 2021-03-01"
    assert settings.trial.get("harms") == "none expected"
    assert settings.trial.get("blinding") == ""
    (study / "study.toml").write_text(settings_toml(settings))
    assert read_settings(study).trial == settings.trial


@pytest.mark.parametrize(
    "value",
    ["write to j.smith@example.org", "office at SW1A 1AA", "NHS 943 476 5919", "pupil A123456789012"],
)
def test_an_identifier_in_a_value_is_refused_naming_the_key_never_the_value(
    study: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_trial(study, f'registration = "ISRCTN12345678"\nconsent = "{value}"\n')
    assert main(["validate", str(study)]) == 1
    out = capsys.readouterr()
    said = out.out + out.err
    assert "[trial] `consent`" in said and "Traceback" not in said
    for part in value.split():
        if any(ch.isdigit() for ch in part) or "@" in part:
            assert part not in said


def test_an_unknown_key_is_refused_by_position(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_trial(study, 'registration = "ISRCTN12345678"\nsecret_j_smith = "x"\n')
    assert main(["validate", str(study)]) == 2
    said = "".join(capsys.readouterr())
    assert "[trial] entry 2" in said and "secret_j_smith" not in said
    assert all(f"`{k}`" in said for k in TRIAL_KEYS)


def test_a_value_that_is_not_a_string_is_refused(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_trial(study, "funding = 2021\n")
    assert main(["validate", str(study)]) == 2
    assert "[trial] `funding` must be a quoted string" in "".join(capsys.readouterr())
