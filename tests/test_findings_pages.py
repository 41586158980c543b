"""What a funder and an output checker read (issue 24): every unit's summary of findings, its
brief and the index say a verdict that agrees with the interval printed beside it; the index leads
with the pooled trial and links only what leaves; the output checker's page reads the record."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import html

from kitbag_analysis.analysis.results import OutcomeResult
from kitbag_analysis.pages.figures import population_effects, ratio_ticks, svg
from kitbag_analysis.sdc import release_tables as rt
from kitbag_analysis.sdc.cells import CellKey, PublishedEffect, Release, Table, effect_cells, interval
from kitbag_analysis.sdc.output_checker import why_suppressed
from kitbag_analysis.sdc.rules import Publisher

INTERVAL = re.compile(r"(Hedges' g|rate ratio|odds ratio) (-?[\d,.]+) \((-?[\d,.]+) to (-?[\d,.]+)\)")
VERDICTS = {rt.FAVOURS_KITBAGS, rt.FAVOURS_CONTROL, rt.NO_CLEAR}


def agrees(effect: str, verdict: str) -> bool:
    """'favours' never beside a printed interval that touches or crosses no difference; 'no clear
    difference' never beside one that excludes it."""
    found = INTERVAL.search(effect)
    assert found, effect
    null = 0.0 if found.group(1) == "Hedges' g" else 1.0
    low, high = (float(found.group(i).replace(",", "")) for i in (3, 4))
    return (low <= null <= high) == (verdict == rt.NO_CLEAR)


def units(bundle: Path) -> list[Path]:
    return sorted(p for p in bundle.iterdir() if (p / "report.html").is_file())


def summary_rows(page: Path) -> list[list[str]]:
    doc = html.fromstring(page.read_text())
    rows = doc.xpath("//table[@id='table-summary']/tbody/tr")
    return [[" ".join(c.text_content().split()) for c in row] for row in rows]


def test_every_summary_row_of_every_unit_agrees_with_its_printed_interval(small_bundle: Path) -> None:
    seen = 0
    for unit in units(small_bundle):
        for page in (unit / "report.html", unit / "brief.html"):
            rows = summary_rows(page)
            assert len(rows) == 9, page
            for what, effect, verdict, *_ in rows:
                if effect in ("not estimable", "not shown"):
                    assert verdict and verdict not in VERDICTS, (page, what)  # the reason, in words
                    continue
                assert verdict in VERDICTS and agrees(effect, verdict), (page, what, effect, verdict)
                seen += 1
    assert seen >= 30
    index = html.fromstring((small_bundle / "index.html").read_text())
    items = [" ".join(li.text_content().split()) for li in index.xpath("//ul[@class='kb-findings']/li")]
    assert len(items) == 9 * len(units(small_bundle))
    for item in items:
        if "not estimable" in item or "not shown" in item:
            assert re.search(r"not (estimable|shown) \(.+\)", item), item  # with its reason
        else:
            effect, verdict = item.rsplit(" – ", 1)
            assert agrees(effect, verdict), item


@given(
    st.floats(-2, 2, allow_nan=False),
    st.floats(0, 0.5, allow_nan=False),
    st.floats(0, 0.5, allow_nan=False),
    st.sampled_from(["hedges_g", "irr", "odds_ratio"]),
)
def test_direction_is_read_from_the_interval_as_printed(centre: float, below: float, above: float, measure: str) -> None:
    if measure != "hedges_g":
        centre = 1 + centre / 4
    key = CellKey("all", "summary", "children", "x", "effect")
    low, high = centre - below / 4, centre + above / 4
    if measure != "hedges_g" and low <= 0:
        return
    from kitbag_analysis.analysis.results import Effect

    shown = effect_cells(key, Effect(measure, centre, low, high))
    verdict = rt.direction(shown, 0.0 if measure == "hedges_g" else 1.0, "lower")
    assert agrees(shown.text, verdict), (shown.text, verdict)


def test_the_exact_bound_no_longer_decides() -> None:
    """The issue's rows: an exact CI just short of 1 (or 0) that prints as 1.00 (0.00)."""
    key = CellKey("all", "summary", "children", "x", "effect")
    ratio = interval(key, "irr", 0.84, 0.70, 0.9973, "rate ratio {0} ({1} to {2})")
    g = interval(key, "hedges_g", 0.19, 0.0041, 0.38, "Hedges' g {0} ({1} to {2})")
    assert ratio.text == "rate ratio 0.84 (0.70 to 1.00)" and rt.direction(ratio, 1.0, "lower") == rt.NO_CLEAR
    assert g.text == "Hedges' g 0.19 (0.00 to 0.38)" and rt.direction(g, 0.0, "higher") == rt.NO_CLEAR
    assert "as printed" in rt.VERDICT_RULE


def test_a_not_estimable_outcome_says_why_in_the_summary() -> None:
    result = OutcomeResult(
        "gse_carer",
        "carers",
        "continuous",
        "not_estimable",
        {"kitbag": 4, "control": 5},
        {"kitbag": 2, "control": 2},
        reason="fewer than 10 analysed participants in the kitbag arm",
    )
    pub = Publisher("bexley", 10)
    summary = rt.summary_table([result], rt.effectiveness_table([result], pub), {"gse_carer": "higher"})
    (row,) = summary.rows
    assert row[1] == "not estimable" and row[2] == "fewer than 10 analysed participants in the kitbag arm"


def test_index_leads_with_the_pooled_trial_and_links_only_what_leaves(small_bundle: Path) -> None:
    doc = html.fromstring((small_bundle / "index.html").read_text())
    rows = doc.xpath("//table[@id='kb-index']/tbody/tr")
    assert rows[0].get("data-unit") == "all" and "pooled" in rows[0].text_content()
    links = doc.xpath("//a/@href")
    assert links and all((small_bundle / link).is_file() for link in links)
    inside = re.compile(r"(manifest\.json|\.ipynb|results\.json|release\.json|error\.txt)$")
    assert not [link for link in links if inside.search(link)]
    assert {"all/brief.html", "all/sdc/summary.html"} <= set(links)
    manifest = json.loads((small_bundle / "manifest.json").read_text())
    listed = {o["path"] for o in manifest["outputs"]}
    assert {f"{u.name}/brief.html" for u in units(small_bundle)} <= listed  # verified like every page


def test_report_opens_on_the_summary_with_a_compact_stamp_and_ends_with_the_whole(small_bundle: Path) -> None:
    text = (small_bundle / "bexley" / "report.html").read_text()
    compact, summary, whole = (text.index(s) for s in ('id="audit-stamp-compact"', 'id="table-summary"', 'id="audit-stamp"'))
    assert compact < summary < whole
    assert text.count("The direction is read from the 95% CI as printed") >= 2  # summary note and methods
    assert "SHA-256" not in text[:summary].split("<body", 1)[1]
    assert re.search(r'<img [^>]*src="data:image/svg\+xml;base64,', text)  # figures crisp at any zoom
    assert not re.search(r'<img [^>]*src="data:image/png', text)


def test_output_checkers_page(small_bundle: Path) -> None:
    page = (small_bundle / "all" / "sdc" / "summary.html").read_text()
    for words in ("Rules applied", "Suppressed cells by table", "narrowest interval", "no earlier releases", "pass"):
        assert words in page, words
    summary = json.loads((small_bundle / "all" / "sdc" / "summary.json").read_text())
    statuses = summary["acro"]["statuses"]
    checked = {k: v for k, v in statuses.items() if k.startswith("acro_")}
    # ACRO's own verdict on the published counts: pass, or fail only on zeros (zeros = "safe": shown)
    assert checked and all(
        v == "pass" or "zero(s), shown because a zero counts no one" in summary["acro"]["checks"][k]
        for k, v in checked.items()
    )
    acro = json.loads((small_bundle / "all" / "sdc" / "acro" / "results.json").read_text())["results"]
    assert "acro_participant_flow" not in acro  # the flow is published exactly: argued, not ACRO's rule
    assert "published exactly under the study's disclosure policy" in acro["participant_flow"]["comments"][0]
    kinds = {c["why"] for c in summary["suppressed"]}
    assert {"primary", "secondary"} <= kinds
    assert summary["narrowest_interval"]["width"] >= summary["threshold"]


def test_a_ledger_reason_recorded_per_cell_is_shown_as_ledger() -> None:
    key = CellKey("all", "participant_flow", "children", "Enrolled", "kitbag")
    other = CellKey("all", "participant_flow", "children", "Enrolled", "control")
    from kitbag_analysis.sdc.cells import Cell

    table = Table("participant_flow", "Participant flow", ("Population", "Stage", "Kitbags", "Control"), (
        ("Children", "Enrolled", Cell(key, "n", 40.0, True), Cell(other, "n", 4.0, True)),
    ))
    release = Release("all", "All", 10, {"participant_flow": table})
    pattern = SimpleNamespace(primary=frozenset({other}), secondary=frozenset({key}), reasons={key: "ledger"})
    found = why_suppressed(SimpleNamespace(release=release, pattern=pattern))
    assert [c["why"] for c in found] == ["ledger", "primary"]
    pattern = SimpleNamespace(primary=frozenset({other, key}), secondary=frozenset(), ledger=frozenset({key}))
    found = why_suppressed(SimpleNamespace(release=release, pattern=pattern))
    assert [c["why"] for c in found] == ["ledger", "primary"]  # the ledger's set, as the pattern keeps it


def test_ratio_axes_carry_plain_spaced_decimals_and_figures_are_svg() -> None:
    assert ratio_ticks(0.5, 2.0) == [0.5, 0.8, 1.0, 1.25, 2.0]  # 0.67 and 1.5 would crowd their neighbours
    for low, high in ((0.3, 1.2), (0.05, 20.0), (0.9, 1.1), (0.6, 0.95)):
        ticks = ratio_ticks(low, high)
        assert len(ticks) <= 7 and all(low <= t <= high for t in ticks)
    fig = population_effects(
        [PublishedEffect("irr", 0.63, 0.42, 0.92, outcome="placement_moves", label="Placement moves")], "t"
    )
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels and all(re.fullmatch(r"\d+(\.\d+)?", s) for s in labels), labels
    assert not any(t.get_text() for t in fig.axes[0].get_xticklabels(minor=True))
    data = svg(fig)
    assert b"<svg" in data[:400] and svg(population_effects(
        [PublishedEffect("irr", 0.63, 0.42, 0.92, outcome="placement_moves", label="Placement moves")], "t"
    )) == data  # deterministic


@pytest.mark.parametrize("name", ["effectiveness_report", "data_quality", "explore"])
def test_notebooks_name_the_projects_kernel(name: str) -> None:
    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / f"{name}.ipynb").read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "kitbag"
