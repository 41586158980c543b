"""Scale scores (analysis-plan.md §1), computed from the instrument declarations.

A part (an SDQ subscale, or a whole scale) scores round(mean of answered items × number of
items) when at least ``min_answered`` items are answered, else missing; rounding is half away
from zero, done in exact integer arithmetic so 12.5 always becomes 13. A total is the sum of its
parts, missing if any part is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.instruments import MEASURE_INSTRUMENTS, Instrument


def round_half_away(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """round(numerator / denominator), halves away from zero, for whole-number inputs.

    Exact: both arguments hold whole numbers, so no binary fraction can turn 12.5 into 12.4999.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    magnitude = np.floor((2 * np.abs(num) + den) / (2 * den))
    return np.sign(num) * magnitude


def scored_items(frame: pd.DataFrame, inst: Instrument) -> np.ndarray:
    """Item answers as scored (reverse items reversed), NaN where blank; rows × items."""
    values = frame[inst.columns].to_numpy(dtype="float64", na_value=np.nan)
    for item in inst.reverse:
        values[:, item - 1] = inst.reverse_from - values[:, item - 1]
    return values


def score_instrument(frame: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """The parts, total and flags of one instrument for every row of ``frame``."""
    values = scored_items(frame, inst)
    out: dict[str, np.ndarray] = {}
    parts = []
    for part in inst.parts:
        block = values[:, np.array(part.items) - 1]
        answered = (~np.isnan(block)).sum(axis=1)
        total = np.nansum(block, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = round_half_away(total * len(part.items), answered)
        score = np.where(answered >= part.min_answered, score, np.nan)
        parts.append(score)
        if len(inst.parts) > 1:
            out[f"{inst.key}_{part.name}"] = score
    out[inst.score] = np.sum(parts, axis=0)  # NaN if any part is NaN
    for flag, cut in inst.flags:
        total = out[inst.score]
        out[flag] = np.where(np.isnan(total), np.nan, (total >= cut).astype(float))
    return pd.DataFrame(out, index=frame.index)


def score_measures(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    """Every instrument score of a measures file, beside the file's id, wave and other columns."""
    scores = [score_instrument(frame, inst) for inst in MEASURE_INSTRUMENTS[file]]
    items = [c for inst in MEASURE_INSTRUMENTS[file] for c in inst.columns]
    return pd.concat([frame.drop(columns=items), *scores], axis=1)
