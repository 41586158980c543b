"""pyproject.toml and environment.yml list the same dependencies with the same minimums."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _normalise(spec: str) -> tuple[str, str]:
    spec = spec.split(";")[0].replace(" ", "")
    name = re.match(r"[A-Za-z0-9_.\-\[\]]+", spec).group(0)
    base = re.sub(r"\[.*\]", "", name).lower().replace("_", "-")
    return base, spec[len(name) :]


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(map(_normalise, project["dependencies"]))
    for extra in project["optional-dependencies"].values():
        wanted.update(map(_normalise, extra))
    listed = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        item = re.match(r"^\s+-\s+([^#]+?)\s*$", line)
        if not item or item.group(1).endswith(":") or item.group(1) in ("pip", "-e ."):
            continue
        name, version = _normalise(item.group(1))
        if name != "python":
            listed[name] = version
    assert listed == wanted


def test_notebooks_committed_without_outputs() -> None:
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), path.name
