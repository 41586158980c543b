"""Coverage of the analysis plan's intervals over many synthetic trials at the real trial's shape.

Each trial is a fresh study of the built-in generator (`kitbag synth`, a new seed) at the shape
of the real trial: 4 LAs, 24–40 teams (drawn per trial), about 1,100 children, 180 practitioners
and 290 carers. The study is written, validated and loaded as any study is (`load_study`), then
only what is needed is fitted, in unit `all`: every outcome's §4 model (t interval on the
between-within df, bias-reduced team-clustered SEs), and for the scores the §7.5 multiple
imputation, the §7.1 total-variance effect size and, with ``--uptake`` below 1, the §7.4 CACE.

Truth (`synthetic_truth.json`, on the scale each model reports): for a score the sample average
effect of assignment on the follow-up score (points; the generator's common random numbers), for
a count the log rate ratio and for referral the log odds ratio the generator applies (the Poisson
model's log link is collapsible over the team effect; referral has none). `g_total`'s truth is
the effect over the generator's total SD of the untreated follow-up; the CACE's the average
effect among children of teams that would use Kitbags.

Printed: per outcome and per model branch, coverage of the 95% CI with its Monte Carlo SE,
the share of trials in the branch, and bias; under ``--effect-size 0`` the same rows are the
false-positive rate (1 − coverage: the CI excludes no difference); for the scores, MI minus
complete case (trial by trial) with its Monte Carlo SE and as a share of the true effect.
Not a CI test: run it by hand, e.g.
  nice -n 10 .venv/bin/python benchmarks/simulation.py --trials 500
  nice -n 10 .venv/bin/python benchmarks/simulation.py --trials 500 --effect-size 0
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from kitbag_analysis.analysis.models import NotEstimable, check_estimable, design, fit_continuous, fit_glm
from kitbag_analysis.analysis.outcomes import OUTCOMES, analysis_frame, outcome_frame
from kitbag_analysis.analysis.whatworks.compliance import MAIN_THETA, cace, compliance_counts, theta_key
from kitbag_analysis.analysis.whatworks.missing_data import multiple_imputation
from kitbag_analysis.analysis.whatworks.outcome_stats import unconditional
from kitbag_analysis.study.load import load_study
from kitbag_analysis.study.units import ALL, restrict
from kitbag_analysis.synthetic.generate import TRUTH_FILE, SynthSpec, write_study

# the real trial's shape
CHILDREN, PRACTITIONERS, CARERS = 1100, 180, 290
TEAMS = (24, 40)  # drawn per trial, both ends included
FIRST_SEED = 1000


def trial_spec(seed: int, effect_size: float, missing: str, uptake: float) -> SynthSpec:
    """One trial's generator settings: the real trial's shape, its number of teams from the seed."""
    teams = int(np.random.default_rng([seed, 32]).integers(TEAMS[0], TEAMS[1] + 1))
    return SynthSpec(
        seed=seed,
        children=CHILDREN,
        effect_size=effect_size,
        missing=missing,
        uptake=uptake,
        teams=teams,
        practitioners=PRACTITIONERS,
        carers=CARERS,
    )


def replicate(args: tuple[int, float, str, float]) -> list[dict]:
    """One trial: a row per outcome (estimate, CI, model, truth; MI and g_total for scores)."""
    spec = trial_spec(*args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_study(Path(tmp) / "s", spec)
        truth = json.loads((folder / TRUTH_FILE).read_text())["outcomes"]
        view = restrict(load_study(folder), ALL)
    las = list(view.settings.local_authorities)
    frames = {o.name: analysis_frame(view, o) for o in OUTCOMES}
    compliance = compliance_counts(view, frames) if spec.uptake < 1 else None
    rows = []
    for outcome in OUTCOMES:
        frame = frames[outcome.name]
        row: dict = {"seed": spec.seed, "teams": spec.teams, "outcome": outcome.name, "truth": truth[outcome.name]}
        try:
            check_estimable(frame)
            covariates = (["baseline"] if "baseline" in frame else []) + list(outcome.covariates)
            X = design(frame, covariates, las)
            continuous = outcome.kind == "continuous"
            fit = fit_continuous(frame, X) if continuous else fit_glm(frame, X, outcome.kind)
        except NotEstimable as reason:
            rows.append(row | {"model": "not_estimable", "reason": str(reason)})
            continue
        row |= {"model": fit.model, "estimate": fit.estimate, "ci": fit.ci, "df": fit.df}
        if continuous:
            mi = multiple_imputation(outcome_frame(view, outcome), covariates, las)
            row["mi"] = (mi.estimate, (mi.ci_low, mi.ci_high))
            g = unconditional(frame, X).g_total(fit)
            row["g_total"] = (g.value, (g.ci_low, g.ci_high))
            if compliance is not None:
                c = cace(fit, compliance.loc[compliance["outcome"] == outcome.name])[theta_key(MAIN_THETA)]
                row["cace"] = (c.value, (c.ci_low, c.ci_high)) if c.value is not None else None
        rows.append(row)
    return rows


def run(jobs: list[tuple[int, float, str, float]], workers: int) -> Iterator[list[dict]]:
    """The trials in order, in this process (1 worker) or in a pool."""
    if workers <= 1:
        yield from map(replicate, jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(replicate, jobs)


def mcse(p: float, n: int) -> float:
    """Monte Carlo SE of a share over n trials."""
    return math.sqrt(p * (1 - p) / n) if n else math.nan


def interval_rows(rows: list[dict], key: str, truth_key: str) -> pd.DataFrame:
    """One row per trial with an interval under ``key``: estimate, its CI and its truth."""
    out = []
    for r in rows:
        got = ((r["estimate"], r["ci"]) if "estimate" in r else None) if key == "primary" else r.get(key)
        true = r["truth"].get(truth_key)
        if got is None or true is None:
            continue
        value, (lo, hi) = got
        out.append((r["outcome"], r["model"], value, lo, hi, true))
    return pd.DataFrame(out, columns=["outcome", "model", "value", "lo", "hi", "truth"])


def coverage_table(frame: pd.DataFrame, trials: int, null: bool) -> str:
    """Per outcome, then per outcome and model branch: n, share of trials, coverage ± MCSE
    (or the false-positive rate under no effect), mean truth, bias ± MCSE."""
    frame = frame.assign(covered=(frame["lo"] <= frame["truth"]) & (frame["truth"] <= frame["hi"]))
    frame = frame.assign(error=frame["value"] - frame["truth"])
    head = "false-positive rate" if null else "coverage"
    lines = [f"{'outcome':<19} {'branch':<21} {'n':>4} {'share':>6} {head:>19} {'truth':>8} {'bias':>8} {'MCSE':>6}"]
    for (outcome, model), part in _groups(frame):
        n = len(part)
        share = (1 - part["covered"].mean()) if null else part["covered"].mean()
        bias_se = part["error"].std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
        lines.append(
            f"{outcome:<19} {model:<21} {n:>4} {n / trials:>6.1%} "
            f"{share:>10.1%} ± {mcse(share, n):>5.1%} {part['truth'].mean():>+8.4f} "
            f"{part['error'].mean():>+8.4f} {bias_se:>6.4f}"
        )
    n = len(frame)
    share = (1 - frame["covered"].mean()) if null else frame["covered"].mean()
    lines.append(f"{'every interval':<19} {'':<21} {n:>4} {'':>6} {share:>10.1%} ± {mcse(share, n):>5.1%}")
    return "\n".join(lines)


def _groups(frame: pd.DataFrame) -> Iterator[tuple[tuple[str, str], pd.DataFrame]]:
    """Each outcome (in the plan's order) as a whole, then by model branch where it has two."""
    for outcome in [o.name for o in OUTCOMES if o.name in set(frame["outcome"])]:
        part = frame.loc[frame["outcome"] == outcome]
        yield (outcome, "all branches"), part
        branches = sorted(part["model"].unique())
        if len(branches) > 1:
            for model in branches:
                yield (outcome, model), part.loc[part["model"] == model]


def mi_table(rows: list[dict]) -> str:
    """Scores: MI minus complete case, trial by trial, with its MCSE and as a share of the effect."""
    lines = [f"{'outcome':<19} {'n':>4} {'truth':>8} {'MI − CC':>9} {'MCSE':>7} {'% of effect':>12} {'MI cover':>9}"]
    for outcome in [o.name for o in OUTCOMES if o.kind == "continuous"]:
        part = [r for r in rows if r["outcome"] == outcome and "mi" in r]
        if not part:
            continue
        diff = np.array([r["mi"][0] - r["estimate"] for r in part])
        truth = np.array([r["truth"]["value"] for r in part])
        covered = np.array([r["mi"][1][0] <= t <= r["mi"][1][1] for r, t in zip(part, truth, strict=True)])
        n = len(part)
        share = f"{diff.mean() / abs(truth.mean()):>+11.1%}" if abs(truth.mean()) > 1e-12 else f"{'(no effect)':>12}"
        lines.append(
            f"{outcome:<19} {n:>4} {truth.mean():>+8.4f} {diff.mean():>+9.4f} {diff.std(ddof=1) / math.sqrt(n):>7.4f} "
            f"{share} {covered.mean():>8.1%}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--effect-size", type=float, default=0.2)
    parser.add_argument("--missing", default="mcar", choices=["mcar", "mar"], help="children's follow-up")
    parser.add_argument("--uptake", type=float, default=1.0, help="share of Kitbags teams using them (CACE below 1)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED)
    args = parser.parse_args()
    jobs = [(args.first_seed + k, args.effect_size, args.missing, args.uptake) for k in range(args.trials)]
    started = time.perf_counter()
    rows = [row for trial in run(jobs, args.workers) for row in trial]
    null = args.effect_size == 0
    print(
        f"{args.trials} trials (seeds {jobs[0][0]}–{jobs[-1][0]}) at the real trial's shape: 4 LAs, "
        f"{TEAMS[0]}–{TEAMS[1]} teams, {CHILDREN} children, {PRACTITIONERS} practitioners, {CARERS} carers; "
        f"effect size {args.effect_size}, children's follow-up missing {args.missing}, uptake {args.uptake}; "
        f"unit all ({time.perf_counter() - started:.0f} s)"
    )
    skipped = pd.Series([r["reason"] for r in rows if r["model"] == "not_estimable"], dtype=object)
    if len(skipped):
        print(f"not estimable: {skipped.value_counts().to_dict()}")
    print("\n§4 models, 95% CI (t on J − g₂ − 2 df, bias-reduced team-clustered SEs), against the truth:")
    print(coverage_table(interval_rows(rows, "primary", "value"), args.trials, null))
    print("\n§7.5 multiple imputation (5 donors) minus complete case:")
    print(mi_table(rows))
    g = interval_rows(rows, "g_total", "g_total")
    if len(g):
        print("\n§7.1 g_total against the generator's effect / total SD:")
        print(coverage_table(g, args.trials, null))
    c = interval_rows([r | {"truth": {"value": r["truth"].get("complier_value")}} for r in rows], "cace", "value")
    if len(c):
        print("\n§7.4 CACE (θ = 0.5) against the complier effect:")
        print(coverage_table(c, args.trials, null))


if __name__ == "__main__":
    main()
