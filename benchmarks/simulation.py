"""Simulation check of the primary analysis: bias and 95% CI coverage of `sdq_total`, unit `all`.

Each replicate is a fresh synthetic trial (a new seed) with a known effect; the truth is the
generator's sample average effect (synthetic_truth.json). Not a CI test: run it by hand.
Run: .venv/bin/python benchmarks/simulation.py [--trials 200] [--children 9000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from kitbag_analysis.analysis import analyse_outcome
from kitbag_analysis.outcomes import OUTCOME_BY_NAME
from kitbag_analysis.study import load_study
from kitbag_analysis.synth import TRUTH_FILE, SynthSpec, write_study


def replicate(args: tuple[int, int, float]) -> tuple[float, float, float, float, str]:
    seed, children, effect = args
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_study(Path(tmp) / "s", SynthSpec(seed=seed, children=children, effect_size=effect))
        truth = json.loads((folder / TRUTH_FILE).read_text())["outcomes"]["sdq_total"]["value"]
        result, _ = analyse_outcome(load_study(folder), OUTCOME_BY_NAME["sdq_total"], pooled=True)
    return result["estimate"], result["ci_low"], result["ci_high"], truth, result["model"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--children", type=int, default=9000)
    parser.add_argument("--effect-size", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [(1000 + k, args.children, args.effect_size) for k in range(args.trials)]
    with ProcessPoolExecutor(args.workers) as pool:
        out = list(pool.map(replicate, jobs))
    est, lo, hi, truth = (np.array([o[i] for o in out]) for i in range(4))
    error = est - truth
    covered = (lo <= truth) & (truth <= hi)
    se_mc = error.std(ddof=1) / np.sqrt(len(out))
    cover_mc = np.sqrt(covered.mean() * (1 - covered.mean()) / len(out))
    models = {m: sum(o[4] == m for o in out) for m in {o[4] for o in out}}
    print(f"replicates: {len(out)} trials of {args.children} children, effect size {args.effect_size}")
    print(f"mean true effect (points): {truth.mean():.4f}")
    print(f"bias of the estimate:      {error.mean():+.4f} (Monte Carlo SE {se_mc:.4f})")
    print(
        f"empirical SD of estimates: {est.std(ddof=1):.4f}; mean CI half-width/1.96: "
        f"{((hi - lo) / 2 / 1.959964).mean():.4f}"
    )
    print(f"95% CI coverage:           {covered.mean():.3f} (Monte Carlo SE {cover_mc:.3f})")
    print(f"models used: {models}")


if __name__ == "__main__":
    main()
