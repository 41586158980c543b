"""Simulation check of the analysis of `sdq_total` in unit `all`: bias and 95% CI coverage of the
primary estimate (§4), coverage of g on the total variance (§7.1), bias and coverage of the
multiple-imputation estimate when follow-up is missing at random given baseline and arm (§7.5),
and the CACE (§7.4, θ = 0.5) against the known complier effect when only some Kitbags teams use
them.

Each replicate is a fresh synthetic trial (a new seed) with a known effect; the truths are the
generator's sample averages (synthetic_truth.json): the effect of assignment, its ratio to the
outcome's total SD, and the average effect among children of teams that would use Kitbags.
Not a CI test: run it by hand.
Run: .venv/bin/python benchmarks/simulation.py [--trials 200] [--children 9000] [--workers 2]
     [--missing mar|mcar] [--uptake 0.6]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from kitbag_analysis.analysis.analyse import analyse_outcome
from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME
from kitbag_analysis.study.load import load_study
from kitbag_analysis.study.units import ALL, restrict
from kitbag_analysis.synthetic.generate import TRUTH_FILE, SynthSpec, write_study


def replicate(args: tuple[int, int, float, str, float]) -> dict[str, float | str]:
    seed, children, effect, missing, uptake = args
    spec = SynthSpec(seed=seed, children=children, effect_size=effect, missing=missing, uptake=uptake)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_study(Path(tmp) / "s", spec)
        truth = json.loads((folder / TRUTH_FILE).read_text())["outcomes"]["sdq_total"]
        view = restrict(load_study(folder), ALL)
        result, _ = analyse_outcome(view, OUTCOME_BY_NAME["sdq_total"], pooled=True)
    ww = result.what_works
    mi = ww.missing_data.mi
    cace = ww.cace["0.5"]
    return {
        "truth": truth["value"],
        "truth_g_total": truth["g_total"],
        "truth_complier": truth.get("complier_value", truth["value"]),
        "estimate": result.estimate,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "g_total": ww.g_total.value,
        "g_low": ww.g_total.ci_low,
        "g_high": ww.g_total.ci_high,
        "mi": mi.estimate if mi else np.nan,
        "mi_low": mi.ci_low if mi else np.nan,
        "mi_high": mi.ci_high if mi else np.nan,
        "cace": cace.value if cace.value is not None else np.nan,
        "cace_low": cace.ci_low if cace.value is not None else np.nan,
        "cace_high": cace.ci_high if cace.value is not None else np.nan,
        "model": result.model,
    }


def summary(name: str, est: np.ndarray, lo: np.ndarray, hi: np.ndarray, truth: np.ndarray) -> str:
    ok = np.isfinite(est)
    est, lo, hi, truth = est[ok], lo[ok], hi[ok], truth[ok]
    n = len(est)
    error = est - truth
    covered = (lo <= truth) & (truth <= hi)
    return (
        f"{name:<22} {n:>4} {truth.mean():>+9.4f} {error.mean():>+9.4f} {error.std(ddof=1) / np.sqrt(n):>8.4f} "
        f"{covered.mean():>9.3f} {np.sqrt(covered.mean() * (1 - covered.mean()) / n):>8.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--children", type=int, default=9000)
    parser.add_argument("--effect-size", type=float, default=0.2)
    parser.add_argument("--missing", default="mar", choices=["mar", "mcar"])
    parser.add_argument("--uptake", type=float, default=0.6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [(1000 + k, args.children, args.effect_size, args.missing, args.uptake) for k in range(args.trials)]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        out = list(pool.map(replicate, jobs))
    col = {key: np.array([o[key] for o in out], dtype=float) for key in out[0] if key != "model"}
    models = {m: sum(o["model"] == m for o in out) for m in {o["model"] for o in out}}
    print(
        f"replicates: {len(out)} trials of {args.children} children, effect size {args.effect_size}, "
        f"follow-up missing {args.missing}, uptake {args.uptake} ({time.perf_counter() - started:.0f} s)"
    )
    print(f"{'estimator':<22} {'n':>4} {'truth':>9} {'bias':>9} {'MC SE':>8} {'coverage':>9} {'MC SE':>8}")
    print(summary("primary (ITT, points)", col["estimate"], col["ci_low"], col["ci_high"], col["truth"]))
    print(summary("g_total", col["g_total"], col["g_low"], col["g_high"], col["truth_g_total"]))
    print(summary("MI (ITT, points)", col["mi"], col["mi_low"], col["mi_high"], col["truth"]))
    print(summary("CACE θ=0.5 (points)", col["cace"], col["cace_low"], col["cace_high"], col["truth_complier"]))
    print(f"models used: {models}")


if __name__ == "__main__":
    main()
