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


def test_demo_makes_the_study_once_then_runs_the_batch(tmp_path: Path, capsys, monkeypatch) -> None:
    """`kitbag demo` writes the built-in study when it is absent (never over one) and runs the
    whole batch on it. The batch itself is tested end to end elsewhere (and CI renders the real
    demo at trial scale: make ci-reports); here it is recorded, and the spec is small."""
    from kitbag_analysis.cli import commands
    from kitbag_analysis.synthetic.generate import SynthSpec

    assert commands.demo_spec() == SynthSpec()  # the real demo is the default, trial-scale study
    monkeypatch.setattr(commands, "demo_spec", lambda: SynthSpec(seed=3, children=60))
    runs = []
    monkeypatch.setattr(commands, "_batch", lambda study, out_dir, *rest, **kw: runs.append((study, out_dir)) or 0)
    study, out = tmp_path / "syn", tmp_path / "out"
    assert main(["demo", "--study", str(study), "--out", str(out)]) == 0
    assert runs == [(study, out)] and "Made the built-in synthetic study" in capsys.readouterr().out
    assert main(["validate", str(study)]) == 0
    before = (study / "children.csv").stat().st_mtime_ns
    assert main(["demo", "--study", str(study), "--out", str(out)]) == 0
    assert (study / "children.csv").stat().st_mtime_ns == before and len(runs) == 2
    assert "Made the built-in" not in capsys.readouterr().out


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
