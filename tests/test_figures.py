"""Figures read right: g on a linear axis with a line at 0, ratios on a log axis with a line at 1,
never both on one axis; the forest plot shares one g axis and draws the pooled estimate as a diamond."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from kitbag_analysis.pages.figures import forest, population_effects  # noqa: E402
from kitbag_analysis.sdc.cells import PublishedEffect  # noqa: E402


def effect(outcome: str, measure: str, value: float, lo: float, hi: float) -> PublishedEffect:
    return PublishedEffect(measure, value, lo, hi, outcome=outcome, label=outcome, population="children")


def _reference_lines(ax) -> list[float]:  # noqa: ANN001
    return [line.get_xdata()[0] for line in ax.get_lines() if len(set(line.get_xdata())) == 1]


def test_scores_and_ratios_get_their_own_axes() -> None:
    effects = [
        effect("sdq_total", "hedges_g", -0.24, -0.45, -0.02),
        effect("placement_moves", "irr", 0.76, 0.6, 0.95),
        effect("referral_followup", "odds_ratio", 1.1, 0.8, 1.5),
    ]
    fig = population_effects(effects, "Children")
    g_ax, ratio_ax = fig.axes
    assert g_ax.get_xscale() == "linear" and 0.0 in _reference_lines(g_ax)
    assert ratio_ax.get_xscale() == "log" and 1.0 in _reference_lines(ratio_ax)
    assert [t.get_text().split("\n")[0] for t in g_ax.get_yticklabels()] == ["sdq_total"]
    assert [t.get_text().split("\n")[0] for t in ratio_ax.get_yticklabels()] == ["placement_moves", "referral_followup"]
    assert "better: lower" in g_ax.get_yticklabels()[0].get_text()  # direction of benefit marked


def test_forest_shares_one_g_axis_with_a_pooled_diamond() -> None:
    per_unit = {
        "bexley": [effect("sdq_total", "hedges_g", -0.3, -0.6, 0.0), effect("gse_carer", "hedges_g", 0.2, -0.1, 0.5)],
        "haringey": [effect("sdq_total", "hedges_g", -0.1, -0.4, 0.2)],
        "all": [effect("sdq_total", "hedges_g", -0.2, -0.35, -0.05), effect("gse_carer", "hedges_g", 0.1, 0.0, 0.2)],
    }
    fig = forest(
        per_unit,
        {"bexley": "London Borough of Bexley", "haringey": "London Borough of Haringey", "all": "Pooled (all)"},
    )
    axes = fig.axes
    assert len(axes) == 2 and axes[0].get_shared_x_axes().joined(axes[0], axes[1])
    for ax in axes:
        assert ax.get_xscale() == "linear" and 0.0 in _reference_lines(ax)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == ["London Borough of Bexley", "London Borough of Haringey", "Pooled (all)"]
        assert ax.title.get_fontsize() >= 11
    diamonds = [p for p in axes[0].patches if len(p.get_xy()) >= 4]
    assert diamonds  # the pooled estimate
