"""Figures for the reports (matplotlib): effect estimates per population, and the forest plot."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt

from kitbag_analysis.outcomes import OUTCOME_BY_NAME


def png(fig) -> bytes:
    """The figure as PNG bytes (embedded in the report), and closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def population_effects(analyses: list[dict], population: str, unit: str):
    """Effect sizes with 95% CIs for one population's outcomes (aggregate only)."""
    rows = [a for a in analyses if a["population"] == population]
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.55 * len(rows)))
    for k, a in enumerate(rows):
        label = OUTCOME_BY_NAME[a["outcome"]].label
        if a["status"] != "ok" or not a.get("publishable", True):
            ax.text(0.5, k, f"{label}: not shown", va="center", transform=ax.get_yaxis_transform())
            continue
        e = a["effect"]
        ax.errorbar(
            e["value"],
            k,
            xerr=[[e["value"] - e["ci_low"]], [e["ci_high"] - e["value"]]],
            fmt="o",
            color="#1f5f8b",
            capsize=4,
        )
    ax.set_yticks(range(len(rows)), [OUTCOME_BY_NAME[a["outcome"]].label for a in rows])
    null = [1.0 if a["kind"] != "continuous" else 0.0 for a in rows]
    if len(set(null)) == 1:
        ax.axvline(null[0], color="grey", lw=1, ls="--")
    ax.invert_yaxis()
    ax.set_xlabel("effect (Hedges' g for scores; rate or odds ratio for counts and referral)")
    ax.set_title(f"{population.capitalize()}: effect of Kitbags ({unit})")
    fig.tight_layout()
    return fig


def forest(per_unit: dict[str, list[dict]]):
    """Hedges' g with 95% CI of each continuous outcome across units (the pooled report)."""
    outcomes = [o for o, a in _continuous(per_unit).items() if a]
    units = list(per_unit)
    fig, axes = plt.subplots(
        1, len(outcomes), figsize=(3.2 * len(outcomes), 0.8 + 0.45 * len(units)), sharey=True, squeeze=False
    )
    for ax, name in zip(axes[0], outcomes, strict=True):
        for k, unit in enumerate(units):
            a = next(x for x in per_unit[unit] if x["outcome"] == name)
            if a["status"] == "ok" and a.get("publishable", True):
                e = a["effect"]
                ax.errorbar(
                    e["value"],
                    k,
                    xerr=[[e["value"] - e["ci_low"]], [e["ci_high"] - e["value"]]],
                    fmt="s" if unit == "all" else "o",
                    color="black" if unit == "all" else "#1f5f8b",
                    capsize=3,
                )
        ax.axvline(0, color="grey", lw=1, ls="--")
        ax.set_title(OUTCOME_BY_NAME[name].label, fontsize=9)
        ax.set_xlabel("Hedges' g")
    axes[0][0].set_yticks(range(len(units)), units)
    axes[0][0].invert_yaxis()
    fig.tight_layout()
    return fig


def _continuous(per_unit: dict[str, list[dict]]) -> dict[str, bool]:
    first = next(iter(per_unit.values()))
    return {a["outcome"]: a["kind"] == "continuous" for a in first}


__all__ = ["forest", "png", "population_effects"]
