"""The attacker: reads only the published HTML of every unit of a batch, writes down every
identity a reader can see among the counts (its own code: none of linked.py), and tries to
recover suppressed cells by exact elimination (linear algebra) and interval propagation.

It must recover none, and the project's LP audit must agree: every interval the audit finds lies
inside the attacker's (linear programming is the stronger attack) and is at least the threshold.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from attacker import Attack, exact_count
from lxml import html as lxml_html

from kitbag_analysis.cli import main
from kitbag_analysis.sdc.audit import audit_bundle
from kitbag_analysis.synthetic.generate import SynthSpec, write_study

C = "[c]"
THRESHOLD = 10
LA_UNITS = ["bexley", "haringey", "oxfordshire", "warwickshire"]
COUNT_COLUMNS = (
    "Kitbags",
    "Control",
    "Kitbags n",
    "Control n",
    "Participants",
    "With score",
    "Baseline",
    "Follow-up",
    "Kitbags: team used",
    "Kitbags: team did not",
    "Control: team used",
    "Control: team did not",
)
HIERARCHY = ("flow", "baseline", "uptake", "effectiveness", "attrition", "stamp", "compliance")


def _text(el) -> str:  # noqa: ANN001
    return " ".join(el.text_content().split())


def read_page(path: Path) -> dict[str, list[tuple[tuple[str, ...], dict[str, str]]]]:
    """Every table of a page: name -> rows of (row labels, {column header: cell text})."""
    doc = lxml_html.fromstring(path.read_text(encoding="utf-8"))
    tables = {}
    for table in doc.xpath("//table[starts-with(@id, 'table-')]"):
        header = [_text(th) for th in table.xpath("./thead/tr/th")]
        rows = []
        for tr in table.xpath("./tbody/tr"):
            labels = tuple(_text(th) for th in tr.xpath("./th"))
            values = [_text(td) for td in tr.xpath("./td")]
            rows.append((labels, dict(zip(header[len(labels) :], values, strict=True))))
        tables[table.get("id").removeprefix("table-")] = rows
    stamp = doc.xpath("//div[@id='audit-stamp']//tr[th[starts-with(., 'excluded')]]/td")
    if stamp:
        tables["stamp"] = [
            ((who,), {"total": n}) for who, n in (part.split(": ") for part in _text(stamp[0]).split(", "))
        ]
    return tables


def build_attack(bundle: Path) -> Attack:
    a = Attack()
    pages = {
        u: read_page(bundle / u / "report.html") | read_page(bundle / u / "data_quality.html")
        for u in [*LA_UNITS, "all"]
    }
    names = {}
    for unit in LA_UNITS:
        doc = lxml_html.fromstring((bundle / unit / "report.html").read_text(encoding="utf-8"))
        names[_text(doc.xpath("//div[@class='kb']/h2")[0])] = unit
    arms = ("Kitbags", "Control")
    for unit, tables in pages.items():
        for (pop, stage), cols in tables["participant_flow"]:
            if stage != "Teams randomised":
                for arm in arms:
                    a.cell((unit, "flow", pop, stage, arm), cols[arm])
        for (pop, what), cols in tables["baseline"]:
            for arm in arms:
                a.cell((unit, "baseline", pop, what, arm), cols[f"{arm} n"])
        for (pop, level), cols in tables["uptake"]:
            for arm in arms:
                a.cell((unit, "uptake", pop, level, arm), cols[f"{arm} n"])
        for (outcome, pop), cols in tables["effectiveness"]:
            for arm in arms:
                a.cell((unit, "effectiveness", pop, outcome, arm), cols[f"{arm} n"])
        for (who,), cols in tables["stamp"]:
            a.cell((unit, "stamp", who, "excluded", "total"), cols["total"])
        for (pop, score, wave, la, arm), cols in tables["completeness"]:
            a.cell((unit, "completeness", pop, f"{score}|{wave}|{la}", arm), cols["Participants"])
            a.cell((unit, "completeness-with", pop, f"{score}|{wave}|{la}", arm), cols["With score"])
        for (pop, score, arm), cols in tables["attrition"]:
            a.cell((unit, "attrition", pop, score, f"{arm} Baseline"), cols["Baseline"])
            a.cell((unit, "attrition", pop, score, f"{arm} Follow-up"), cols["Follow-up"])
        for (outcome, pop, rule), cols in tables["compliance"]:
            for arm in arms:
                for what in ("team used", "team did not"):
                    a.cell((unit, "compliance", pop, f"{outcome}|{rule}", f"{arm}: {what}"), cols[f"{arm}: {what}"])
    # identities a reader writes down from the pages
    pops = {k[2] for k in a.known | dict.fromkeys(a.unknown) if k[1] == "flow"}
    for unit in pages:
        for pop in pops:
            for arm in arms:
                f = lambda stage, pop=pop, arm=arm, unit=unit: (unit, "flow", pop, stage, arm)  # noqa: E731
                included = f("Included")
                a.identity(f("Enrolled"), [f("Excluded (withdrew, objected or restricted)"), included])
                for key in [
                    k for k in a.known | dict.fromkeys(a.unknown) if k[:3] == (unit, "flow", pop) and k[4] == arm
                ]:
                    if key[3].startswith(("With a", "Analysed")):
                        a.bounds.append((key, included))
                groups = defaultdict(list)
                for key in [
                    k for k in a.known | dict.fromkeys(a.unknown) if k[:3] == (unit, "baseline", pop) and k[4] == arm
                ]:
                    if ": " in key[3]:
                        groups[key[3].split(": ")[0]].append(key)
                    else:
                        a.bounds.append((key, f("With a baseline measure")))
                for parts in groups.values():
                    a.identity(included, parts)
                levels = [
                    k for k in a.known | dict.fromkeys(a.unknown) if k[:3] == (unit, "uptake", pop) and k[4] == arm
                ]
                total = [k for k in levels if "(total)" in k[3]]
                if total:
                    a.identity(total[0], [k for k in levels if k not in total])
                for key in [
                    k
                    for k in a.known | dict.fromkeys(a.unknown)
                    if k[:3] == (unit, "effectiveness", pop) and k[4] == arm
                ]:
                    a.identity(f(f"Analysed: {key[3]}"), [key])
        # compliance: those whose team used Kitbags plus those whose team did not are the analysed;
        # a rule asking a larger share of practitioners never has more users
        rules = defaultdict(list)
        for key in [k for k in a.known | dict.fromkeys(a.unknown) if k[:2] == (unit, "compliance")]:
            outcome, rule = key[3].split("|")
            arm = key[4].split(": ")[0]
            if key[4].endswith("team used"):
                used, unused = key, (*key[:4], f"{arm}: team did not")
                a.identity((unit, "effectiveness", key[2], outcome, arm), [used, unused])
                share = int(rule.split("at least ")[1].split("%")[0])
                rules[(key[2], outcome, arm)].append((share, used, unused))
        for found in rules.values():
            found.sort()
            for (_, used_lo, unused_lo), (_, used_hi, unused_hi) in zip(found, found[1:], strict=False):
                a.bounds.append((used_hi, used_lo))
                a.bounds.append((unused_lo, unused_hi))
        for key in [k for k in a.known | dict.fromkeys(a.unknown) if k[:2] == (unit, "stamp")]:
            a.identity(
                key, [(unit, "flow", key[2], "Excluded (withdrew, objected or restricted)", arm) for arm in arms]
            )
        with_score = defaultdict(list)
        for key in [k for k in a.known | dict.fromkeys(a.unknown) if k[:2] == (unit, "completeness")]:
            score, wave, la_name = key[3].split("|")
            a.identity((names[la_name], "flow", key[2], "Included", key[4]), [key])
            a.bounds.append(((unit, "completeness-with", *key[2:]), key))
            with_score[(key[2], score, wave, key[4])].append((unit, "completeness-with", *key[2:]))
        for (pop, score, wave, arm), parts in with_score.items():
            a.identity((unit, "attrition", pop, score, f"{arm} {wave}"), parts)
            if wave == "Baseline":  # the baseline table's n with a score is the data quality table's
                a.identity((unit, "baseline", pop, f"Baseline {score}", arm), parts)
    for key in [k for k in a.known | dict.fromkeys(a.unknown) if k[0] == "all" and k[1] in HIERARCHY]:
        a.identity(key, [(la, *key[1:]) for la in LA_UNITS])
    return a


def _attack(bundle: Path) -> None:
    a = build_attack(bundle)
    assert len(a.identities) > 300 and a.unknown, "the attacker sees the linked tables"
    intervals, determined = a.solve()
    assert not determined, f"exact elimination recovers {sorted(determined)[:3]}"
    # the flow is published exactly (the default policy): a suppressed count must be as wide as
    # the threshold, or as the exact counts alone leave it (a breakdown of a total below it)
    exact = {k for k in a.known if exact_count(k[1], k[3], k[4])}
    need = a.required(exact, THRESHOLD)
    narrow = {k: iv for k, iv in intervals.items() if iv[1] - iv[0] < need[k] - 1e-6}
    assert not narrow, f"propagation pins down {list(narrow.items())[:3]}"
    # a shown part and its shown total: their difference counts people too (0 names no one), unless
    # both are trial-process counts (included minus those with a baseline measure)
    small = [
        (part, total, a.known[total] - a.known[part])
        for part, total in a.bounds
        if part in a.known
        and total in a.known
        and 0 < a.known[total] - a.known[part] < THRESHOLD
        and not (part in exact and total in exact)
    ]
    assert not small, f"a shown total minus a shown part is a small count: {small[:3]}"
    project = audit_bundle(bundle)
    assert not project.narrow
    assert project.suppressed == len(a.unknown)  # the same suppressed counts, seen two ways
    lp = sorted(hi - lo for key, (lo, hi) in project.intervals.items() if key.table != "complement")
    prop = sorted(hi - lo for lo, hi in intervals.values())
    # linear programming is at least as strong as propagation: its widths are never wider
    assert all(x <= y + 1e-6 for x, y in zip(lp, prop, strict=True))
    assert lp[0] >= min(need.values())


_BUNDLES: dict[int, Path] = {}  # made once per size for the session, whatever order the tests run in


@pytest.fixture(params=[300, 9000], ids=["300-children", "default-9000"])
def bundle(request, tmp_path_factory) -> Path:
    if request.param not in _BUNDLES:
        root = tmp_path_factory.mktemp(f"attack{request.param}")
        study = write_study(root / "study", SynthSpec(children=request.param))
        out = root / "bundle"
        assert main(["batch", str(study), "--out", str(out), "--workers", "2"]) == 0
        _BUNDLES[request.param] = out
    return _BUNDLES[request.param]


def test_attacker_recovers_no_suppressed_cell(bundle: Path) -> None:
    _attack(bundle)
    assert C in (bundle / "all" / "report.html").read_text()


def test_release_json_agrees_with_the_pages(bundle: Path) -> None:
    """Every count the pages show is in release.json with the same value, and vice versa."""
    import json

    for unit in [*LA_UNITS, "all"]:
        release = json.loads((bundle / unit / "release.json").read_text())
        from_json = sorted(
            C if c["value"] == C else f"{int(c['value']):,}" for c in release["cells"] if c["measure"] == "n"
        )
        pages = read_page(bundle / unit / "report.html") | read_page(bundle / unit / "data_quality.html")
        shown = [
            text
            for name, rows in pages.items()
            for labels, cols in rows
            for header, text in cols.items()
            if (name == "stamp" or header in COUNT_COLUMNS)
            and text
            and not (name == "participant_flow" and labels[1] == "Teams randomised")
        ]
        assert sorted(shown) == from_json, unit


def test_acro_record_holds_only_what_the_pages_show(bundle: Path) -> None:
    """ACRO's record (sdc/acro) holds the published tables as shown: no value the HTML hides."""
    import pandas as pd

    for unit in [*LA_UNITS, "all"]:
        pages = read_page(bundle / unit / "report.html") | read_page(bundle / unit / "data_quality.html")
        for csv in (bundle / unit / "sdc" / "acro").glob("*.csv"):
            table = pd.read_csv(csv, dtype=str, keep_default_na=False)
            if csv.stem == "excluded":  # the stamp's excluded counts, one column per population
                stamp = {who: cols["total"] for (who,), cols in pages["stamp"]}
                assert table.iloc[0].to_dict() == stamp, unit
                continue
            if csv.stem.startswith("acro_"):  # ACRO's own crosstab of a table's shown counts
                name = csv.stem.removeprefix("acro_").rsplit("_", 1)[0]
                shown = {v.replace(",", "") for _labels, cols in pages[name] for v in cols.values()}
                values = {v for row in table.to_numpy().tolist() for v in row[1:]}
                assert values <= shown and C not in values, (unit, csv.name)
                continue
            if csv.stem not in pages:
                assert csv.stem.startswith("session_summary"), csv.name
                continue
            html_rows = [[*labels, *cols.values()] for labels, cols in pages[csv.stem]]
            assert table.to_numpy().tolist() == html_rows, (unit, csv.name)


def test_kitbag_audit_passes_then_names_a_revealed_cell(bundle: Path, tmp_path: Path, capsys) -> None:
    """Publishing the true value of suppressed cells one by one: the audit soon names a cell
    that became narrow, by its place only (never a value)."""
    import json
    import shutil

    from kitbag_analysis.sdc.linked import linked_set
    from kitbag_analysis.study.load import load_study

    assert main(["audit", str(bundle)]) == 0
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    truth = linked_set(load_study(bundle.parent / "study")).values
    path = copy / "bexley" / "release.json"
    release = json.loads(path.read_text())
    hidden = [c for c in release["cells"] if c["value"] == C and c["measure"] == "n"]
    for cell in hidden[:40]:
        key = (cell["unit"], cell["table"], cell["population"], cell["row"], cell["column"])
        cell["value"] = float(
            next(v for k, v in truth.items() if (k.unit, k.table, k.population, k.row, k.column) == key)
        )
        path.write_text(json.dumps(release))
        capsys.readouterr()
        if main(["audit", str(copy)]) == 1:
            break
    else:
        raise AssertionError("revealing 40 suppressed cells never made another narrow")
    out = capsys.readouterr().out
    assert "NARROW" in out and ("bexley /" in out or "all /" in out)
