"""The `kitbag` command line: exit codes, docs, and the installed entry point."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from data_contracts.participants import LINKS
from data_contracts.schemas import CONTRACTS
from kitbag_analysis.cli import main


def test_validate_clean_exit_0(study: Path, capsys) -> None:
    assert main(["validate", str(study)]) == 0
    assert "every contract holds" in capsys.readouterr().out


def test_docs_lists_every_file_column_and_rule(capsys) -> None:
    assert main(["docs"]) == 0
    text = capsys.readouterr().out
    for name, model in CONTRACTS.items():
        assert f"## {name}.csv" in text
        for column in model.to_schema().columns:
            assert f"`{column}`" in text
    for file, column, target, _ in LINKS:
        assert f"every `{column}` in {file} exists in {target}" in text
    assert "episodes" in text and "overlap" in text and "postcode" in text


def test_docs_matches_study_data_codes(capsys) -> None:
    main(["docs"])
    text = capsys.readouterr().out
    for code in ["`withdrawn`", "`objected`", "`restricted`", "`C1`", "`NOBT`"]:
        assert code in text


def test_installed_entry_point(study: Path) -> None:
    exe = shutil.which("kitbag") or str(Path(sys.executable).with_name("kitbag"))
    done = subprocess.run([exe, "validate", str(study)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    broken = subprocess.run([exe, "validate", str(study / "nope")], capture_output=True, text=True)
    assert broken.returncode == 2
    assert "Traceback" not in broken.stderr and re.search(r"no such study folder", broken.stderr)


def test_demo_runs_on_a_fresh_folder(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("kitbag_analysis.synthetic.generate.DEFAULT_CHILDREN", 400)
    from kitbag_analysis.synthetic import generate

    monkeypatch.setattr(generate.SynthSpec, "__init__", _small_spec_init(generate.SynthSpec.__init__))
    assert main(["demo", "--study", str(tmp_path / "syn"), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "bexley" in out and "all" in out and (tmp_path / "syn" / "study.toml").exists()


def _small_spec_init(original):
    def init(self, seed=20210423, children=400, effect_size=0.2):
        original(self, seed=seed, children=min(children, 400), effect_size=effect_size)

    return init


def test_validate_loads_only_what_it_uses(study: Path) -> None:
    """`kitbag validate` imports no model, figure, notebook, ACRO or Dask machinery (import cost)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from kitbag_analysis.cli import main\n"
        f"assert main(['validate', {str(study)!r}]) == 0\n"
        "heavy = ('statsmodels', 'matplotlib', 'nbconvert', 'papermill', 'acro', 'dask', 'jinja2', 'highspy')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
