"""What analysis-plan.md §7 costs inside `analyse`, and where: each part timed on its own for every
continuous outcome of all five units (4 LAs + all) of the default synthetic study, beside the
whole `analyse`.

Run: .venv/bin/python benchmarks/whatworks_cost.py [--children 9000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from kitbag_analysis.analysis.analyse import analyse
from kitbag_analysis.analysis.models import design, fit_continuous
from kitbag_analysis.analysis.outcomes import OUTCOMES, analysis_frame, outcome_frame
from kitbag_analysis.analysis.whatworks.compliance import cace, compliance_counts
from kitbag_analysis.analysis.whatworks.missing_data import missing_data
from kitbag_analysis.analysis.whatworks.outcome_stats import unconditional
from kitbag_analysis.analysis.whatworks.randomisation import TeamDesign, permutation_p
from kitbag_analysis.analysis.whatworks.subgroups import subgroups
from kitbag_analysis.study.load import load_study
from kitbag_analysis.study.units import ALL, restrict
from kitbag_analysis.synthetic.generate import SynthSpec, write_study


def timed(cost: dict[str, float], name: str, step: Callable[..., object], *args: object) -> None:
    started = time.perf_counter()
    step(*args)
    cost[name] += time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=SynthSpec().children)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        study = load_study(write_study(Path(tmp) / "study", SynthSpec(children=args.children)))
    cost: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    for unit in study.units:
        analyse(study, unit)
    whole = time.perf_counter() - started
    for unit in study.units:
        view = restrict(study, unit)
        las = list(study.settings.local_authorities) if unit == ALL else None
        frames = {o.name: analysis_frame(view, o) for o in OUTCOMES}
        t = time.perf_counter()
        counts = compliance_counts(view, frames)
        cost["§7.4 compliance counts"] += time.perf_counter() - t
        for outcome in (o for o in OUTCOMES if o.kind == "continuous"):
            frame = frames[outcome.name]
            covariates = ["baseline", *outcome.covariates]
            X = design(frame, covariates, las)
            t = time.perf_counter()
            fit = fit_continuous(frame, X)
            cost["§4 M1 (for scale)"] += time.perf_counter() - t
            timed(cost, "§7.1 M0 (g_total, ICC)", unconditional, frame, X)
            timed(cost, "§7.4 CACE", cace, fit, counts.loc[counts["outcome"] == outcome.name])
            included = outcome_frame(view, outcome)
            timed(cost, "§7.5 missingness model + MI", missing_data, included, len(frame), covariates, las, (0, 0, 0))
            timed(cost, "§7.6 subgroups", subgroups, view, outcome, frame, covariates, las)
            design_ = TeamDesign.from_teams(view["teams"], las or [unit])
            timed(cost, "§7.7 randomisation (2,000 draws)", permutation_p, frame, X, fit.gamma, design_)
    print(f"children: {args.children}; analyse, all five units in one process: {whole:.2f} s")
    print(f"{'part (all continuous outcomes, all units)':<44} {'seconds':>8}")
    for name, seconds in sorted(cost.items()):
        print(f"{name:<44} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
