"""Published numbers as typed cells: every number a page shows is a `Cell` with its measure.

A measure is declared once in `MEASURES` with how it reads on a page (its digits). A cell keeps
its exact value for the secure side; what leaves is the value **as printed** (`Cell.printed`,
rounded as the page shows it), in the HTML and in release.json alike (analysis-plan.md §6.1).
Text is made from a cell only when a page lays it out (`Cell.text`, `Shown.text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kitbag_analysis.analysis.results import Effect
from kitbag_analysis.sdc import formats as fmt

SUPPRESSED = "[c]"  # how a suppressed number is shown: written by this package only


@dataclass(frozen=True)
class Format:
    """How a measure reads: ``count`` (whole, with separators), ``decimal`` or ``p`` (three
    decimals, or ``< 0.001``), with ``digits`` after the point."""

    digits: int
    kind: str = "decimal"


COUNT, P = Format(0, "count"), Format(3, "p")
# Measures with a 95% CI publish their bounds as `<measure>_ci_low` and `<measure>_ci_high`.
INTERVAL_MEASURES: dict[str, Format] = {
    "estimate": Format(2),  # a model's arm coefficient (difference, log rate or odds ratio)
    "hedges_g": Format(2),
    "irr": Format(2),
    "odds_ratio": Format(2),
    "g_total": Format(2),  # §7.1
    "cace": Format(2),  # §7.4
    "mi_estimate": Format(2),  # §7.5 pooled over imputations
    "missingness_odds_ratio": Format(2),  # §7.5 (a)
    "subgroup_effect": Format(2),  # §7.6 the arm effect within a level
    "share": Format(1),  # §8 a monitoring share of people, in percent, with its 95% Wilson interval
}
MEASURES: dict[str, Format] = {
    "n": COUNT,  # people
    "teams": COUNT,
    "percent": Format(1),
    "mean": Format(1),
    "sd": Format(1),
    "smd": Format(2),
    "rate": Format(2),  # events per 365 days
    "p": P,
    "icc": Format(3),
    "icc_unconditional": Format(3),
    "mdes": Format(2),
    "mi_df": Format(1),
    "interaction": Format(2),
    "interaction_se": Format(2),
    **INTERVAL_MEASURES,
    **{f"{m}_{bound}": f for m, f in INTERVAL_MEASURES.items() for bound in ("ci_low", "ci_high")},
}


@dataclass(frozen=True, order=True)
class CellKey:
    """Where a number sits in the linked table set of a study."""

    unit: str
    table: str
    population: str
    row: str
    column: str

    @property
    def label(self) -> str:
        """A readable name for messages (never the value)."""
        if self.table == COMPLEMENT:
            return f"{self.unit} / {self.population} / {self.column} minus {self.row}"
        return f"{self.unit} / {self.table} / {self.population} / {self.row} / {self.column}"


# The count a reader gets by taking a shown part from its shown total (e.g. included minus those
# with a baseline measure): never published, but a count of people like any other.
COMPLEMENT = "complement"


def complement_key(part: CellKey, total: CellKey) -> CellKey:
    """The key of ``total`` − ``part`` (the people of the total outside the part)."""

    def name(k: CellKey) -> str:
        return f"{k.table}: {k.row}: {k.column}"

    return CellKey(part.unit, COMPLEMENT, part.population, name(part), name(total))


def _missing(value: float | None) -> bool:
    return value is None or bool(pd.isna(value))


@dataclass(frozen=True)
class Cell:
    """One published number: its key, its measure, its exact value (secure side only) and
    whether disclosure control suppressed it."""

    key: CellKey
    measure: str
    value: float | None
    suppressed: bool = False

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"unknown measure {self.measure!r} (declare it in sdc.cells.MEASURES)")
        object.__setattr__(self, "suppressed", bool(self.suppressed))  # never a numpy bool

    @property
    def format(self) -> Format:
        return MEASURES[self.measure]

    @property
    def printed(self) -> int | float | str | None:
        """The value as the page prints it (None when there is none or it is suppressed)."""
        if self.suppressed or _missing(self.value):
            return None
        f = self.format
        if f.kind == "count":
            return int(round(float(self.value)))
        if f.kind == "p" and self.value < 0.001:
            return fmt.P_BELOW
        rounded = round(float(self.value), f.digits)
        return 0.0 if rounded == 0 else rounded  # never -0.0

    @property
    def text(self) -> str:
        """The cell as a page shows it."""
        if self.suppressed:
            return SUPPRESSED
        printed = self.printed
        if printed is None:
            return ""
        if isinstance(printed, str):
            return printed
        return fmt.count(printed) if self.format.kind == "count" else fmt.decimal(printed, self.format.digits)

    def to_json(self) -> dict[str, Any]:
        k = self.key
        return {
            "table": k.table,
            "population": k.population,
            "row": k.row,
            "column": k.column,
            "measure": self.measure,
            "unit": k.unit,
            "value": SUPPRESSED if self.suppressed else self.printed,
        }


@dataclass(frozen=True)
class Shown:
    """One displayed table cell made of published cells and words, e.g. an estimate with its CI
    (``"{0} ({1} to {2})"``) or a mean with its SD. It is suppressed when any of its cells is; it
    reads empty when its first cell has no value."""

    parts: tuple[Cell, ...]
    pattern: str

    @property
    def suppressed(self) -> bool:
        return any(p.suppressed for p in self.parts)

    @property
    def key(self) -> CellKey:
        return self.parts[0].key

    @property
    def text(self) -> str:
        if self.suppressed:
            return SUPPRESSED
        if self.parts[0].printed is None:
            return ""
        return self.pattern.format(*(p.text for p in self.parts))


def interval(
    key: CellKey, measure: str, value: float | None, low: float | None, high: float | None, pattern: str = ""
) -> Shown:
    """A measure with its 95% CI as one displayed cell of three published cells."""

    def bound(name: str) -> CellKey:
        return CellKey(key.unit, key.table, key.population, key.row, f"{key.column} {name}")

    parts = (
        Cell(key, measure, value),
        Cell(bound("ci_low"), f"{measure}_ci_low", low),
        Cell(bound("ci_high"), f"{measure}_ci_high", high),
    )
    return Shown(parts, pattern or "{0} ({1} to {2})")


def effect_cells(key: CellKey, effect: Effect) -> Shown:
    """An effect size in words with its CI: ``Hedges' g -0.25 (-0.47 to -0.03)``."""
    words = EFFECT_WORDS[effect.measure]
    return interval(key, effect.measure, effect.value, effect.ci_low, effect.ci_high, words + " {0} ({1} to {2})")


EFFECT_WORDS = {"hedges_g": "Hedges' g", "irr": "rate ratio", "odds_ratio": "odds ratio"}

TableCell = str | Cell | Shown


@dataclass(frozen=True)
class Table:
    """A published table: column headers and rows of cells (words, a `Cell` or a `Shown`)."""

    name: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[TableCell, ...], ...]
    note: str = ""
    label_columns: int = 2  # leading columns that name the row

    def cells(self) -> list[Cell]:
        """Every published number of the table (a displayed cell of several counts as each)."""
        return [cell for _, _, cell in self.located()]

    def located(self) -> list[tuple[int, int, Cell]]:
        """Every published number with its row and column on the page."""
        found: list[tuple[int, int, Cell]] = []
        for i, row in enumerate(self.rows):
            for j, c in enumerate(row):
                if isinstance(c, Shown):
                    found += [(i, j, part) for part in c.parts]
                elif isinstance(c, Cell):
                    found.append((i, j, c))
        return found

    def frame(self) -> pd.DataFrame:
        """The table as shown (text), e.g. for the output checker's CSV."""
        data = [[c if isinstance(c, str) else c.text for c in row] for row in self.rows]
        return pd.DataFrame(data, columns=list(self.header))


@dataclass(frozen=True)
class PublishedEffect(Effect):
    """An outcome's effect as a figure may show it (only published models)."""

    outcome: str = ""
    label: str = ""
    population: str = ""


@dataclass
class Release:
    """Everything one unit's pages show, disclosure-controlled."""

    unit: str
    unit_name: str
    threshold: int
    tables: dict[str, Table] = field(default_factory=dict)
    effects: list[PublishedEffect] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # models below the residual-df rule
    disclosure: dict[str, Any] = field(default_factory=dict)  # the policy applied (`sdc.policy.policy_json`)

    def cells(self) -> list[Cell]:
        return [c for t in self.tables.values() for c in t.cells()]

    def to_json(self) -> dict[str, Any]:
        """release.json: every number the pages show, one cell each, as printed, with where
        the page shows it (table, row, column header)."""
        return {
            "unit": self.unit,
            "threshold": self.threshold,
            "disclosure": self.disclosure,
            "suppressed": SUPPRESSED,
            "cells": [
                c.to_json() | {"page_table": t.name, "page_row": i, "page_column": t.header[j]}
                for t in self.tables.values()
                for i, j, c in t.located()
            ],
        }


__all__ = [
    "COMPLEMENT",
    "MEASURES",
    "SUPPRESSED",
    "Cell",
    "CellKey",
    "Format",
    "PublishedEffect",
    "Release",
    "Shown",
    "Table",
    "complement_key",
    "effect_cells",
    "interval",
]
