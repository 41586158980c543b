"""§7.7: the randomisation-inference p-value against exact enumeration of every within-LA
allocation, the closed-form statistic against a direct GLS refit, and invariance to a shift."""

from __future__ import annotations

from itertools import combinations, product

import numpy as np
import pandas as pd
import pytest

from kitbag_analysis.analysis.models import design, gls_at, reml_maximum
from kitbag_analysis.analysis.whatworks.randomisation import TeamDesign, gls_contrast, permutation_p, statistic


def small_design(effect: float = 0.9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two LAs: bexley 4 teams (2 kitbag), haringey 5 teams (2 kitbag, one team with nobody
    analysed): C(4,2) × C(5,2) = 60 allocations."""
    rng = np.random.default_rng(45)
    teams = pd.DataFrame(
        {
            "team_id": [f"BEX-T0{k}" for k in range(1, 5)] + [f"HAR-T0{k}" for k in range(1, 6)],
            "local_authority": ["bexley"] * 4 + ["haringey"] * 5,
            "arm": ["kitbag", "control", "kitbag", "control", "control", "kitbag", "control", "kitbag", "control"],
        }
    )
    rows = []
    for team in teams.itertuples():
        if team.team_id == "HAR-T05":
            continue
        u = rng.normal(0, 2.0)
        for _ in range(int(rng.integers(4, 9))):
            base = rng.normal(14, 5)
            arm = int(team.arm == "kitbag")
            y = 3 + 0.6 * base - effect * arm + u + rng.normal(0, 2)
            rows.append((team.team_id, team.local_authority, arm, y, base))
    frame = pd.DataFrame(rows, columns=["team_id", "local_authority", "arm", "y", "baseline"])
    return frame, teams


def _fit(frame: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    X = design(frame, ["baseline"], ["bexley", "haringey"])
    codes = pd.factorize(frame["team_id"], sort=True)[0]
    gamma, _, _ = reml_maximum(frame["y"].to_numpy(float), X.to_numpy(), codes)
    return X, gamma


def _refit_at(frame: pd.DataFrame, X: pd.DataFrame, gamma: float, kitbag_teams: set[str]) -> float:
    """The arm estimate by a direct GLS solve at γ with the arms re-allocated."""
    X = X.assign(arm=frame["team_id"].isin(kitbag_teams).to_numpy(float))
    codes = pd.factorize(frame["team_id"], sort=True)[0]
    return float(gls_at(frame["y"].to_numpy(float), X.to_numpy(), codes, gamma)["beta"][1])


def every_allocation(teams: pd.DataFrame) -> list[set[str]]:
    per_la = []
    for _, part in teams.groupby("local_authority"):
        ids = part["team_id"].tolist()
        per_la.append([set(c) for c in combinations(ids, int((part["arm"] == "kitbag").sum()))])
    return [set().union(*choice) for choice in product(*per_la)]


def test_against_exact_enumeration() -> None:
    frame, teams = small_design()
    X, gamma = _fit(frame)
    assert gamma > 0
    allocations = every_allocation(teams)
    assert len(allocations) == 60
    exact = np.array([_refit_at(frame, X, gamma, a) for a in allocations])
    observed = _refit_at(frame, X, gamma, set(teams.loc[teams["arm"] == "kitbag", "team_id"]))
    p_exact = np.mean(np.abs(exact) >= abs(observed) * (1 - 1e-9))
    tdesign = TeamDesign.from_teams(teams, ["bexley", "haringey"])
    p = permutation_p(frame, X, gamma, tdesign)
    assert abs(p - p_exact) < 4 * np.sqrt(p_exact * (1 - p_exact) / 2000) + 1 / 2001
    # every draw is one of the 60 allocations, each LA keeping its number of kitbag teams, and
    # its closed-form statistic is the direct refit's
    index = {team: i for i, team in enumerate(tdesign.team_ids)}
    W = X.drop(columns="arm").to_numpy(float)
    u, k = gls_contrast(frame["y"].to_numpy(float), W, frame["team_id"].map(index).to_numpy(), 9, gamma)
    draws = tdesign.draws(2000)
    chosen = [frozenset(tdesign.team_ids[i] for i in np.flatnonzero(row)) for row in draws]
    assert all(set(c) in allocations for c in chosen)
    for b, c in list(zip(statistic(draws, u, k), chosen, strict=True))[:200]:
        assert b == pytest.approx(_refit_at(frame, X, gamma, set(c)), rel=1e-9, abs=1e-12)
    visits = pd.Series(chosen).value_counts()
    assert len(visits) == 60  # 2,000 uniform draws miss one of 60 with probability < 1e-13
    assert visits.max() < 2000 / 60 * 2


def test_observed_statistic_is_the_gls_estimate() -> None:
    frame, teams = small_design()
    X, gamma = _fit(frame)
    tdesign = TeamDesign.from_teams(teams, ["bexley", "haringey"])
    index = {team: i for i, team in enumerate(tdesign.team_ids)}
    u, k = gls_contrast(
        frame["y"].to_numpy(float),
        X.drop(columns="arm").to_numpy(float),
        frame["team_id"].map(index).to_numpy(),
        9,
        gamma,
    )
    codes = pd.factorize(frame["team_id"], sort=True)[0]
    direct = gls_at(frame["y"].to_numpy(float), X.to_numpy(), codes, gamma)["beta"][1]
    assert statistic(tdesign.arms, u, k)[0] == pytest.approx(direct, rel=1e-10)


def test_invariant_to_adding_a_constant() -> None:
    frame, teams = small_design()
    X, gamma = _fit(frame)
    tdesign = TeamDesign.from_teams(teams, ["bexley", "haringey"])
    p = permutation_p(frame, X, gamma, tdesign)
    shifted = frame.assign(y=frame["y"] + 250.0)
    X2, gamma2 = _fit(shifted)
    assert gamma2 == pytest.approx(gamma, rel=1e-6)
    assert permutation_p(shifted, X2, gamma, tdesign) == p
    assert permutation_p(shifted, X2, gamma2, tdesign) == p


def test_deterministic_and_small_with_a_large_effect() -> None:
    frame, teams = small_design(effect=6.0)
    X, gamma = _fit(frame)
    tdesign = TeamDesign.from_teams(teams, ["bexley", "haringey"])
    p = permutation_p(frame, X, gamma, tdesign)
    assert p == permutation_p(frame, X, gamma, tdesign)
    # with 60 allocations the smallest exact p is 2/60 (the observed and its mirror image at most)
    assert p < 0.1


def test_draws_without_an_estimate_are_left_out() -> None:
    """Four of eight teams have anyone analysed: 2 in 70 allocations put all four in one arm,
    where the arm effect cannot be estimated. They are left out; the rest match enumeration."""
    frame, _ = small_design()
    frame = frame.loc[frame["team_id"].str.startswith("BEX")].reset_index(drop=True)
    teams = pd.DataFrame(
        {
            "team_id": [f"BEX-T0{k}" for k in range(1, 9)],
            "local_authority": "bexley",
            "arm": ["kitbag", "control", "kitbag", "control", "kitbag", "control", "kitbag", "control"],
        }
    )
    X = design(frame, ["baseline"], None)
    gamma = 0.3
    tdesign = TeamDesign.from_teams(teams, ["bexley"])
    with np.errstate(all="raise"):  # no division by zero anywhere
        p = permutation_p(frame, X, gamma, tdesign)
    allocations = [set(c) for c in combinations(teams["team_id"], 4)]
    analysed = set(frame["team_id"])
    usable = [a for a in allocations if 0 < len(a & analysed) < len(analysed)]
    assert len(allocations) == 70 and len(usable) == 68
    observed = _refit_at(frame, X, gamma, set(teams.loc[teams["arm"] == "kitbag", "team_id"]))
    exact = np.mean([abs(_refit_at(frame, X, gamma, a)) >= abs(observed) * (1 - 1e-9) for a in usable])
    assert abs(p - exact) < 4 * np.sqrt(exact * (1 - exact) / 2000) + 1 / 2001
