"""The README is true: every `kitbag` line of its shell blocks runs as shown (on a copy of a small
synthetic study standing in for STUDY), and it links nothing outside the repository."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from kitbag_analysis.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def kitbag_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if "kitbag " in line]


def test_every_kitbag_line_runs(small_study_master: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    study = tmp_path / "study"
    shutil.copytree(small_study_master, study)
    lines = kitbag_lines()
    assert len(lines) >= 6
    for line in lines:
        words = shlex.split(line)
        args = [
            str(study) if w == "STUDY" else str(tmp_path / w) if "/" in w and not w.startswith("-") else w
            for w in words[1:]
        ]
        code = main(args)  # in this process: the CLI's own entry point, without a start-up per line
        assert code == 0, (line, capsys.readouterr())


def test_no_link_outside_the_repository() -> None:
    assert "../shared" not in README and "spec/" not in README
    for target in re.findall(r"\]\(([^)]+)\)", README):
        assert not target.startswith(("http", "/", "..")), target
