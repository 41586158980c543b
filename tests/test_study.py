"""Exclusion (analysis-plan.md §0): the latest register row holds; excluded people vanish."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import rewrite

from data_contracts import ContractViolation
from data_contracts.participants import PARTICIPANTS
from kitbag_analysis.study.load import excluded_ids, latest_status, load_study


def register(*rows: tuple[str, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["participant_id", "status", "status_changed_on"])
    frame["participant_type"] = "child"
    frame["status_changed_on"] = pd.to_datetime(frame["status_changed_on"])
    return frame


def test_latest_row_wins_whatever_the_file_order() -> None:
    consent = register(
        ("C1", "active", "2021-03-01"),
        ("C1", "withdrawn", "2021-01-01"),  # re-consented
        ("C2", "withdrawn", "2021-05-01"),
        ("C2", "active", "2021-01-01"),  # withdrew later
        ("C3", "objected", "2021-01-01"),
        ("C4", "restricted", "2021-01-01"),
        ("C5", "active", "2021-01-01"),
    )
    latest = latest_status(consent).set_index("participant_id")["status"]
    assert latest.to_dict() == {"C1": "active", "C2": "withdrawn", "C3": "objected", "C4": "restricted", "C5": "active"}
    assert sorted(excluded_ids(consent)["participant_id"]) == ["C2", "C3", "C4"]


def test_same_day_tie_is_resolved_protectively() -> None:
    consent = register(("C1", "withdrawn", "2021-01-01"), ("C1", "active", "2021-01-01"))
    assert list(excluded_ids(consent)["participant_id"]) == ["C1"]


def _pick(study: Path, file: str, id_col: str, n: int, skip: int = 0) -> list[str]:
    frame = pd.read_csv(study / f"{file}.csv", dtype=str)
    return list(frame[id_col].drop_duplicates().iloc[skip : skip + n])


def test_load_study_removes_every_row_of_excluded(study: Path) -> None:
    # start from an empty register, then write hand-made histories
    kids = _pick(study, "placements", "child_id", 3)
    carers = _pick(study, "carer_measures", "carer_id", 1)
    staff = _pick(study, "absence", "practitioner_id", 2)
    rows = [
        (kids[0], "child", "active", "2021-01-01"),
        (kids[0], "child", "withdrawn", "2021-06-01"),
        (kids[1], "child", "withdrawn", "2021-01-01"),
        (kids[1], "child", "active", "2021-06-01"),
        (kids[2], "child", "objected", "2022-04-01"),
        (staff[0], "practitioner", "restricted", "2021-01-01"),
        (staff[1], "practitioner", "active", "2021-01-01"),
        (carers[0], "carer", "withdrawn", "2021-01-01"),
        ("C" + "ab" * 8, "child", "withdrawn", "2020-10-01"),  # erased already: in register only
    ]

    consent = pd.DataFrame(rows, columns=["participant_id", "participant_type", "status", "status_changed_on"])
    consent.to_csv(study / "consent.csv", index=False)

    everyone = load_study(study, apply_exclusions_=False)
    loaded = load_study(study)
    gone = {kids[0], kids[2], staff[0], carers[0]}
    kept = {kids[1], staff[1]}
    for p in PARTICIPANTS:
        id_col, files = p.id_column, p.files
        for name in files:
            ids = set(loaded[name][id_col])
            assert not ids & gone, (name, ids & gone)
            before = everyone[name]
            expected = before.loc[~before[id_col].isin(gone)]
            assert len(loaded[name]) == len(expected), name
    assert kept <= set(loaded["children"]["child_id"]) | set(loaded["practitioners"]["practitioner_id"])
    assert loaded.excluded == {"child": 2, "practitioner": 1, "carer": 1}
    assert "participant_id" not in loaded.exclusions.columns


def test_load_study_refuses_invalid_folder(study: Path) -> None:
    rewrite(study, "children", lambda f: f.assign(gender="F"))
    with pytest.raises(ContractViolation) as info:
        load_study(study)
    assert "kitbag validate" in str(info.value)
