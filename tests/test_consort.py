"""The trial's reporting checklist (outputs.md, "The trial's reporting checklist"; issue 34):
`all/consort.json` and `all/consort.html` list every numbered item of CONSORT 2025 in order, each
reported item checked against the release it cites (its cells, as printed, and its link), the
flow at both levels and the ICCs equal to the published ones, the registration from `[trial]`;
`all/abstract.html` from the same release; the manifest, verify and the output checker's page
name them; a removed impact evaluation fills 23b and marks the effect items not done; a
monitoring bundle has none."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from lxml import html as lxml_html
from test_impact_removed import REASON, removed_bundle  # noqa: F401 - the shared fixture
from test_monitor import uptake_bundle, uptake_study  # noqa: F401 - the shared fixtures

from data_contracts.settings import TRIAL_KEYS, read_settings
from kitbag_analysis.cli import main
from kitbag_analysis.sdc import consort

# CONSORT 2025's numbered items in its order (outputs.md lists them): 42 with the sub-items
NUMBERS = [
    "1a",
    "1b",
    "2",
    "3",
    "4",
    "5a",
    "5b",
    "6",
    "7",
    "8",
    "9",
    "10",
    "11",
    "12a",
    "12b",
    "13",
    "14",
    "15",
    "16a",
    "16b",
    "17a",
    "17b",
    "18",
    "19",
    "20a",
    "20b",
    "21a",
    "21b",
    "21c",
    "21d",
    "22a",
    "22b",
    "23a",
    "23b",
    "24a",
    "24b",
    "25",
    "26",
    "27",
    "28",
    "29",
    "30",
]
# the items outputs.md asks to be reported from the bundle, at least
REPORTED_AT_LEAST = [
    "9",
    "11",
    "14",
    "16a",
    "16b",
    "17b",
    "21a",
    "21b",
    "21c",
    "21d",
    "22a",
    "22b",
    "23a",
    "23b",
    "24a",
    "25",
    "26",
    "28",
]
EFFECT_ITEMS = ("16a", "21a", "21c", "21d", "26", "28")


def _checklist(bundle: Path) -> dict:
    return json.loads((bundle / "all" / "consort.json").read_text())


def _release(bundle: Path) -> dict[tuple, object]:
    cells = json.loads((bundle / "all" / "release.json").read_text())["cells"]
    return {(c["unit"], c["table"], c["population"], c["row"], c["column"]): c["value"] for c in cells}


def _key(cell: dict) -> tuple:
    return cell["unit"], cell["table"], cell["population"], cell["row"], cell["column"]


def _items(bundle: Path) -> dict[str, dict]:
    return {i["item"]: i for i in _checklist(bundle)["items"]}


def test_the_statement_is_declared_once_in_its_numbering() -> None:
    assert [i.number for i in consort.ITEMS] == NUMBERS
    assert len({i.number for i in consort.ITEMS}) == 42
    assert all(i.fill in consort.FILLERS for i in consort.ITEMS if i.fill)
    assert {i.trial for i in consort.ITEMS if i.trial} <= set(TRIAL_KEYS)


def test_every_item_in_order_with_its_status_and_the_counts(small_bundle: Path) -> None:
    data = _checklist(small_bundle)
    assert [i["item"] for i in data["items"]] == NUMBERS
    counts = data["counts"]
    assert sum(counts.values()) == 42
    assert counts == {s: sum(i["status"] == s for i in data["items"]) for s in consort.STATUSES}
    assert counts["reported"] >= 20
    items = _items(small_bundle)
    assert all(items[n]["status"] == "reported" for n in REPORTED_AT_LEAST)
    assert items["1a"]["content"].endswith(": a cluster randomised trial\u201d.")
    assert items["6"]["status"] == items["29"]["status"] == items["30"]["status"] == "to write"


def test_each_reported_item_matches_the_release_it_cites(small_bundle: Path) -> None:
    released = _release(small_bundle)
    report = lxml_html.fromstring((small_bundle / "all" / "report.html").read_text())
    ids = set(report.xpath("//@id"))
    checked = 0
    for item in _checklist(small_bundle)["items"]:
        if item["status"] != "reported":
            assert not item["cells"]
            continue
        page, _, anchor = item["link"].partition("#")
        assert (small_bundle / "all" / page).is_file(), item["item"]
        assert not anchor or anchor in ids, (item["item"], anchor)
        for cell in item["cells"]:
            assert cell["unit"] == "all"
            assert released[_key(cell)] == cell["value"], (item["item"], cell)  # the same cell, as printed
            assert cell["text"] in item["content"], (item["item"], cell)
            checked += 1
    assert checked > 50


def test_the_flow_at_both_levels_and_the_iccs_are_the_published_ones(small_bundle: Path) -> None:
    release = json.loads((small_bundle / "all" / "release.json").read_text())["cells"]
    items = _items(small_bundle)
    flow = {_key(c): c["value"] for c in items["22a"]["cells"]}
    teams = [c for c in release if c["table"] == "participant_flow" and c["row"] == "teams randomised"]
    analysed = [c for c in release if c["table"] == "participant_flow" and c["row"].startswith("analysed: ")]
    team_flow = [c for c in release if c["table"] == "team_flow"]
    assert teams and analysed and team_flow
    for c in teams + analysed + team_flow:  # clusters and participants, randomised and analysed, per arm
        assert flow[_key(c)] == c["value"]
    published_iccs = {_key(c): c["value"] for c in release if c["measure"] == "icc"}
    cited = {_key(c): c["value"] for c in items["26"]["cells"] if c["measure"] == "icc"}
    assert published_iccs and cited == published_iccs
    assert "ICC" in items["26"]["content"]


def test_registration_and_the_other_authors_words_come_from_trial(small_bundle: Path, small_study_master: Path) -> None:
    trial = read_settings(small_study_master).trial
    items = _items(small_bundle)
    assert items["2"]["status"] == "from study.toml" and items["2"]["content"] == trial.get("registration")
    assert items["2"]["content"].startswith("ISRCTN")
    assert items["20a"]["status"] == "to write" and "`blinding`" in items["20a"]["content"]
    page = (small_bundle / "all" / "consort.html").read_text()
    doc = lxml_html.fromstring(page)
    assert doc.xpath("//tr[@id='item-2']/td[2]")[0].text_content() == "from study.toml"
    assert trial.get("registration") in doc.xpath("//tr[@id='item-2']")[0].text_content()
    links = doc.xpath("//tr[@id='item-22a']//a/@href")
    assert links == ["report.html#table-participant_flow"]


def test_the_abstract_is_structured_and_from_the_same_release(small_bundle: Path) -> None:
    doc = lxml_html.fromstring((small_bundle / "all" / "abstract.html").read_text())
    headings = [" ".join(dt.text_content().split()) for dt in doc.xpath("//dl[@id='abstract']/dt")]
    for heading in (
        "Trial design",
        "Participants",
        "Interventions",
        "Outcomes",
        "Randomisation",
        "Numbers randomised",
        "Numbers analysed",
        "Outcome",
        "Conclusions",
        "Trial registration",
        "Funding",
    ):
        assert heading in headings
    text = " ".join(doc.text_content().split())
    assert "a cluster randomised trial" in doc.xpath("//h1")[0].text_content()
    assert "Left to the authors" in text and "ISRCTN" in text
    released = json.loads((small_bundle / "all" / "release.json").read_text())["cells"]
    effects = [c for c in released if c["table"] == "effectiveness" and c["column"] == "effect" and c["value"] != "[c]"]
    assert effects
    report = (small_bundle / "all" / "report.html").read_text()
    shown = re.findall(r"(Hedges' g|rate ratio|odds ratio) (-?[\d.]+) \((-?[\d.]+) to (-?[\d.]+)\)", text)
    assert len(shown) == len({_key(c) for c in effects})  # every published effect, with its CI
    for match in re.findall(r"(Hedges' g|rate ratio|odds ratio) (-?[\d.]+) \((-?[\d.]+) to (-?[\d.]+)\)", text):
        assert " ".join(match[:2]) + f" ({match[2]} to {match[3]})" in report  # the report's own text


def test_manifest_verify_and_the_output_checker_name_them(small_bundle: Path, tmp_path: Path) -> None:
    manifest = json.loads((small_bundle / "manifest.json").read_text())
    hashed = {o["path"] for o in manifest["outputs"]}
    files = ["all/consort.html", "all/consort.json", "all/abstract.html"]
    assert manifest["reporting"]["files"] == files and set(files) <= hashed
    assert manifest["reporting"]["title"].endswith(": a cluster randomised trial")
    assert "a cluster randomised trial" in (small_bundle / "all" / "report.html").read_text().split("</title>")[0]
    index = (small_bundle / "index.html").read_text()
    assert 'href="all/consort.html"' in index and 'href="all/abstract.html"' in index
    assert 'href="bexley/consort.html"' not in index
    summary = (small_bundle / "all" / "sdc" / "summary.html").read_text()
    assert all(name in summary for name in ("consort.html", "consort.json", "abstract.html"))
    assert (
        "sdc-reporting" in summary
        and "sdc-reporting" not in (small_bundle / "bexley" / "sdc" / "summary.html").read_text()
    )
    assert not (small_bundle / "bexley" / "consort.json").exists()
    work = tmp_path / "bundle"
    shutil.copytree(small_bundle, work)
    assert main(["verify", str(work)]) == 0
    data = json.loads((work / "all" / "consort.json").read_text())
    data["items"][0]["content"] = "changed"
    (work / "all" / "consort.json").write_text(json.dumps(data))
    assert main(["verify", str(work)]) == 1


def test_no_participant_id_in_the_checklist_or_the_abstract(small_bundle: Path, small_study_master: Path) -> None:
    ids: set[str] = set()
    for name in ("children", "practitioners", "carers", "teams"):
        rows = (small_study_master / f"{name}.csv").read_text().splitlines()[1:]
        ids |= {row.split(",")[0] for row in rows if row}
    assert len(ids) > 400
    for page in ("consort.json", "consort.html", "abstract.html"):
        words = set(re.findall(r"[A-Za-z0-9_-]+", (small_bundle / "all" / page).read_text()))
        assert not ids & words, page


def test_a_removed_evaluation_fills_23b_and_the_effect_items_say_not_done(removed_bundle: Path) -> None:  # noqa: F811
    items = _items(removed_bundle)
    assert [i["item"] for i in _checklist(removed_bundle)["items"]] == NUMBERS
    assert items["23b"]["status"] == "reported"
    assert REASON in items["23b"]["content"] and "2022-04-01" in items["23b"]["content"]
    assert items["23b"]["link"] == "report.html#impact-evaluation"
    for number in EFFECT_ITEMS:
        assert items[number]["status"] == "not done" and items[number]["content"].startswith("Not done")
    assert items["22a"]["status"] == "reported"  # the flow stays (analysis-plan.md §9)
    abstract = (removed_bundle / "all" / "abstract.html").read_text()
    assert "Not done" in abstract and REASON in abstract


def test_a_monitoring_bundle_has_no_checklist(uptake_bundle: Path) -> None:  # noqa: F811
    assert not list(uptake_bundle.rglob("consort*")) and not list(uptake_bundle.rglob("abstract.html"))
    assert "reporting" not in json.loads((uptake_bundle / "manifest.json").read_text())


@pytest.mark.parametrize("unit", ["all"])
def test_the_methods_print_the_randomisation_months_item_23a_cites(small_bundle: Path, unit: str) -> None:
    item = _items(small_bundle)["23a"]
    months = re.search(r"Teams randomised in (.*?)\. Follow-up", item["content"]).group(1)
    report = " ".join(lxml_html.fromstring((small_bundle / unit / "report.html").read_text()).text_content().split())
    assert months in report


def test_16b_names_the_ledgers_monitoring_releases_and_the_progression_criteria(small_study_master: Path) -> None:
    from kitbag_analysis.sdc.cells import Release

    settings = read_settings(small_study_master)
    item = next(i for i in consort.ITEMS if i.number == "16b")
    earlier = (
        consort.Earlier("monitoring", "20211101T090000Z-aaaa", "2021-11-02T10:00:00+00:00"),
        consort.Earlier("report", "20220501T090000Z-bbbb", "2022-05-02T10:00:00+00:00"),
    )
    filled = consort.fill(item, consort.Basis(Release("all", "Pooled", 10), settings, earlier))
    assert filled.status == "reported" and filled.link == "report.html#methods"
    assert "1 interim monitoring release(s)" in filled.text
    assert "20211101T090000Z-aaaa released 2021-11-02" in filled.text and "bbbb" not in filled.text
    assert "uptake practitioners green ≥ 60%, amber ≥ 40%" in filled.text and "contamination green ≤ 10%" in filled.text
    none = consort.fill(item, consort.Basis(Release("all", "Pooled", 10), settings))
    assert "No interim monitoring release" in none.text
