"""Validation speed: `validate_study` against plain `pandas.read_csv` of the same files.

Prints, at the default synthetic size and at 10x: in-process seconds (best of N) and the ratio;
then whole-process seconds (medians of N): `kitbag validate STUDY` as a user runs it, against a
Python process that imports pandas and reads every CSV. Target: whole-process ratio <= 3.
Run: .venv/bin/python benchmarks/validate_speed.py [--repeat N] [--sizes 9000,90000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from data_contracts import validate_study
from kitbag_analysis.synthetic.generate import DEFAULT_CHILDREN, SynthSpec, write_study


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


READ_ALL = "import sys, glob, pandas as pd; [pd.read_csv(p) for p in sorted(glob.glob(sys.argv[1] + '/*.csv'))]"


def whole_process(repeat: int, cmd: list[str]) -> float:
    """Median wall time of ``cmd`` run as its own process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
            cli = whole_process(args.repeat, [sys.executable, "-m", "kitbag_analysis.cli", "validate", str(study)])
            plain = whole_process(args.repeat, [sys.executable, "-c", READ_ALL, str(study)])
            print(
                f"{'':>9} whole process (median of {args.repeat}): kitbag validate {cli:.2f} s, "
                f"python + pandas.read_csv {plain:.2f} s, ratio {cli / plain:.2f}"
            )


if __name__ == "__main__":
    main()
