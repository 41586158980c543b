"""`kitbag template`: an empty study folder that validates."""

from __future__ import annotations

from pathlib import Path

from kitbag_analysis.cli import main


def test_template_validates_and_explains(tmp_path: Path, capsys) -> None:
    out = tmp_path / "for-bexley"
    assert main(["template", "--out", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    assert "sdc_threshold" in (out / "study.toml").read_text() and "# " in (out / "study.toml").read_text()
    assert "child_measures.csv" in (out / "README.md").read_text()
    assert (out / "children.csv").read_text().startswith("child_id,team_id,")
    assert main(["template", "--out", str(out)]) == 2  # not into a non-empty folder
