"""Disclosure control across the release: size of the linked table set, cells suppressed
(primary, secondary) and the time of each step, at 300 children and at the default 9,000.

Run: .venv/bin/python benchmarks/disclosure_speed.py [--sizes 300,9000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kitbag_analysis.sdc.linked import linked_set
from kitbag_analysis.sdc.pattern import _intervals, suppression_pattern
from kitbag_analysis.study.load import load_study
from kitbag_analysis.synthetic.generate import SynthSpec, write_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="300,9000")
    args = parser.parse_args()
    print(
        f"{'children':>9} {'cells':>6} {'identities':>10} {'primary':>8} {'secondary':>9} {'rounds':>6} "
        f"{'linked s':>9} {'pattern s':>9} {'audit s':>8}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            study = load_study(write_study(Path(tmp) / "study", SynthSpec(children=size)))
            t0 = time.perf_counter()
            linked = linked_set(study)
            t1 = time.perf_counter()
            pattern = suppression_pattern(linked, study.settings.sdc_threshold)
            t2 = time.perf_counter()
            _intervals(linked, pattern.suppressed)
            t3 = time.perf_counter()
            print(
                f"{size:>9} {len(linked.values):>6} {len(linked.identities):>10} {len(pattern.primary):>8} "
                f"{len(pattern.secondary):>9} {pattern.rounds:>6} {t1 - t0:>9.2f} {t2 - t1:>9.2f} {t3 - t2:>8.3f}"
            )


if __name__ == "__main__":
    main()
