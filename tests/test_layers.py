"""The layering is a checked contract (pyproject's [tool.importlinter]) and the package has no
import cycle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _copy_project(tmp_path: Path) -> Path:
    for name in ("kitbag_analysis", "data_contracts"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True)


def test_layers_contract_holds(tmp_path):
    done = _lint(_copy_project(tmp_path))
    assert done.returncode == 0, done.stdout


def test_an_import_up_a_layer_breaks_the_contract(tmp_path):
    project = _copy_project(tmp_path)
    cells = project / "kitbag_analysis" / "sdc" / "formats.py"
    cells.write_text(cells.read_text() + "\nfrom kitbag_analysis.runs import batch  # noqa: E402,F401\n")
    done = _lint(project)
    assert done.returncode == 1
    assert "kitbag_analysis.sdc is not allowed to import kitbag_analysis.runs" in done.stdout
    assert "kitbag_analysis.sdc.formats -> kitbag_analysis.runs.batch" in done.stdout


def test_no_import_cycle():
    graph = grimp.build_graph("kitbag_analysis", "data_contracts")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == module or module.startswith(imported + ".") or imported.startswith(module + "."):
                continue  # a package and its own modules
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append((module, imported))
    assert not cycles, cycles
