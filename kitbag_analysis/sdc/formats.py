"""How numbers read on a published page: one rule per kind of number (`cells.MEASURES` says
which measure reads which way)."""

from __future__ import annotations

import math


def _missing(x: float | int | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def count(n: float | int | None) -> str:
    """A count with thousands separators: 1,234."""
    return "" if _missing(n) else f"{int(round(n)):,}"


def decimal(x: float | None, digits: int = 2) -> str:
    """A signed decimal with thousands separators that never reads ``-0.00``."""
    if _missing(x):
        return ""
    text = f"{x:,.{digits}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    return text


def percent(x: float | None) -> str:
    """A percentage to one decimal (no % sign: the column says it)."""
    return decimal(x, 1)


P_BELOW = "< 0.001"  # a p-value below one in a thousand


def p_value(p: float | None) -> str:
    """Three decimals, or ``< 0.001``."""
    if _missing(p):
        return ""
    return P_BELOW if p < 0.001 else f"{p:.3f}"


def interval(value: float, low: float, high: float, digits: int = 2) -> str:
    """``value (low to high)``."""
    return f"{decimal(value, digits)} ({decimal(low, digits)} to {decimal(high, digits)})"


__all__ = ["P_BELOW", "count", "decimal", "interval", "p_value", "percent"]
