"""analysis-plan.md §9: with impact_evaluation = "removed", every page says so at the top with the
reason and the date, carries the flow, baseline, uptake and data quality, and no §4/§7 model is
fitted or shown; results.json marks every outcome not_done; `kitbag batch` exits 0."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import _once_for_the_run

from kitbag_analysis.cli import main

REASON = "A survey of practitioners and carers in October 2021 showed low uptake."
SETTING = (
    f'impact_evaluation = "removed"\nimpact_evaluation_reason = "{REASON}"\nimpact_evaluation_decided_on = 2022-04-01\n'
)
STATEMENT = "The impact evaluation was removed"
UNITS = ("bexley", "haringey", "oxfordshire", "warwickshire", "all")
IMPACT_TABLES = ("effectiveness", "summary", "whatworks", "compliance", "missing_data", "subgroups")


def removed_study(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    toml = target / "study.toml"
    toml.write_text(toml.read_text().replace("[study]\n", "[study]\n" + SETTING, 1))
    return target


@pytest.fixture(scope="session")
def removed_bundle(small_study_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    def run(folder: Path) -> None:
        study = removed_study(small_study_master, folder / "study")
        assert main(["batch", str(study), "--out", str(folder / "out"), "--workers", "2"]) == 0

    return _once_for_the_run(tmp_path_factory, "removed", run) / "out"


def _text(page: Path) -> str:
    body = re.sub(r"<(style|script)\b.*?</\1>", "", page.read_text(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_every_page_states_it_at_the_top_with_reason_and_date(removed_bundle: Path) -> None:
    pages = [removed_bundle / "index.html"]
    pages += [removed_bundle / u / p for u in UNITS for p in ("report.html", "data_quality.html")]
    for page in pages:
        text = _text(page)
        at = text.index(STATEMENT)
        assert REASON in text and "2022-04-01" in text[at : at + 300], page
        assert at < text.index("Audit stamp" if page.name != "index.html" else "Run "), page


def test_flow_baseline_and_uptake_stay_and_no_model_is_shown(removed_bundle: Path) -> None:
    for unit in UNITS:
        report = (removed_bundle / unit / "report.html").read_text()
        for table in ("participant_flow", "baseline", "uptake"):
            assert f'id="table-{table}"' in report
        for table in IMPACT_TABLES:
            assert f'id="table-{table}"' not in report
        assert "Hedges" not in _text(removed_bundle / unit / "report.html").split("Methods")[0]
        assert 'id="table-completeness"' in (removed_bundle / unit / "data_quality.html").read_text()
        release = json.loads((removed_bundle / unit / "release.json").read_text())
        assert not {c["table"] for c in release["cells"]} & set(IMPACT_TABLES)
        assert not any(c["measure"] in ("estimate", "hedges_g", "irr", "odds_ratio", "p") for c in release["cells"])
        results = json.loads((removed_bundle / unit / "results.json").read_text())
        assert len(results["analyses"]) == 9
        for a in results["analyses"]:
            assert a["status"] == "not_done" and "removed" in a["reason"] and "estimate" not in a
    assert main(["verify", str(removed_bundle)]) == 0
    assert main(["audit", str(removed_bundle)]) == 0


def test_no_model_is_fitted(small_study_master: Path, tmp_path: Path, monkeypatch) -> None:
    from kitbag_analysis.analysis import analyse as analysis
    from kitbag_analysis.study.load import load_study

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was fitted")

    monkeypatch.setattr(analysis, "fit_continuous", refuse)
    monkeypatch.setattr(analysis, "fit_glm", refuse)
    study = load_study(removed_study(small_study_master, tmp_path / "study"))
    result = analysis.analyse(study, "all")
    assert {r.status for r in result.outcomes} == {"not_done"}


def test_monitoring_page_says_it_too(small_study_master: Path, tmp_path: Path) -> None:
    study = removed_study(small_study_master, tmp_path / "study")
    out = tmp_path / "mon"
    assert main(["monitor", str(study), "--out", str(out), "--as-of", "2021-06-30", "--workers", "1"]) == 0
    for page, later in ((out / "index.html", "Progression ratings"), (out / "all" / "monitoring.html", "Audit stamp")):
        text = _text(page)
        assert REASON in text and text.index(STATEMENT) < text.index(later), page
