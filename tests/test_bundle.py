"""Reports end to end: kitbag batch / report / verify, papermill directly, failures, offline HTML."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kitbag_analysis.atomic import sha256
from kitbag_analysis.cli import main
from kitbag_analysis.errors import NotebookFailed
from kitbag_analysis.runs import batch
from kitbag_analysis.runs import unit as unit_run
from kitbag_analysis.study.load import load_study

BIN = Path(sys.executable).parent
UNITS = ["bexley", "haringey", "oxfordshire", "warwickshire", "all"]
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture
def batch_dir(small_bundle: Path) -> Path:
    return small_bundle


def test_every_unit_has_its_files(batch_dir: Path) -> None:
    for unit in UNITS:
        for name in ("report.html", "report.ipynb", "results.json", "data_quality.html", "sdc/summary.json"):
            assert (batch_dir / unit / name).is_file(), (unit, name)
    assert (batch_dir / "index.html").is_file() and (batch_dir / "manifest.json").is_file()
    # no temporary is left: none inside the bundle (every temporary name is hidden), no staging beside it
    assert not [p for p in batch_dir.rglob(".*")]
    assert not list(batch_dir.parent.glob(f".{batch_dir.name}.*-*"))


def test_results_json_holds_the_plans_models(batch_dir: Path, small_study_master: Path) -> None:
    """results.json's count model is the plan's GLM, computed here independently on the unit's
    analysis frame (`plan_reference`): Poisson, log-exposure offset, LA terms in all, the
    bias-reduced team-clustered SE and the t interval on J − g₂ − 2 df."""
    import numpy as np
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from plan_reference import glm_bias_reduced, t_ci

    from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME, analysis_frame
    from kitbag_analysis.study.units import restrict

    study = load_study(small_study_master)
    for unit, formula in (("bexley", "y ~ arm"), ("all", "y ~ arm + C(local_authority)")):
        written = json.loads((batch_dir / unit / "results.json").read_text())
        entry = next(a for a in written["analyses"] if a["outcome"] == "placement_moves")
        frame = analysis_frame(restrict(study, unit), OUTCOME_BY_NAME["placement_moves"])
        offset = np.log(frame["exposure"].to_numpy(float))
        model = smf.glm(formula, frame, family=sm.families.Poisson(), offset=offset)
        beta, cov = glm_bias_reduced(
            model.exog, frame["y"].to_numpy(float), frame["team_id"].to_numpy(), sm.families.Poisson(), offset
        )
        arm = model.exog_names.index("arm")
        df = frame["team_id"].nunique() - (frame["local_authority"].nunique() - 1) - 2
        assert entry["estimate"] == pytest.approx(beta[arm], rel=1e-9)
        assert entry["se"] == pytest.approx(np.sqrt(cov[arm, arm]), rel=1e-6)
        assert entry["df"] == df
        assert (entry["ci_low"], entry["ci_high"]) == pytest.approx(t_ci(beta[arm], np.sqrt(cov[arm, arm]), df))
        assert entry["effect"]["value"] == pytest.approx(np.exp(beta[arm]), rel=1e-9)
        assert written["unit"] == unit and set(written["excluded"]) == {"child", "practitioner", "carer"}
        # analysis-plan.md §7 through the batch: every ok continuous outcome carries its fields
        sdq = next(a for a in written["analyses"] if a["outcome"] == "sdq_total")
        assert sdq["status"] == "ok"
        assert {"g_total", "icc_unconditional", "mdes", "attrition", "cace", "missing_data", "permutation_p"} <= set(
            sdq
        )
        assert set(sdq["cace"]) == {"0.25", "0.5", "0.75"} and set(sdq["subgroups"]) == {
            "looked_after",
            "uasc",
            "disability",
        }
        assert 0 < sdq["permutation_p"] <= 1
        page = (batch_dir / unit / "report.html").read_text()
        for table in ("whatworks", "compliance", "missing_data", "subgroups"):
            assert f'id="table-{table}"' in page


def test_manifest_is_a_complete_audit_stamp(batch_dir: Path, small_study_master: Path) -> None:
    manifest = json.loads((batch_dir / "manifest.json").read_text())
    for key in (
        "run_id",
        "created_at",
        "tool_version",
        "git_commit",
        "git_dirty",
        "python",
        "packages",
        "parameters",
        "inputs",
        "notebook_sha256",
        "excluded",
        "outputs",
    ):
        assert key in manifest, key
    assert manifest["created_at"].endswith("+00:00")
    assert {i["path"] for i in manifest["inputs"]} >= {"study.toml", "children.csv", "consent.csv"}
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert set(manifest["parameters"]) == set(UNITS) and set(manifest["excluded"]) == set(UNITS)
    for item in manifest["outputs"]:
        assert sha256(batch_dir / item["path"]) == item["sha256"]
    html = (batch_dir / "bexley" / "report.html").read_text()
    assert manifest["run_id"] in html and "Audit stamp" in html


def test_verify_passes_then_names_a_changed_byte(batch_dir: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(batch_dir, copy)
    assert main(["verify", str(copy)]) == 0
    report = copy / "haringey" / "report.html"
    data = bytearray(report.read_bytes())
    data[len(data) // 2] ^= 1
    report.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "haringey/report.html" in out and "changed" in out


def test_verify_checks_inputs_when_reachable(batch_dir: Path, small_study_master: Path, tmp_path: Path, capsys) -> None:
    manifest = json.loads((batch_dir / "manifest.json").read_text())
    study = tmp_path / "study"
    shutil.copytree(small_study_master, study)
    manifest["study_dir"] = str(study)
    copy = tmp_path / "bundle"
    shutil.copytree(batch_dir, copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with open(study / "teams.csv", "a") as handle:
        handle.write("\n")
    assert main(["verify", str(copy)]) == 1
    assert "input teams.csv" in capsys.readouterr().out


def test_verify_without_manifest_is_unusable(tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path)]) == 2


def test_no_remote_urls_in_html(batch_dir: Path) -> None:
    for page in batch_dir.rglob("*.html"):
        text = page.read_text()
        assert not REMOTE.findall(text), (page, REMOTE.findall(text)[:3])
        assert "<script src" not in text


def test_no_kernel_or_acro_log_line_reaches_a_page(batch_dir: Path) -> None:
    """Kernels talk over IPC (no TCP warning) and ACRO's console output is swallowed."""
    for page in batch_dir.rglob("*.html"):
        text = page.read_text()
        for line in ("Kernel is running over TCP", "WARNING", "INFO:", "acro.", "SettingWithCopyWarning", "Traceback"):
            assert line not in text, (page, line)


def test_reports_hold_no_participant_id(batch_dir: Path) -> None:
    pattern = re.compile(rb"[CPF][0-9a-f]{16}")
    released = list(batch_dir.rglob("*.html")) + [p for p in batch_dir.rglob("sdc/**/*") if p.is_file()]
    assert any("acro" in str(p) for p in released)
    for path in released:
        assert not pattern.search(path.read_bytes()), path


def _fail_bexley_others_as_in(bundle: Path):  # noqa: ANN202
    """A unit runner: bexley's notebook fails; every other unit is what the shared bundle holds for
    it (its pages carry that run's id: verify is not asked here)."""

    def runner(study_dir, unit, audit_stamp, payload):  # noqa: ANN001, ANN202
        if unit == "bexley":
            try:
                raise NotebookFailed("RuntimeError", "simulated failure")
            except NotebookFailed as exc:
                return unit_run.failed(unit, exc, 0.0)
        files = {str(p.relative_to(bundle / unit)): p.read_bytes() for p in (bundle / unit).rglob("*") if p.is_file()}
        excluded = json.loads((bundle / unit / "results.json").read_text())["excluded"]
        headline = json.loads((bundle / unit / "release.json").read_text())["headline"]
        return unit_run.UnitOutcome(
            unit, "ok", 0.0, excluded=excluded, parameters={"unit": unit}, headline=headline, files=files
        )

    return runner


def test_failed_unit_leaves_error_file_others_complete(
    small_study_master: Path, small_bundle: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    out = tmp_path / "out"
    shutil.copytree(small_bundle, out)
    assert (out / "bexley" / "report.html").is_file()  # a previous bundle: replaced as a whole
    monkeypatch.setattr(batch, "run_unit", _fail_bexley_others_as_in(small_bundle))
    code = main(["batch", str(small_study_master), "--out", str(out), "--workers", "1"])
    assert code == 1
    assert sorted(p.name for p in (out / "bexley").iterdir()) == ["error.txt"]
    error = (out / "bexley" / "error.txt").read_text()
    assert error == "unit bexley failed: RuntimeError: simulated failure\n"  # one line, no traceback
    for unit in ("haringey", "all"):
        assert (out / unit / "report.html").is_file()
    index = (out / "index.html").read_text()
    assert "failed" in index and "simulated failure" in index
    assert "bexley" in capsys.readouterr().err


def test_papermill_cli_directly(small_study_master: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(BIN / "papermill"),
            "notebooks/effectiveness_report.ipynb",
            str(tmp_path / "out.ipynb"),
            "-p",
            "study_dir",
            str(small_study_master),
            "-p",
            "unit",
            "bexley",
            "-k",
            "python3",  # the venv's own kernel (the notebook names "kitbag", which `make kernel` registers)
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    nb = json.loads((tmp_path / "out.ipynb").read_text())
    text = json.dumps(nb["cells"])
    assert "Effectiveness" in text and "London Borough of Bexley" in text


def test_report_command_single_unit(small_study_master: Path, tmp_path: Path) -> None:
    assert main(["report", str(small_study_master), "--unit", "haringey", "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "haringey" / "report.html").is_file()
    assert main(["report", str(small_study_master), "--unit", "camden", "--out", str(tmp_path / "r")]) == 2


def test_dask_scheduler(small_study_master: Path, tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = batch.run_batch(
            small_study_master, tmp_path / "d", units=["oxfordshire"], scheduler=cluster.scheduler_address
        )
    assert [o.status for o in result.outcomes] == ["ok"]
    assert main(["verify", str(tmp_path / "d")]) == 0


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    not CHROMIUM and not os.environ.get("CI"), reason="Debian's chromium is not installed (make browser)"
)
def test_report_opens_offline_in_a_real_browser(batch_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "CI must install chromium (make browser)"
    page_path = (batch_dir / "all" / "report.html").resolve()
    artifacts = Path(os.environ.get("KITBAG_ARTIFACTS", Path(__file__).resolve().parents[1] / "reports" / "ci"))
    artifacts.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--host-resolver-rules=MAP * ~NOTFOUND",
            ],
        )
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri(), wait_until="load")
        images = page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
        tables = page.eval_on_selector_all("table", "els => els.length")
        text = page.inner_text("body")
        page.screenshot(path=str(artifacts / "report-all.png"), full_page=True)
        browser.close()
    network = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert network == []
    assert images and all(images)  # every figure loaded
    assert tables >= 4 and "Participant flow" in text and "Effectiveness" in text


def test_data_quality_report_content(batch_dir: Path) -> None:
    text = (batch_dir / "bexley" / "data_quality.html").read_text()
    assert "Every contract of the study folder" in text and "<title>" in text
    assert "Completeness of measures" in text and "Attrition" in text and "SDQ total difficulties" in text


def test_batch_refuses_invalid_study_and_writes_nothing(study: Path, tmp_path: Path, capsys) -> None:
    from conftest import rewrite

    rewrite(study, "children", lambda f: f.assign(gender="F"))
    out = tmp_path / "never"
    assert main(["batch", str(study), "--out", str(out)]) == 1
    assert "kitbag validate" in capsys.readouterr().err
    assert not out.exists()


COUNT_COLUMNS = {"Kitbags", "Control", "Kitbags n", "Control n", "Participants", "With score", "Baseline", "Follow-up"}
LEADING = re.compile(r"^([\d,]+)$")
STAMP_COUNT = re.compile(r"(?:Children|Practitioners|Carers): ([\d,]+)")


def published_counts(page: Path) -> list[int]:
    """Every count of people a rendered report publishes (teams are not people)."""
    import io

    import pandas as pd

    text = page.read_text()
    counts = [int(n.replace(",", "")) for n in STAMP_COUNT.findall(text)]
    if "<table" not in text:  # a page of prose (the structured abstract: its numbers are release cells, test_consort)
        return counts
    for table in pd.read_html(io.StringIO(text)):
        table.columns = [str(c) for c in table.columns]
        if "Stage" in table.columns:
            table = table[table["Stage"] != "Teams randomised"]
        for col in COUNT_COLUMNS & set(table.columns):
            for cell in table[col].astype(str):
                counts += [int(m.replace(",", "")) for m in LEADING.findall(cell.strip())]
    return counts


def test_no_published_count_below_threshold_but_the_trial_process_counts(batch_dir: Path) -> None:
    """1 to 9 people are published only as a trial-process count (the flow and what equals or
    refines it, published exactly by the default policy); zeros count no one."""
    from attacker import exact_count

    pages = list(batch_dir.rglob("*.html"))
    found = [n for page in pages if page.name != "index.html" for n in published_counts(page)]
    assert len(found) > 100  # the parser does see the tables
    small = []
    for release in batch_dir.glob("*/release.json"):
        for c in json.loads(release.read_text())["cells"]:
            if c["measure"] == "n" and isinstance(c["value"], int | float) and 0 < c["value"] < 10:
                small.append((c["table"], c["row"], c["column"]))
    assert small, "small trial-process counts are published exactly"
    assert all(exact_count(*k) for k in small), [k for k in small if not exact_count(*k)][:3]
    assert len([n for n in found if 0 < n < 10]) >= len(small)  # ... and the pages show them
    import pandas as pd

    for csv in batch_dir.rglob("sdc/acro/*.csv"):  # ACRO's record: the tables as published
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
        if csv.stem in ("baseline", "uptake"):  # tables of characteristics (their totals are exact)
            label = table.columns[1]
            table = table[~table[label].str.startswith("Baseline ") & ~table[label].str.contains("(total)")]
        elif not csv.stem.startswith("acro_") and csv.stem not in ("compliance",):
            continue
        for col in COUNT_COLUMNS & set(table.columns):
            shown = [int(m.replace(",", "")) for cell in table[col] for m in LEADING.findall(cell.strip())]
            assert all(n == 0 or n >= 10 for n in shown), csv


def test_sdc_folder_holds_acro_record(batch_dir: Path) -> None:
    summary = json.loads((batch_dir / "all" / "sdc" / "summary.json").read_text())
    acro = json.loads((batch_dir / "all" / "sdc" / "acro" / "results.json").read_text())
    assert set(summary["acro"]["statuses"]) == set(acro["results"])
    assert {"participant_flow", "effectiveness", "baseline", "figure_forest"} <= set(acro["results"])
    assert "residual degrees of freedom" in json.dumps(acro["results"]["effectiveness"])
    assert summary["acro"]["threshold_check"].startswith("every cell ACRO's threshold rule flags is suppressed")
    assert summary["audit"]["status"] == "optimal; audit passed"


def test_small_arm_shows_suppressed_cells(small_study_master: Path, tmp_path: Path) -> None:
    import io

    import pandas as pd
    from conftest import read_csv_text

    study = tmp_path / "s"
    shutil.copytree(small_study_master, study)
    teams = read_csv_text(study / "teams.csv")
    kit = set(teams.loc[(teams["local_authority"] == "bexley") & (teams["arm"] == "kitbag"), "team_id"])
    kids = read_csv_text(study / "children.csv")
    in_kit = kids["team_id"].isin(kit)
    gone = set(kids.loc[in_kit, "child_id"].iloc[6:])
    for name in ("children", "child_measures", "placements", "missing_episodes", "referrals"):
        frame = read_csv_text(study / f"{name}.csv")
        frame[~frame["child_id"].isin(gone)].to_csv(study / f"{name}.csv", index=False)
    out = tmp_path / "out"
    assert main(["report", str(study), "--unit", "bexley", "--out", str(out)]) == 0
    page = out / "bexley" / "report.html"
    tables = pd.read_html(io.StringIO(page.read_text()))
    flow = next(t for t in tables if "Stage" in t.columns)
    kids_flow = flow[flow["Population"] == "Children"].set_index("Stage")
    assert str(kids_flow.loc["Included", "Kitbags"]) == "6"  # the flow is published exactly (the default policy)
    base = next(t for t in tables if "SMD" in t.columns)
    kids = base[(base["Population"] == "Children") & ~base["Characteristic"].str.startswith("Baseline ")]
    assert set(kids["Kitbags n"]) <= {"[c]", "0"} and "[c]" in set(kids["Kitbags n"])  # 6 children's traits
    scores = base[(base["Population"] == "Children") & base["Characteristic"].str.startswith("Baseline ")]
    assert (scores["Kitbags % or mean (SD)"] == "[c]").all()  # a mean of fewer than 10 is not shown
    assert not re.search(r"\b[CPF][0-9a-f]{16}\b", page.read_text())
