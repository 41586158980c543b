"""Time `analyse` for all five units (4 LAs + all) in one process, at default size and 10x.

Prints seconds per scale, the per-child cost and the ratio of the two (linear growth = 10).
Run: .venv/bin/python benchmarks/analyse_speed.py [--sizes 9000,90000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kitbag_analysis.analysis.analyse import analyse
from kitbag_analysis.study.load import load_study
from kitbag_analysis.synthetic.generate import DEFAULT_CHILDREN, SynthSpec, write_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default=f"{DEFAULT_CHILDREN},{DEFAULT_CHILDREN * 10}")
    args = parser.parse_args()
    rows = []
    print(f"{'children':>9} {'load s':>7} {'analyse 5 units s':>18} {'ms per 1k children':>19}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_study(Path(tmp) / "study", SynthSpec(children=size))
            start = time.perf_counter()
            study = load_study(folder)
            loaded = time.perf_counter()
            for unit in study.units:
                analyse(study, unit)
            done = time.perf_counter()
        rows.append((size, done - loaded))
        print(f"{size:>9} {loaded - start:>7.2f} {done - loaded:>18.2f} {1000 * (done - loaded) / size * 1000:>19.1f}")
    if len(rows) == 2:
        (n0, t0), (n1, t1) = rows
        print(
            f"growth: {n1 / n0:.0f}x the children took {t1 / t0:.1f}x the time "
            f"({'no worse than' if t1 / t0 <= n1 / n0 else 'WORSE than'} linear)"
        )


if __name__ == "__main__":
    main()
