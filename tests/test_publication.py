"""Disclosure control of what pages show (analysis-plan.md §6), one rule at a time."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from kitbag_analysis.analysis.models import Fit
from kitbag_analysis.analysis.results import Effect, OutcomeResult
from kitbag_analysis.sdc.cells import SUPPRESSED, CellKey, Release
from kitbag_analysis.sdc.policy import STRICT
from kitbag_analysis.sdc.release_tables import baseline_table, effectiveness_table, flow_table
from kitbag_analysis.sdc.rules import Publisher, model_publishable

FLOW = pd.DataFrame(
    [
        ("children", "teams randomised", 3, 2),
        ("children", "enrolled", 40, 9),
        ("children", "excluded (withdrawn, objected or restricted)", 0, 1),
        ("children", "included", 40, 8),
    ],
    columns=["population", "stage", "kitbag", "control"],
)


def test_strict_policy_counts_below_threshold_zero_included_and_teams_shown() -> None:
    table = flow_table(FLOW, Publisher("bexley", 10, policy=STRICT))
    text = [[c if isinstance(c, str) else c.text for c in row] for row in table.rows]
    assert text[0][2:] == ["3", "2"]  # teams are not people
    assert text[1][2:] == ["40", SUPPRESSED] and text[2][2:] == [SUPPRESSED, SUPPRESSED]  # 0 and 1 too


def test_default_policy_publishes_the_flow_exactly_and_zeros_count_no_one() -> None:
    table = flow_table(FLOW, Publisher("bexley", 10))
    text = [[c if isinstance(c, str) else c.text for c in row] for row in table.rows]
    assert text[1][2:] == ["40", "9"] and text[2][2:] == ["0", "1"]  # trial-process counts: exact
    pub = Publisher("bexley", 10)
    gender = [
        pub.people(pub.key("baseline", "children", f"gender: {g}", "kitbag"), n) for g, n in [("other", 0), ("male", 3)]
    ]
    assert [c.text for c in gender] == ["0", SUPPRESSED]  # a zero counts no one; 3 people do


def test_pattern_suppresses_large_cells_and_release_json_hides_values() -> None:
    key = CellKey("bexley", "participant_flow", "children", "enrolled", "kitbag")
    table = flow_table(FLOW, Publisher("bexley", 10, {key}, STRICT))
    release = Release("bexley", "Bexley", 10, {"participant_flow": table})
    cells = {(c["row"], c["column"]): c["value"] for c in release.to_json()["cells"]}
    assert cells[("enrolled", "kitbag")] == SUPPRESSED  # 40, but in the pattern
    assert cells[("included", "kitbag")] == 40.0
    assert "9" not in json.dumps([v for k, v in cells.items() if k[1] == "control" and k[0] != "teams randomised"])


def test_percentages_and_means_follow_their_counts() -> None:
    pub = Publisher("bexley", 10, policy=STRICT)
    flow = flow_table(FLOW, pub)
    included = {c.key: c for c in flow.cells() if c.key.row == "included"}
    base = pd.DataFrame(
        [
            {
                "population": "children",
                "characteristic": "gender",
                "level": "female",
                "statistic": "n (%)",
                "n_kitbag": 20,
                "pct_kitbag": 50.0,
                "n_control": 4,
                "pct_control": 50.0,
                "smd": 0.0,
            },
            {
                "population": "children",
                "characteristic": "baseline sdq_total",
                "level": "",
                "statistic": "mean (SD)",
                "n_kitbag": 30,
                "mean_kitbag": 12.5,
                "sd_kitbag": 4.0,
                "n_control": 7,
                "mean_control": 11.0,
                "sd_control": 3.0,
                "smd": 0.4,
            },
        ]
    )
    table = baseline_table(base, pub, included)
    female = [c if isinstance(c, str) else c.text for c in table.rows[0]]
    # kitbag: 20 of 40 shown -> 50.0; control: n 4 < 10 and its denominator 8 < 10 -> [c]; SMD needs both
    assert female[2:] == ["20", "50.0", SUPPRESSED, SUPPRESSED, SUPPRESSED]
    score = [c if isinstance(c, str) else c.text for c in table.rows[1]]
    assert score[2:] == ["30", "12.5 (4.0)", SUPPRESSED, SUPPRESSED, SUPPRESSED]


def test_a_mean_over_a_small_exact_count_is_suppressed() -> None:
    """The flow and those with a score are published exactly, however small; a mean, SD or SMD
    over fewer than the threshold is not (analysis-plan.md §6), a percentage of shown counts is."""
    pub = Publisher("bexley", 10)
    included = {c.key: c for c in flow_table(FLOW, pub).cells() if c.key.row == "included"}
    base = pd.DataFrame(
        [
            {
                "population": "children",
                "characteristic": "gender",
                "level": "female",
                "statistic": "n (%)",
                "n_kitbag": 20,
                "pct_kitbag": 50.0,
                "n_control": 0,
                "pct_control": 0.0,
                "smd": 1.0,
            },
            {
                "population": "children",
                "characteristic": "baseline sdq_total",
                "level": "",
                "statistic": "mean (SD)",
                "n_kitbag": 30,
                "mean_kitbag": 12.5,
                "sd_kitbag": 4.0,
                "n_control": 7,
                "mean_control": 11.0,
                "sd_control": 3.0,
                "smd": 0.4,
            },
        ]
    )
    table = baseline_table(base, pub, included)
    female = [c if isinstance(c, str) else c.text for c in table.rows[0]]
    assert female[2:] == ["20", "50.0", "0", "0.0", "1.00"]  # a zero of 8 shown (exact) counts no one
    score = [c if isinstance(c, str) else c.text for c in table.rows[1]]
    assert score[2:] == ["30", "12.5 (4.0)", "7", SUPPRESSED, SUPPRESSED]


def test_models_need_ten_residual_degrees_of_freedom() -> None:
    def result(df: float) -> OutcomeResult:
        return OutcomeResult(
            "sdq_total",
            "children",
            "continuous",
            "ok",
            {"kitbag": 40, "control": 40},
            {"kitbag": 3, "control": 3},
            fit=Fit("mixedlm", estimate=-1.0, se=0.5, df_resid=df, df=4, icc=0.05),
            effect=Effect("hedges_g", -0.2, -0.4, 0.0),
        )

    assert not model_publishable(result(9)) and model_publishable(result(10))
    table = effectiveness_table([result(9), result(10)], Publisher("bexley", 10))
    texts = [[c if isinstance(c, str) else c.text for c in row] for row in table.rows]
    assert "not shown" in texts[0] and "Hedges' g -0.20 (-0.40 to 0.00)" in texts[1]


@given(st.lists(st.integers(0, 60), min_size=8, max_size=8), st.integers(3, 20))
def test_no_people_count_below_the_threshold_is_ever_shown(counts: list[int], threshold: int) -> None:
    flow = pd.DataFrame(
        [
            ("carers", stage, counts[2 * k], counts[2 * k + 1])
            for k, stage in enumerate(["teams randomised", "enrolled", "included", "with a follow-up measure"])
        ],
        columns=["population", "stage", "kitbag", "control"],
    )
    for cell in flow_table(flow, Publisher("all", threshold, policy=STRICT)).cells():
        if cell.measure == "n" and cell.text != SUPPRESSED:
            assert cell.value >= threshold


@given(st.lists(st.integers(0, 60), min_size=6, max_size=6), st.integers(3, 20))
def test_no_characteristic_count_of_one_to_threshold_is_shown(counts: list[int], threshold: int) -> None:
    pub = Publisher("all", threshold)
    for k, n in enumerate(counts):
        cell = pub.people(pub.key("baseline", "children", f"gender: level{k}", "kitbag"), n)
        assert (cell.text == SUPPRESSED) == (0 < n < threshold)
