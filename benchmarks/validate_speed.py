"""Validation speed: `validate_study` against plain `pandas.read_csv` of the same files.

Prints seconds, rows per second and the ratio, at the default synthetic size and at 10x.
Run: .venv/bin/python benchmarks/validate_speed.py [--repeat N] [--sizes 9000,90000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from data_contracts import validate_study
from kitbag_analysis.synth import DEFAULT_CHILDREN, SynthSpec, write_study


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default=f"{DEFAULT_CHILDREN},{DEFAULT_CHILDREN * 10}")
    args = parser.parse_args()
    print(f"{'children':>9} {'rows':>9} {'read_csv s':>11} {'validate s':>11} {'rows/s':>11} {'ratio':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            study = write_study(Path(tmp) / "study", SynthSpec(children=size))
            files = sorted(study.glob("*.csv"))
            rows = sum(len(pd.read_csv(p)) for p in files)
            read = best_of(args.repeat, lambda files=files: [pd.read_csv(p) for p in files])
            report = validate_study(study).report
            assert report.ok, report.summary()
            check = best_of(args.repeat, lambda study=study: validate_study(study))
            print(f"{size:>9} {rows:>9} {read:>11.3f} {check:>11.3f} {rows / check:>11,.0f} {check / read:>6.2f}")


if __name__ == "__main__":
    main()
