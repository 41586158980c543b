"""Figures for the reports (matplotlib), drawn only from published effects.

Scores are on a Hedges' g axis (linear, no effect = 0); counts and the binary outcome on a
rate/odds-ratio axis (log scale, no effect = 1). No axis mixes the two. Each outcome's direction
of benefit is marked (for every outcome here, lower is better except self-efficacy).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator  # noqa: E402

from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME  # noqa: E402
from kitbag_analysis.sdc.cells import PublishedEffect  # noqa: E402

G_AXIS = "Hedges' g (Kitbags − control); 0 = no difference"
RATIO_AXIS = "rate or odds ratio (Kitbags / control, log scale); 1 = no difference"
BLUE, GREY = "#1f5f8b", "#777777"
plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "svg.hashsalt": "kitbag", "svg.fonttype": "path"})
# Ticks a ratio axis may carry: plain decimals, symmetric around 1 on the log scale where it reads.
RATIO_TICKS = (0.05, 0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0)
MAX_RATIO_TICKS = 7  # at most this many labels on a ratio axis (7.5 in wide: they never overlap)


def svg(fig: Figure) -> bytes:
    """The figure as SVG bytes (crisp at any zoom and in print; deterministic: fixed ids, no
    date), and closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, for ACRO's record (ACRO refuses SVG files); the figure stays open."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def ratio_ticks(low: float, high: float, most: int = MAX_RATIO_TICKS) -> list[float]:
    """Plain-decimal ticks for a log ratio axis from ``low`` to ``high``: 1 always, then the
    declared ticks inside the range, thinned (keeping 1) until at most ``most`` remain and
    neighbours are at least a ``most``-th of the axis apart on the log scale."""
    inside = [t for t in RATIO_TICKS if low <= t <= high] or [1.0]
    span = math.log(high / low) if high > low > 0 else 1.0
    gap = span / most
    kept = [1.0] if 1.0 in inside else [inside[0]]
    for side in ([t for t in inside if t > kept[0]], [t for t in reversed(inside) if t < kept[0]]):
        last = kept[0]
        for t in side:
            if abs(math.log(t / last)) >= gap:
                kept.append(t)
                last = t
    return sorted(kept)


def _ratio_axis(ax: Axes) -> None:
    """A log axis labelled with plain decimals (0.5, 0.8, 1, 1.25 …), no minor labels."""
    low, high = ax.get_xlim()
    ax.xaxis.set_major_locator(FixedLocator(ratio_ticks(low, high)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _benefit(outcome: str) -> str:
    return OUTCOME_BY_NAME[outcome].benefit if outcome in OUTCOME_BY_NAME else "lower"


def _draw(ax: Axes, effects: Sequence[PublishedEffect], ratio: bool) -> None:
    for k, e in enumerate(effects):
        ax.errorbar(e.value, k, xerr=[[e.value - e.ci_low], [e.ci_high - e.value]], fmt="o", color=BLUE, capsize=4)
    ax.axvline(1.0 if ratio else 0.0, color=GREY, lw=1, ls="--")
    if ratio:
        ax.set_xscale("log")
        values = [v for e in effects for v in (e.ci_low, e.ci_high)] + [1.0]
        ax.set_xlim(min(values) / 1.15, max(values) * 1.15)
        _ratio_axis(ax)
    ax.set_yticks(range(len(effects)), [f"{e.label}\n(better: {_benefit(e.outcome)})" for e in effects])
    ax.set_ylim(len(effects) - 0.5, -0.5)
    ax.set_xlabel(RATIO_AXIS if ratio else G_AXIS)


def population_effects(effects: Sequence[PublishedEffect], title: str) -> Figure | None:
    """One population's published effects: a g panel for scores and a ratio panel for the rest."""
    groups = [[e for e in effects if e.measure == "hedges_g"], [e for e in effects if e.measure != "hedges_g"]]
    groups = [g for g in groups if g]
    if not groups:
        return None
    fig, axes = plt.subplots(
        len(groups), 1, figsize=(7.5, 0.9 + sum(0.7 * len(g) + 0.6 for g in groups)), squeeze=False
    )
    for ax, group in zip(axes[:, 0], groups, strict=True):
        _draw(ax, group, ratio=group[0].measure != "hedges_g")
    axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def forest(per_unit: dict[str, Sequence[PublishedEffect]], names: dict[str, str], pooled: str = "all") -> Figure | None:
    """Hedges' g with 95% CI of each continuous outcome across units: LAs as points, the pooled
    estimate as a diamond, one shared g axis."""
    outcomes = list(
        dict.fromkeys(e.outcome for effects in per_unit.values() for e in effects if e.measure == "hedges_g")
    )
    if not outcomes:
        return None
    units = [u for u in per_unit if u != pooled] + ([pooled] if pooled in per_unit else [])
    fig, axes = plt.subplots(
        len(outcomes), 1, figsize=(7.5, sum(0.9 + 0.42 * len(units) for _ in outcomes)), sharex=True, squeeze=False
    )
    for ax, outcome in zip(axes[:, 0], outcomes, strict=True):
        labels = []
        for k, unit in enumerate(units):
            labels.append(names.get(unit, unit))
            e = next((x for x in per_unit[unit] if x.outcome == outcome), None)
            if e is None:
                ax.text(0.02, k, "not shown", va="center", color=GREY, transform=ax.get_yaxis_transform())
                continue
            if unit == pooled:
                ax.fill([e.ci_low, e.value, e.ci_high, e.value], [k, k - 0.3, k, k + 0.3], color="black", zorder=3)
            else:
                xerr = [[e.value - e.ci_low], [e.ci_high - e.value]]
                ax.errorbar(e.value, k, xerr=xerr, fmt="o", color=BLUE, capsize=3)
        ax.axvline(0.0, color=GREY, lw=1, ls="--")
        ax.set_yticks(range(len(units)), labels)
        ax.set_ylim(len(units) - 0.5, -0.5)
        label = OUTCOME_BY_NAME[outcome].label if outcome in OUTCOME_BY_NAME else outcome
        ax.set_title(f"{label} (better: {_benefit(outcome)})")
    axes[-1, 0].set_xlabel(G_AXIS)
    fig.tight_layout()
    return fig


def alt_text(effects: Sequence[PublishedEffect]) -> str:
    """A sentence per effect, for the figure's alt text."""
    return "; ".join(f"{e.label}: {e.value:.2f} (95% CI {e.ci_low:.2f} to {e.ci_high:.2f})" for e in effects)


__all__ = ["G_AXIS", "RATIO_AXIS", "alt_text", "forest", "png", "population_effects", "ratio_ticks", "svg"]
