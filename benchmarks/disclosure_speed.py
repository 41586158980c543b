"""Disclosure control across the release: size of the linked table set, cells suppressed
(primary, secondary), the pattern's time against its limit and how it was found (optimal, best
within the limit, greedy fallback), for studies of 400 to 45,000 children and several seeds.

Run: .venv/bin/python benchmarks/disclosure_speed.py [--sizes 400,1271,9000,45000] [--seeds 1,2,3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from kitbag_analysis.sdc.linked import linked_set
from kitbag_analysis.sdc.pattern import suppression_pattern
from kitbag_analysis.study.load import load_study
from kitbag_analysis.synthetic.generate import SynthSpec, write_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="400,1271,9000,45000")
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    print(
        f"{'children':>9} {'seed':>5} {'cells':>6} {'exact':>6} {'primary':>8} {'secondary':>9} {'rounds':>6} "
        f"{'linked s':>9} {'pattern s':>9} {'limit s':>8}  method"
    )
    worst = 0.0
    for size in (int(s) for s in args.sizes.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                study = load_study(write_study(Path(tmp) / "study", SynthSpec(seed=seed, children=size)))
                t0 = time.perf_counter()
                linked = linked_set(study)
                t1 = time.perf_counter()
                pattern = suppression_pattern(linked, study.settings.sdc_threshold)
                t2 = time.perf_counter()
                worst = max(worst, (t2 - t1) - pattern.time_limit)
                print(
                    f"{size:>9} {seed:>5} {len(linked.values):>6} {len(pattern.exact):>6} {len(pattern.primary):>8} "
                    f"{len(pattern.secondary):>9} {pattern.rounds:>6} {t1 - t0:>9.2f} {t2 - t1:>9.2f} "
                    f"{pattern.time_limit:>8.0f}  {pattern.method}"
                )
    print(f"largest time past the limit (the audit after it): {max(worst, 0.0):.2f} s")


if __name__ == "__main__":
    main()
