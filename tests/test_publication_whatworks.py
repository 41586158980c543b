"""Disclosure control of the What-Works tables (§7 under §6): each number is shown only where
every count it rests on is shown, models follow their model, and the compliance counts are
linked to the analysed counts in the study's table set."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitbag_analysis.analysis.analyse import analyse
from kitbag_analysis.sdc import formats as fmt
from kitbag_analysis.sdc import whatworks_tables as pw
from kitbag_analysis.sdc.cells import SUPPRESSED, CellKey, Table
from kitbag_analysis.sdc.linked import linked_set
from kitbag_analysis.sdc.rules import Publisher
from kitbag_analysis.study.load import load_study

THRESHOLD = 10


@pytest.fixture(scope="module")
def pooled(small_study_master: Path):
    study = load_study(small_study_master)
    return study, analyse(study, "all")


def _release(study, analysis, pattern=frozenset()):  # noqa: ANN001, ANN202
    from kitbag_analysis.sdc.release import make_release

    return make_release(study, analysis, frozenset(pattern))


def _row(table: Table, *labels: str) -> list[str]:
    for row in table.rows:
        if list(row[: len(labels)]) == list(labels):
            return [c if isinstance(c, str) else c.text for c in row]
    raise KeyError(labels)


def test_cace_shown_only_with_all_four_compliance_counts(pooled) -> None:
    study, analysis = pooled
    table = _release(study, analysis).tables["compliance"]
    counts = analysis.tables["compliance"]
    sdq = counts.loc[(counts["outcome"] == "sdq_total") & (counts["theta"] == 0.5)].set_index("arm")
    main = (
        "Emotional and behavioural difficulties (SDQ total)",
        "Children",
        "at least 50% of practitioners (main rule)",
    )
    row = _row(table, *main)
    counts_of = sdq[["used", "not_used"]].to_numpy()
    small = ((counts_of > 0) & (counts_of < THRESHOLD)).any()  # a zero counts no one (zeros = "safe")
    assert (row[-1] == SUPPRESSED) == small
    # suppress one count by pattern (a secondary suppression): the CACE goes with it
    key = CellKey("all", "compliance", "children", pw.compliance_row("sdq_total", 0.5), "kitbag used")
    row = _row(_release(study, analysis, {key}).tables["compliance"], *main)
    assert row[3] == SUPPRESSED and row[5] == SUPPRESSED and row[-1] == SUPPRESSED


def test_mdes_attrition_and_missing_share_follow_their_counts(pooled) -> None:
    study, analysis = pooled
    label = ("Emotional and behavioural difficulties (SDQ total)", "Children")
    shown = _row(_release(study, analysis).tables["whatworks"], *label)
    enrolled = CellKey("all", "participant_flow", "children", "enrolled", "kitbag")
    release = _release(study, analysis, {enrolled})
    hidden = _row(release.tables["whatworks"], *label)
    # g_total and the ICC are the model's (its analysed counts are shown); MDES at randomisation rests on enrolled
    assert hidden[2:4] == shown[2:4] and SUPPRESSED not in shown[2:4]
    assert hidden[4] == SUPPRESSED  # at randomisation: enrolled
    assert hidden[5] == shown[5] and SUPPRESSED not in shown[5]  # at analysis: the analysed, shown
    assert hidden[9] == shown[9]  # teams with no one analysed: teams are not people
    assert _row(release.tables["missing_data"], *label) == _row(_release(study, analysis).tables["missing_data"], *label)


def test_a_model_whose_analysed_count_is_suppressed_is_not_shown(pooled) -> None:
    """analysis-plan §6.1: a model result is shown only where the counts it rests on are (an
    analysed count suppressed by the pattern or the ledger withholds the model and its §7 rows)."""
    study, analysis = pooled
    label = ("Emotional and behavioural difficulties (SDQ total)", "Children")
    analysed = CellKey("all", "effectiveness", "children", "sdq_total", "control")
    release = _release(study, analysis, {analysed})
    assert [c for c in _row(release.tables["whatworks"], *label)[2:] if c] == ["not shown"]
    assert [c for c in _row(release.tables["missing_data"], *label)[2:] if c] == ["not shown"]
    effectiveness = next(row for row in release.tables["effectiveness"].rows if tuple(row[:2]) == label)
    assert effectiveness[6] == "not shown" and "suppressed" in effectiveness[-1]
    assert "sdq_total" not in {e.outcome for e in release.effects}  # nor in a figure


def test_models_below_the_residual_df_rule_are_not_shown(pooled) -> None:
    from dataclasses import replace

    study, analysis = pooled
    results = tuple(replace(r, fit=replace(r.fit, df_resid=5.0)) if r.outcome == "gse_carer" else r for r in analysis.outcomes)
    gse = next(r for r in results if r.outcome == "gse_carer")
    pub = Publisher("all", THRESHOLD)
    table = pw.whatworks_table([gse], pub, {})
    assert [c for c in table.rows[0][2:] if c] == ["not shown"]
    compliance = pw.compliance_table([gse], analysis.tables["compliance"], pub)
    assert {row[-1] for row in compliance.rows if row[0] == "Carer self-efficacy (GSE)"} == {"not shown"}


def test_subgroup_table_levels_and_interactions(pooled) -> None:
    study, analysis = pooled
    table = pw.subgroup_table(analysis.outcomes, Publisher("all", THRESHOLD))
    rows = [[c if isinstance(c, str) else c.text for c in row] for row in table.rows]
    assert {r[0] for r in rows} == {"Emotional and behavioural difficulties (SDQ total)", "Trauma symptoms (CRIES-8)"}
    for name, g in analysis.results["sdq_total"].what_works.subgroups.items():
        mine = [r for r in rows if r[0].startswith("Emotional") and r[1] == pw.SUBGROUPS[name].label]
        shown = [e.status == "ok" and min(e.n.values()) >= THRESHOLD for e in g.levels.values()]
        for row, visible in zip(mine, shown, strict=True):
            assert (row[3][:1] in "-0123456789") == visible, row
        if all(shown) and g.estimate is not None:
            assert mine[0][4].startswith(fmt.decimal(g.estimate))
        else:  # a hidden level would be the other level plus the interaction
            assert not mine[0][4][:1].isdigit() and not mine[0][4].startswith("-") and mine[0][5] == ""


def test_a_hidden_level_hides_the_interaction(pooled) -> None:
    """One child in a level: its effect is not shown, and neither is the interaction that would
    give it as the other level's effect plus the interaction."""
    from dataclasses import replace

    from kitbag_analysis.analysis.whatworks.subgroups import LevelEffect

    study, analysis = pooled
    r = analysis.results["sdq_total"]
    g = r.what_works.subgroups["disability"]
    tiny = replace(g, levels={**g.levels, "yes": LevelEffect("not_estimable", {"kitbag": 1, "control": 12})})
    ww = replace(r.what_works, subgroups={"disability": tiny})
    table = pw.subgroup_table([replace(r, what_works=ww)], Publisher("all", THRESHOLD))
    yes, other = ([c if isinstance(c, str) else c.text for c in row] for row in table.rows)
    assert yes[3].startswith("not shown") and yes[4] == "not shown: a level is not shown" and yes[5] == ""
    # a threshold above 10 hides a level of 10-14 too
    table = pw.subgroup_table([r], Publisher("all", 1000))
    assert all(row[3].startswith("not shown") for row in table.rows)  # words, not cells


def test_compliance_counts_are_linked(small_study_master: Path) -> None:
    study = load_study(small_study_master)
    linked = linked_set(study)
    assert not linked.check()
    totals = {i.total: i.parts for i in linked.identities if i.parts and i.parts[0].table == "compliance"}
    key = CellKey("bexley", "effectiveness", "children", "sdq_total", "kitbag")
    assert key in totals and len(totals[key]) == 2  # used + did not use = analysed (per θ, one shown here)
    pooled = CellKey("all", "compliance", "children", pw.compliance_row("sdq_total", 0.5), "kitbag used")
    parts = next(i.parts for i in linked.identities if i.total == pooled)
    assert {p.unit for p in parts} == set(study.settings.local_authorities)
    stricter = CellKey("all", "compliance", "children", pw.compliance_row("sdq_total", 0.75), "kitbag used")
    assert (stricter, pooled) in linked.bounds
