"""The questionnaires of the study, declared once as data.

The contracts read the item columns and their allowed values from here; the scorer
(`kitbag_analysis.analysis.scoring`) reads the reverse items, pro-rating rule and parts. A new scale
is a new `Instrument(...)` below, not new code (analysis-plan.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Part:
    """A group of items scored as round(mean of answered items × number of items).

    The part is missing when fewer than ``min_answered`` of its items are answered.
    """

    name: str
    items: tuple[int, ...]
    min_answered: int


@dataclass(frozen=True)
class Instrument:
    """One questionnaire: its item columns, allowed answers and scoring rule."""

    key: str  # short name used in column names, e.g. "sdq" -> sdq_01
    title: str
    n_items: int
    pad: int  # zero padding of the item number in the column name (sdq_01 vs cries_1)
    allowed: tuple[int, ...]
    score: str  # name of the total score, e.g. "sdq_total"
    parts: tuple[Part, ...]  # the total is the sum of the parts, missing if any part is
    reverse: tuple[int, ...] = ()
    reverse_from: int = 0  # a reversed answer x scores reverse_from - x
    score_range: tuple[int, int] = (0, 40)
    flags: tuple[tuple[str, int], ...] = field(default=())  # (name, cut-off): score >= cut-off
    labels: tuple[str, ...] = ()  # the answer printed on the questionnaire for each code of `allowed`

    def column(self, item: int) -> str:
        return f"{self.key}_{item:0{self.pad}d}"

    @property
    def columns(self) -> list[str]:
        return [self.column(i) for i in range(1, self.n_items + 1)]

    @property
    def answers(self) -> dict[str, int]:
        """Every accepted answer, case-folded: each label and each code (as text) -> its code."""
        return {
            **{label.casefold(): c for label, c in zip(self.labels, self.allowed, strict=True)},
            **{str(c): c for c in self.allowed},
        }


def single_scale(
    key: str, title: str, items: int, allowed: tuple[int, ...], score: str, min_answered: int, **rule: object
) -> Instrument:
    """A scale scored as one part: round(mean of answered items × items) with ``min_answered``."""
    parts = (Part("total", tuple(range(1, items + 1)), min_answered),)
    return Instrument(key, title, items, len(str(items)), allowed, score, parts, **rule)


SDQ = Instrument(
    key="sdq",
    title="Strengths and Difficulties Questionnaire",
    n_items=25,
    pad=2,
    allowed=(0, 1, 2),
    score="sdq_total",
    reverse=(7, 11, 14, 21, 25),
    reverse_from=2,
    labels=("Not true", "Somewhat true", "Certainly true"),
    parts=(
        Part("emotional", (3, 8, 13, 16, 24), 3),
        Part("conduct", (5, 7, 12, 18, 22), 3),
        Part("hyperactivity", (2, 10, 15, 21, 25), 3),
        Part("peer", (6, 11, 14, 19, 23), 3),
    ),
)

CRIES8 = single_scale(
    "cries",
    "Children's Revised Impact of Event Scale (CRIES-8)",
    8,
    (0, 1, 3, 5),
    "cries8_total",
    6,
    flags=(("probable_ptsd", 17),),
    labels=("Not at all", "Rarely", "Sometimes", "Often"),
)
GSE = single_scale(
    "gse",
    "General Self-Efficacy Scale",
    10,
    (1, 2, 3, 4),
    "gse_total",
    8,
    score_range=(10, 40),
    labels=("Not at all true", "Hardly true", "Moderately true", "Exactly true"),
)
PSS10 = single_scale(
    "pss",
    "Perceived Stress Scale (PSS-10)",
    10,
    (0, 1, 2, 3, 4),
    "pss10_total",
    8,
    reverse=(4, 5, 7, 8),
    reverse_from=4,
    labels=("Never", "Almost never", "Sometimes", "Fairly often", "Very often"),
)

INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (SDQ, CRIES8, GSE, PSS10)}

# Which measures file carries which instruments.
MEASURE_INSTRUMENTS: dict[str, tuple[Instrument, ...]] = {
    "child_measures": (SDQ, CRIES8),
    "practitioner_measures": (GSE, PSS10),
    "carer_measures": (GSE,),
}
