"""Numbers as pages show them."""

from __future__ import annotations

from kitbag_analysis.sdc import formats as fmt


def test_numbers_read_right() -> None:
    assert fmt.count(1234567) == "1,234,567" and fmt.count(None) == ""
    assert fmt.decimal(-0.004) == "0.00" and fmt.decimal(-0.006) == "-0.01"  # never "-0.00"
    assert fmt.decimal(1234.5, 1) == "1,234.5" and fmt.percent(12.345) == "12.3"
    assert fmt.p_value(0.0004) == "< 0.001" and fmt.p_value(0.0123) == "0.012" and fmt.p_value(None) == ""
    assert fmt.interval(-0.24, -0.451, -0.0049) == "-0.24 (-0.45 to 0.00)"
