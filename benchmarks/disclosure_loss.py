"""What disclosure control hides, before (the strict policy: every zero primary, the flow protected)
and after (the default policy of analysis-plan.md §6.2), per unit and table, with the key results
of a trial report hidden, and the pattern's time and method.

Run: .venv/bin/python benchmarks/disclosure_loss.py [--sizes 400,9000] [--seed 20210423]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from kitbag_analysis.analysis.analyse import analyse
from kitbag_analysis.sdc.history import pattern_over_time
from kitbag_analysis.sdc.ledger import read_ledger
from kitbag_analysis.sdc.linked import linked_set
from kitbag_analysis.sdc.loss import losses
from kitbag_analysis.sdc.release import make_release
from kitbag_analysis.study.load import load_study
from kitbag_analysis.synthetic.generate import SynthSpec, write_study

POLICIES = {"before (strict)": '[disclosure]\nzeros = "disclosive"\nflow = "protected"\n', "after (default)": ""}
TABLES = ("participant_flow", "baseline", "uptake", "compliance", "completeness", "attrition", "whatworks")
KEYS = ("flow counts", "main estimates", "CACE", "attrition", "MDES")


def measure(study_dir: Path) -> tuple[dict[str, dict], float, str]:
    study = load_study(study_dir)
    started = time.perf_counter()
    pattern = pattern_over_time(linked_set(study), study.settings.sdc_threshold, read_ledger(study.path))
    seconds = time.perf_counter() - started
    lost = {u: losses(make_release(study, analyse(study, u), pattern.protection)) for u in study.units}
    return lost, seconds, pattern.method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="400,9000")
    parser.add_argument("--seed", type=int, default=20210423)
    args = parser.parse_args()
    head = f"{'children':>8} {'policy':<16} {'unit':<13} {'hidden':>12} " + " ".join(f"{t[:11]:>11}" for t in TABLES)
    key_head = " | " + " ".join(f"{k:>14}" for k in KEYS)
    print(head + key_head)
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            base = write_study(Path(tmp) / "study", SynthSpec(seed=args.seed, children=size))
            for name, extra in POLICIES.items():
                folder = Path(tmp) / name.split()[0]
                shutil.copytree(base, folder)
                with (folder / "study.toml").open("a", encoding="utf-8") as handle:
                    handle.write("\n" + extra)
                lost, seconds, method = measure(folder)
                for unit, loss in lost.items():
                    cells = loss["cells"]
                    share = f"{cells['hidden']}/{cells['hidden'] + cells['shown']} {100 * cells['hidden_share']:.0f}%"
                    tables = " ".join(
                        f"{loss['tables'][t]['hidden']:>5}/{sum(loss['tables'][t].values()):<5}"
                        if t in loss["tables"]
                        else f"{'-':>11}"
                        for t in TABLES
                    )
                    keys = " ".join(
                        f"{loss['key_results'][k]['hidden']:>6} of {sum(loss['key_results'][k].values()):<4}"
                        for k in KEYS
                    )
                    print(f"{size:>8} {name:<16} {unit:<13} {share:>12} {tables} | {keys}")
                print(f"{size:>8} {name:<16} pattern: {seconds:.2f} s ({method})")


if __name__ == "__main__":
    main()
