"""Threshold suppression of published counts (analysis-plan.md §6)."""

from __future__ import annotations

import pandas as pd

from kitbag_analysis.sdc import SUPPRESSED, model_publishable, safe_count, suppress_counts


def test_counts_below_threshold_are_suppressed() -> None:
    frame = pd.DataFrame({"stage": ["a", "b", "c", "d"], "kitbag": [0, 9, 10, 1234], "control": [10, 3, None, 11]})
    shown = suppress_counts(frame, ["kitbag", "control"], 10)
    assert list(shown["kitbag"]) == [SUPPRESSED, SUPPRESSED, "10", "1,234"]
    assert list(shown["control"]) == ["10", SUPPRESSED, "", "11"]
    assert list(shown["stage"]) == ["a", "b", "c", "d"]


def test_safe_count_and_model_rule() -> None:
    assert safe_count(9, 10) == SUPPRESSED and safe_count(10, 10) == "10" and safe_count(None, 10) == ""
    assert not model_publishable(9) and model_publishable(10) and not model_publishable(None)


def test_secondary_suppression_within_a_group() -> None:
    from kitbag_analysis.sdc import suppression_mask

    counts = pd.Series([50, 4, 30, 12, 60, 70, 3, 2])
    groups = pd.Series(["g", "g", "g", "g", "h", "h", "h", "h"])
    mask = suppression_mask(counts, groups, 10)
    # g: one primary (4) -> the smallest other cell (12) goes too; h: two primaries, nothing more
    assert list(mask) == [False, True, False, True, False, False, True, True]
    single = suppression_mask(pd.Series([3]), pd.Series(["x"]), 10)
    assert list(single) == [True]


def test_acro_review_restores_logging_and_writes_fresh_folder(tmp_path) -> None:
    import json
    import logging

    from kitbag_analysis.sdc import acro_review

    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    people = pd.DataFrame({"row": ["a"] * 30 + ["b"] * 4, "arm": ["kitbag", "control"] * 17})
    table = tmp_path / "t.csv"
    people.head(3).to_csv(table, index=False)
    target = tmp_path / "sdc" / "acro"
    target.mkdir(parents=True)  # an existing folder: finalise alone would silently write nothing
    statuses = acro_review(target, 10, {"people": people}, {"published": (table, "as shown")})
    assert root.level == logging.WARNING
    assert set(statuses) >= {"people", "published"}
    results = json.loads((target / "results.json").read_text())["results"]
    assert "MinimumThresholdCheck" in json.dumps(results["people"])
