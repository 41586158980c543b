"""Batch wall time against a plain serial loop of papermill + nbconvert CLI calls.

Both run the same two notebooks for the same five units (4 LAs + all) of the default synthetic
study, side by side in one run. Prints both times and the ratio (target: at most 1/3).
Run: .venv/bin/python benchmarks/batch_speed.py [--study data/synthetic]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kitbag_analysis.runs.unit import DATA_QUALITY, EFFECTIVENESS
from kitbag_analysis.synthetic.generate import SynthSpec, write_study

BIN = Path(sys.executable).parent
UNITS = ["bexley", "haringey", "oxfordshire", "warwickshire", "all"]


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serial_cli(study: Path, out: Path) -> float:
    start = time.perf_counter()
    for unit in UNITS:
        for nb in (EFFECTIVENESS, DATA_QUALITY):
            target = out / f"{unit}-{nb.stem}.ipynb"
            run(
                [
                    str(BIN / "papermill"),
                    str(nb),
                    str(target),
                    "-p",
                    "study_dir",
                    str(study),
                    "-p",
                    "unit",
                    unit,
                    "--cwd",
                    str(nb.parent),
                ]
            )
            run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(target)])
    return time.perf_counter() - start


def batch(study: Path, out: Path) -> float:
    start = time.perf_counter()
    run([str(BIN / "kitbag"), "batch", str(study), "--out", str(out)])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--study", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        study = args.study or write_study(tmp / "study", SynthSpec())
        (tmp / "serial").mkdir()
        serial = serial_cli(study.resolve(), tmp / "serial")
        ours = batch(study.resolve(), tmp / "batch")
    print(f"serial papermill + nbconvert CLI loop: {serial:7.1f} s")
    print(f"kitbag batch:                          {ours:7.1f} s")
    print(f"ratio batch / serial:                  {ours / serial:7.2f} (target <= 0.33)")


if __name__ == "__main__":
    main()
