"""What the release ledger costs (analysis-plan.md §6.1): an interim release with 70% of the
follow-up rows, recorded in the ledger, then the final data with three children withdrawn.

Prints, per study size, the cells the final release suppresses with and without the ledger, the
counts the interim release forced into suppression (changed by fewer than the threshold, or kept
suppressed), whether the pooled children's results stay shown, and the pattern's time.
Run: .venv/bin/python benchmarks/ledger_cost.py [--children 9000 400]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from kitbag_analysis.pages.report import counts_releases
from kitbag_analysis.sdc import ledger as ledgers
from kitbag_analysis.sdc.history import entry_from_release
from kitbag_analysis.synthetic.generate import SynthSpec, write_study

MEASURES = ("child_measures", "practitioner_measures", "carer_measures")


def one(children: int, root: Path) -> None:
    study = write_study(root / f"study{children}", SynthSpec(children=children))
    full = {f: pd.read_csv(study / f"{f}.csv", dtype=str, keep_default_na=False) for f in MEASURES}
    for f, frame in full.items():
        frame.drop(index=frame[frame["wave"] == "followup"].sample(frac=0.3, random_state=11).index).to_csv(
            study / f"{f}.csv", index=False
        )
    started = time.perf_counter()
    interim, _ = counts_releases(study)
    interim_seconds = time.perf_counter() - started
    with ledgers.locked(study):
        manifest = {"run_id": "interim", "kind": "report", "created_at": ""}
        ledgers.append(study, entry_from_release(manifest, interim, "benchmark", "", ""))
    for f, frame in full.items():
        frame.to_csv(study / f"{f}.csv", index=False)
    consent = pd.read_csv(study / "consent.csv", dtype=str, keep_default_na=False)
    follow = full["child_measures"]
    ids = follow.loc[follow["wave"] == "followup", "child_id"].drop_duplicates()
    ids = ids[~ids.isin(consent["participant_id"])]
    gone = list(ids.iloc[[3, len(ids) // 2, len(ids) - 4]])
    extra = pd.DataFrame(
        {"participant_id": gone, "participant_type": "child", "status": "withdrawn", "status_changed_on": "2022-08-01"}
    )
    pd.concat([consent, extra]).to_csv(study / "consent.csv", index=False)
    started = time.perf_counter()
    final, pattern = counts_releases(study)
    seconds = time.perf_counter() - started
    against = pattern.history.against[0]
    pooled = [
        c
        for r in final
        for c in r["cells"]
        if (c["unit"], c["table"], c["population"], c["measure"]) == ("all", "effectiveness", "children", "n")
    ]
    shown = sorted({c["row"] for c in pooled} - {c["row"] for c in pooled if c["value"] == "[c]"})
    counts = sum(c["measure"] == "n" for r in final for c in r["cells"])
    print(
        f"{children:>6} children: {counts} counts published per release; final release suppresses "
        f"{len(pattern.suppressed)} cells, {pattern.ledger_cost} more than without the ledger "
        f"({against.changed} counts changed by 1-9 people, {against.kept} kept suppressed, of {against.common} "
        f"in both releases); pooled children's results shown: {', '.join(shown) or 'none'}; "
        f"pattern and releases {seconds:.1f} s "
        f"(interim {interim_seconds:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, nargs="+", default=[9000, 400])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kitbag-ledger-"))
    try:
        for n in args.children:
            one(n, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
