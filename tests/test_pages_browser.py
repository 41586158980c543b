"""The published pages as a reader gets them, in Debian's headless Chromium: desktop and 400 px
without horizontal overflow, no code name outside the methods' glossary, and an A4 print whose
text holds every column of the effectiveness table (all eleven)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from kitbag_analysis.analysis.labels import LEVELS
from kitbag_analysis.analysis.outcomes import OUTCOMES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PDFTOTEXT = shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and PDFTOTEXT) and not os.environ.get("CI"),
    reason="Debian's chromium and poppler-utils are not installed (make browser)",
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# code names a reader must not meet: the outcomes', the models', and the level codes that are not
# plain words (sdq_total, not_recorded, care_leaver, cin, cp, cla, uasc ...)
CODE_NAMES = (
    {o.name for o in OUTCOMES}
    | {code for levels in LEVELS.values() for code in levels if "_" in code}
    | {"cin", "cp", "cla", "uasc", "mixedlm", "ols_cluster_robust", "poisson_glm_cluster", "logistic_glm_cluster"}
    | {"hedges_g", "odds_ratio", "irr"}
)


def chromium(tmp: Path, *args: str) -> str:
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


@pytest.fixture(scope="module")
def pooled(small_bundle: Path) -> Path:
    return small_bundle / "all" / "report.html"


@pytest.mark.parametrize("width", [1280, 400])
def test_no_horizontal_overflow(pooled: Path, tmp_path: Path, width: int) -> None:
    probe = tmp_path / "probe.html"
    script = "<script>document.title = document.documentElement.scrollWidth + '/' + window.innerWidth</script>"
    probe.write_text(pooled.read_text().replace("</body>", script + "</body>"))
    dom = chromium(tmp_path, f"--window-size={width},1200", "--virtual-time-budget=3000", "--dump-dom", probe.as_uri())
    scroll, inner = map(int, re.search(r"<title>(\d+)/(\d+)</title>", dom).groups())
    assert scroll <= inner, f"{scroll} px of content in a {inner} px window"
    shot = tmp_path / f"report-{width}.png"
    chromium(tmp_path, f"--window-size={width},1600", f"--screenshot={shot}", pooled.as_uri())
    assert shot.stat().st_size > 10_000


def test_no_code_name_outside_the_glossary(pooled: Path, tmp_path: Path) -> None:
    doc = lxml_html.fromstring(chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", pooled.as_uri()))
    # the glossary may name codes; the stamp's input files keep their folder names (missing_episodes.csv)
    glossary = "//section[@id='methods']//table | //div[@id='audit-stamp']//tr[th[starts-with(., 'inputs')]]"
    for el in doc.xpath(f"//style | //script | //title | {glossary}"):
        el.getparent().remove(el)
    text = " ".join(doc.text_content().split())
    found = sorted(code for code in CODE_NAMES if re.search(rf"\b{re.escape(code)}\b", text))
    assert not found, found
    assert "Summary of findings" in text and "favours" in text or "no clear difference" in text


def test_a4_print_holds_the_effectiveness_table(pooled: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", pooled.as_uri())
    text = subprocess.run([PDFTOTEXT, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = set(text.split())
    doc = lxml_html.fromstring(pooled.read_text())
    headers = [" ".join(th.text_content().split()) for th in doc.xpath("//table[@id='table-effectiveness']/thead//th")]
    assert len(headers) == 11  # with the randomisation-inference p beside the model p
    for header in headers:  # every word of every column header is printed (no column clipped)
        assert set(header.split()) <= words, header


# --- issue 24: what a funder meets first, and what prints ---------------------------------------
FIRST_SCREEN = 900  # px: the window's height, as a laptop or a phone shows a page's first screen
PROBE = (
    "<script>const t = document.getElementById('{id}'); document.title = 'probe:' + "
    "Math.round(t.getBoundingClientRect().top) + '/' + window.innerHeight</script>"
)


def _top(page: Path, tmp: Path, width: int, element: str) -> tuple[int, int]:
    probe = page.with_name(f".probe-{page.name}")  # beside the page: its relative links still resolve
    probe.write_text(page.read_text().replace("</body>", PROBE.format(id=element) + "</body>"))
    try:
        dom = chromium(tmp, f"--window-size={width},{FIRST_SCREEN}", "--virtual-time-budget=3000", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    top, inner = map(int, re.search(r"<title>probe:(-?\d+)/(\d+)</title>", dom).groups())
    return top, inner


@pytest.mark.parametrize("width", [1280, 400])
def test_summary_of_findings_is_on_the_first_screen_of_every_report(small_bundle: Path, tmp_path: Path, width: int) -> None:
    work = tmp_path / "bundle"
    shutil.copytree(small_bundle, work)  # the probe never touches the shared bundle
    units = sorted(p for p in work.iterdir() if (p / "report.html").is_file())
    assert len(units) == 5
    for unit in units:
        top, inner = _top(unit / "report.html", tmp_path, width, "table-summary")
        assert 0 <= top < inner - 150, f"{unit.name} at {width} px: the summary starts at {top} px of {inner}"
    top, inner = _top(work / "index.html", tmp_path, width, "kb-index")
    assert top < inner - 150
    artifacts = Path(os.environ.get("KITBAG_ARTIFACTS", Path(__file__).resolve().parents[1] / "reports" / "ci"))
    artifacts.mkdir(parents=True, exist_ok=True)  # CI keeps the first screens as its artifact
    for page in (work / "index.html", work / "all" / "report.html"):
        shot = artifacts / f"first-screen-{page.parent.name if page.stem == 'report' else 'index'}-{width}.png"
        chromium(tmp_path, f"--window-size={width},{FIRST_SCREEN}", f"--screenshot={shot}", page.as_uri())
        assert shot.stat().st_size > 10_000


def test_index_pooled_row_comes_first_in_the_browser(small_bundle: Path, tmp_path: Path) -> None:
    doc = lxml_html.fromstring(chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", (small_bundle / "index.html").as_uri()))
    first = doc.xpath("//table[@id='kb-index']/tbody/tr")[0]
    assert first.get("data-unit") == "all" and "pooled trial" in first.text_content()
    assert "favours" in first.text_content() or "no clear difference" in first.text_content()


def _pages(pdf: Path) -> list[list[str]]:
    text = subprocess.run([PDFTOTEXT, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = [[" ".join(line.split()) for line in page.splitlines() if line.strip()] for page in text.split("\f")]
    return [p for p in pages if p]


def test_every_brief_prints_on_two_a4_pages_at_most(small_bundle: Path, tmp_path: Path) -> None:
    for brief in sorted(small_bundle.glob("*/brief.html")):
        pdf = tmp_path / f"{brief.parent.name}.pdf"
        chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", brief.as_uri())
        pages = _pages(pdf)
        assert 1 <= len(pages) <= 2, f"{brief.parent.name}: {len(pages)} pages"
        assert "Summary of findings" in pages[0] and any("How to read it" in p for p in pages)


@pytest.mark.parametrize("unit", ["all", "bexley"])
def test_no_printed_page_holds_only_a_heading(small_bundle: Path, tmp_path: Path, unit: str) -> None:
    page = small_bundle / unit / "report.html"
    pdf = tmp_path / "report.pdf"
    chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    doc = lxml_html.fromstring(page.read_text())
    headings = {" ".join(h.text_content().split()) for h in doc.xpath("//h1 | //h2 | //h3")}
    pages = _pages(pdf)
    assert len(pages) > 5
    assert "Summary of findings" in pages[0]  # the title never stands alone on page 1
    only_headings = [p for p in pages if all(any(line in h for h in headings) for line in p)]
    assert not only_headings, only_headings


# --- issue 34: the trial's reporting checklist and structured abstract ---------------------------
@pytest.mark.parametrize("page", ["consort.html", "abstract.html"])
@pytest.mark.parametrize("width", [1280, 400])
def test_the_checklist_and_the_abstract_render(small_bundle: Path, tmp_path: Path, page: str, width: int) -> None:
    work = tmp_path / "all"
    shutil.copytree(small_bundle / "all", work)  # the probe never touches the shared bundle
    target = work / page
    probe = work / f".probe-{page}"
    script = "<script>document.title = document.documentElement.scrollWidth + '/' + window.innerWidth</script>"
    probe.write_text(target.read_text().replace("</body>", script + "</body>"))
    dom = chromium(tmp_path, f"--window-size={width},1200", "--virtual-time-budget=3000", "--dump-dom", probe.as_uri())
    scroll, inner = map(int, re.search(r"<title>(\d+)/(\d+)</title>", dom).groups())
    assert scroll <= inner, f"{page}: {scroll} px of content in a {inner} px window"
    doc = lxml_html.fromstring(chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", target.as_uri()))
    text = " ".join(doc.text_content().split())
    assert "a cluster randomised trial" in text
    if page == "consort.html":
        rows = doc.xpath("//table[@id='checklist']/tbody/tr")
        assert [r.get("id") for r in rows][:3] == ["item-1a", "item-1b", "item-2"] and len(rows) == 42
        assert {r.get("data-status") for r in rows} >= {"reported", "from study.toml", "to write"}
    else:
        assert "Numbers randomised" in text and "Conclusions" in text and "Left to the authors" in text
    shot = tmp_path / f"{page}-{width}.png"
    chromium(tmp_path, f"--window-size={width},1600", f"--screenshot={shot}", target.as_uri())
    assert shot.stat().st_size > 10_000
