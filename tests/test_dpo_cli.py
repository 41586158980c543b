"""What the DPO, an LA data team and an evaluator meet at the command line (issue 24): the
pending-erasure warning, export-subject's private and never-overwriting file, rules in words, an
unknown outcome naming the valid ones, and `make lab`'s options."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from conftest import read_csv_text, rewrite, snapshot

from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME
from kitbag_analysis.analysis.refit import plan_formula
from kitbag_analysis.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_validate_warns_of_a_pending_erasure_and_still_passes(study: Path, capsys) -> None:
    # the synthetic study holds participants who withdrew before analysis_phase_start
    before = snapshot(study)
    assert main(["validate", str(study)]) == 0
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert "an erasure is pending" in err and "kitbag erase" in err and "OK" in captured.out
    assert snapshot(study) == before  # a warning changes nothing
    assert main(["erase", str(study), "--apply"]) == 0
    capsys.readouterr()
    assert main(["validate", str(study)]) == 0
    assert "erasure is pending" not in capsys.readouterr().err


def test_export_subject_writes_0600_and_never_overwrites_without_force(study: Path, tmp_path: Path, capsys) -> None:
    child = read_csv_text(study / "children.csv")["child_id"].iloc[0]
    target = tmp_path / "subject.json"
    assert main(["export-subject", str(study), child, "--out", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.write_text("kept")
    assert main(["export-subject", str(study), child, "--out", str(target)]) == 2
    assert "--force" in capsys.readouterr().err and target.read_text() == "kept"
    assert main(["export-subject", str(study), child, "--out", str(target), "--force"]) == 0
    assert child in target.read_text() and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_rules_read_in_words_not_regexes(study: Path, capsys) -> None:
    def bad_month(frame):  # noqa: ANN001, ANN202
        frame.loc[0, "birth_year_month"] = "2019-13"

    rewrite(study, "children", bad_month)
    assert main(["validate", str(study)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "in the form YYYY-MM" in out and "^" not in out and "\\d" not in out
    assert main(["docs"]) == 0
    docs = capsys.readouterr().out
    assert "YYYY-MM" in docs and "\\d" not in docs and "str_matches" not in docs and "[0-9a-f]" not in docs


def test_an_unknown_outcome_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError) as raised:
        plan_formula("sdq", "all")
    message = str(raised.value)
    assert "unknown outcome 'sdq'" in message and all(name in message for name in OUTCOME_BY_NAME)


def test_make_lab_takes_options_disables_news_and_registers_the_kernel_for_any_jupyter() -> None:
    plan = subprocess.run(
        ["make", "-n", "lab", "LAB_ARGS=--no-browser --port=8899"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--no-browser --port=8899" in plan
    assert 'labextension disable --level=sys_prefix "@jupyterlab/apputils-extension:announcements"' in plan
    assert "NeverCheckForUpdate" in plan
    assert "ipykernel install --user --name kitbag" in plan  # where a Jupyter outside the venv looks
