"""Synthetic survey-platform exports, for tests and the README's walk-through.

`hold_back` takes one wave's rows of a population out of a (synthetic) study folder and writes
them as a platform would export them: answer labels in mixed case and spacing (some as codes),
`completed_on` in each of the platform's forms, kitbag_use blank where it was not asked, and
FAKE personal data beside them: a prize-draw email for some, IP addresses (TEST-NET ranges),
recipient names and emails, locations. `kitbag intake-survey` on that export puts the rows back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.instruments import MEASURE_INSTRUMENTS
from data_contracts.participants import BY_POPULATION
from data_contracts.reading import locate, read_text
from data_contracts.schemas import KITBAG_USE_LABELS
from kitbag_analysis import atomic

FIRST = np.array(["Zebedee", "Quillon", "Marigold", "Thaddeus", "Perpetua", "Octavian", "Wilhelmina", "Barnaby"])
LAST = np.array(["Frobisher", "Quenby", "Ashdown", "Pettigrew", "Vantongeren", "Ollerenshaw", "Grimsditch"])
PLATFORM_COLUMNS = (
    "StartDate",
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "LocationLatitude",
    "LocationLongitude",
    "UserLanguage",
)


def _variants(labels: pd.Series, codes: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Labels as people's platforms write them: as printed, upper, lower, padded, or the code."""
    pick = rng.integers(0, 5, len(labels))
    out = np.select(
        [pick == 0, pick == 1, pick == 2, pick == 3],
        [labels, labels.str.upper(), labels.str.lower(), "  " + labels + " "],
        codes,
    )
    return pd.Series(out, index=labels.index, dtype=object).where(labels.notna(), None)


def _dates(iso: pd.Series, rng: np.random.Generator) -> pd.Series:
    """``completed_on`` in each of the platform's forms, with a time of day for some."""
    day = pd.to_datetime(iso, format="%Y-%m-%d")
    at = day + pd.to_timedelta(rng.integers(8 * 3600, 20 * 3600, len(day)), unit="s")
    forms = [
        day.dt.strftime("%Y-%m-%d"),
        at.dt.strftime("%Y-%m-%d %H:%M"),
        at.dt.strftime("%Y-%m-%d %H:%M:%S"),
        day.dt.strftime("%d/%m/%Y"),
        at.dt.strftime("%d/%m/%Y %H:%M"),
    ]
    pick = rng.integers(0, len(forms), len(day))
    return pd.Series(np.choose(pick, [f.to_numpy(dtype=object) for f in forms]), index=iso.index)


def platform_export(rows: pd.DataFrame, population: str, seed: int = 0, email_share: float = 0.6) -> pd.DataFrame:
    """One wave's measures rows (as text) as a survey platform exports them, with fake identifiers."""
    rng = np.random.default_rng(seed)
    participant = BY_POPULATION[population]
    n = len(rows)
    first, last = rng.choice(FIRST, n), rng.choice(LAST, n)
    serial = pd.Series(np.arange(n) + 1, dtype=str).to_numpy(dtype=object)
    handle = pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + serial
    out = pd.DataFrame(
        {
            "StartDate": "2021-01-01 09:00:00",
            "IPAddress": "192.0.2." + pd.Series(rng.integers(1, 255, n)).astype(str),
            "RecipientLastName": last,
            "RecipientFirstName": first,
            "RecipientEmail": (handle + "@council.example.gov.uk").to_numpy(),
            "LocationLatitude": np.round(rng.uniform(51.3, 52.4, n), 4),
            "LocationLongitude": np.round(rng.uniform(-1.6, 0.2, n), 4),
            "UserLanguage": "EN-GB",
            "external_ref": rows[participant.id_column].to_numpy(),
            "email": np.where(rng.random(n) < email_share, (handle + "@example.org").to_numpy(), None),
            "completed_on": _dates(rows["completed_on"].astype(str), rng).to_numpy(),
        }
    )
    for inst in MEASURE_INSTRUMENTS[participant.measures]:
        table = pd.Series(inst.labels, index=[str(c) for c in inst.allowed])
        for column in inst.columns:
            codes = rows[column].astype("string")
            labels = codes.map(table).astype(object).where(codes.notna(), None)
            out[column] = _variants(pd.Series(labels, dtype="string"), codes, rng).to_numpy()
    use = rows["kitbag_use"].astype("string")
    labels = pd.Series(use.map(KITBAG_USE_LABELS), dtype="string")
    out["kitbag_use"] = _variants(labels, use, rng).to_numpy()
    return out


def hold_back(
    study_dir: str | Path, out_dir: str | Path, population: str, wave: str, n: int | None = None, seed: int = 0
) -> Path:
    """Take (the first ``n``) rows of one wave of a population out of the study and write them as a
    platform export ``out_dir/<population>_<wave>.csv``; the study file is rewritten atomically."""
    study_dir, out_dir = Path(study_dir), Path(out_dir)
    participant = BY_POPULATION[population]
    path = locate(study_dir, participant.measures)
    text = read_text(path)
    chosen = np.flatnonzero((text["wave"] == wave).to_numpy(dtype=bool))[:n]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{population}_{wave}.csv"
    export = platform_export(text.iloc[chosen].reset_index(drop=True), population, seed)
    atomic.write_with(target, lambda tmp: export.to_csv(tmp, index=False))
    if path.suffix == ".parquet":
        kept = pd.read_parquet(path).drop(index=chosen)
        atomic.write_with(path, lambda tmp: kept.to_parquet(tmp, index=False))
    else:
        kept = text.drop(index=text.index[chosen])
        atomic.write_with(path, lambda tmp: kept.to_csv(tmp, index=False))
    return target


def write_survey_exports(study_dir: str | Path, out_dir: str | Path, seed: int = 0) -> list[Path]:
    """Both populations' follow-up rows held back as platform exports (`kitbag synth --survey-exports`)."""
    populations = ("practitioners", "carers")
    return [hold_back(study_dir, out_dir, p, "followup", seed=seed + k) for k, p in enumerate(populations)]


__all__ = ["PLATFORM_COLUMNS", "hold_back", "platform_export", "write_survey_exports"]
