"""release.json carries every number the pages show, as printed (analysis-plan.md §6.1): the test
reads each unit's pages and its release.json and compares them cell by cell."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import html

from kitbag_analysis.sdc.cells import MEASURES, SUPPRESSED

PAGES = ("report.html", "data_quality.html")
MODEL_MEASURES = {
    "estimate", "hedges_g", "irr", "odds_ratio", "p", "g_total", "icc_unconditional", "mdes", "subgroup_effect"
}
# numbers that are words of a cell, not published numbers: "(m = 20)", "fewer than 10 ...", "at least 50% ..."
LITERALS = re.compile(r"m = \d+|fewer than \d+|at least \d+%|\b365\b|less than \d\.\d+ between")


def _tables(unit_dir: Path) -> dict[str, list]:
    found: dict[str, list] = {}
    for page in PAGES:
        tree = html.fromstring((unit_dir / page).read_text())
        for table in tree.xpath("//table[starts-with(@id, 'table-')]"):
            found.setdefault(table.get("id").removeprefix("table-"), []).append(table)
    return found


def _grid(table) -> tuple[list[str], list[list[str | None]]]:  # noqa: ANN001 - an lxml element
    header = [" ".join(th.text_content().split()) for th in table.xpath("./thead/tr/th")]
    rows = [
        [" ".join(c.text_content().split()) if c.tag == "td" else None for c in tr.xpath("./th|./td")]
        for tr in table.xpath("./tbody/tr")
    ]
    return header, rows


def _as_printed(cell: dict) -> str:
    value, fmt = cell["value"], MEASURES[cell["measure"]]
    if value == SUPPRESSED or isinstance(value, str):
        return value
    if fmt.kind == "count":
        assert isinstance(value, int), cell
        return f"{value:,}"
    assert round(value, fmt.digits) == value, f"{cell} carries more digits than its page shows"
    return f"{value:,.{fmt.digits}f}"


def test_release_json_is_the_pages_cell_by_cell(small_bundle: Path) -> None:
    measures_seen: set[str] = set()
    for release_path in sorted(small_bundle.glob("*/release.json")):
        unit_dir = release_path.parent
        release = json.loads(release_path.read_text())
        tables = _tables(unit_dir)
        at: dict[tuple[str, int, str], list[dict]] = {}
        for cell in release["cells"]:
            if cell["value"] is None:
                continue
            at.setdefault((cell["page_table"], cell["page_row"], cell["page_column"]), []).append(cell)
            measures_seen.add(cell["measure"])
        for name, elements in tables.items():
            for element in elements:
                header, rows = _grid(element)
                for i, row in enumerate(rows):
                    for j, text in enumerate(row):
                        if text is None:  # a row label
                            continue
                        rest = text
                        for cell in at.get((name, i, header[j]), []):
                            shown = _as_printed(cell)
                            if shown == SUPPRESSED:  # a displayed cell of several suppressed cells reads [c] once
                                assert text == SUPPRESSED, (unit_dir.name, name, i, header[j], text)
                                continue
                            assert shown in rest, (unit_dir.name, name, i, header[j], shown, text)
                            rest = rest.replace(shown, "", 1)
                        leftover = LITERALS.sub("", rest.replace(SUPPRESSED, ""))
                        assert not re.search(r"\d", leftover), (unit_dir.name, name, i, header[j], text)
        # every published location is on a page; the excluded counts are the audit stamp's row
        stamp = html.fromstring((unit_dir / "report.html").read_text()).xpath("//*[@id='audit-stamp']")[0]
        excluded = next(tr for tr in stamp.xpath(".//tr") if tr.xpath("./th")[0].text_content().startswith("excluded"))
        for (table, _row, column), cells in at.items():
            if table == "excluded":
                assert f"{column}: {_as_printed(cells[0])}" in excluded.text_content(), (unit_dir.name, column)
            else:
                assert table in tables, (unit_dir.name, table)
    assert measures_seen >= MODEL_MEASURES, MODEL_MEASURES - measures_seen


@pytest.mark.parametrize("unit", ["bexley", "all"])
def test_model_numbers_are_cells_with_measures(small_bundle: Path, unit: str) -> None:
    release = json.loads((small_bundle / unit / "release.json").read_text())
    results = json.loads((small_bundle / unit / "results.json").read_text())
    effectiveness = {
        (c["row"], c["column"]): c for c in release["cells"] if c["table"] == "effectiveness" and c["value"] is not None
    }
    for a in results["analyses"]:
        if a["status"] != "ok" or (a["outcome"], "estimate") not in effectiveness:
            continue
        for column, exact in (("estimate", a["estimate"]), ("estimate ci_low", a["ci_low"]), ("effect", a["effect"]["value"])):
            cell = effectiveness[(a["outcome"], column)]
            assert cell["value"] == round(exact, 2) or abs(cell["value"] - exact) <= 0.005 + 1e-12, (cell, exact)
