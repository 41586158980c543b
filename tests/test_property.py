"""Property test: a randomly corrupted study gives a validation report, never a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from conftest import read_csv_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts import UnusableInput, validate_study
from data_contracts.schemas import CONTRACTS

JUNK = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "NA",
            "nan",
            "-1",
            "1e309",
            "2021-02-30",
            "0x10",
            " 1",
            "1.0",
            "jo@x.org",
            "SW1A 1AA",
            "9434765919",
            "A123456789012",
            "\u00e9",
            "2021-13",
        ]
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True).map(str),
)

CORRUPTION = st.lists(
    st.tuples(st.sampled_from(sorted(CONTRACTS)), st.integers(0, 50), st.integers(0, 40), JUNK),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CORRUPTION, drop_column=st.booleans(), extra_column=st.booleans())
def test_corrupted_study_never_crashes(
    small_study_master: Path, tmp_path_factory, changes, drop_column: bool, extra_column: bool
) -> None:
    study = tmp_path_factory.mktemp("fuzz") / "s"
    shutil.copytree(small_study_master, study)
    frames: dict[str, pd.DataFrame] = {}
    for file, row, col, value in changes:
        frame = frames.setdefault(file, read_csv_text(study / f"{file}.csv"))
        if len(frame):
            frame.iloc[row % len(frame), col % frame.shape[1]] = value
    for i, (file, frame) in enumerate(frames.items()):
        if drop_column and i == 0:
            frame = frame.drop(columns=frame.columns[-1])
        if extra_column and i == 0:
            frame = frame.assign(extra="x")
        frame.to_csv(study / f"{file}.csv", index=False)
    try:
        report = validate_study(study).report
    except UnusableInput as exc:  # a documented outcome (exit 2), with a message
        assert str(exc)
        return
    for f in report.failures:
        assert f.file and f.column and f.check
