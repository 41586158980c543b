"""Randomisation inference (analysis-plan.md §7.7), for continuous outcomes.

Arms are re-allocated across the randomised teams within each local authority, keeping each
LA's number of Kitbags teams: ``PERMUTATIONS`` draws from ``numpy.random.default_rng(SEED)``
(per draw, each LA in study.toml order permutes its teams' arms, teams in id order). The
statistic is M1's `arm` GLS estimate at M1's γ̂, held fixed (γ̂ = 0 under the OLS fallback).
Because arm is constant within a team, with W the other columns of the design and
M = Ĥ⁻¹ − Ĥ⁻¹W(WᵀĤ⁻¹W)⁻¹WᵀĤ⁻¹, the estimate for a team allocation t is
b(t) = tᵀu / tᵀKt with u = ZᵀMy and K = ZᵀMZ, both computed once per team in closed form, so
every draw costs two small products. p = (1 + #{|b*| ≥ |b₁|}) / (1 + B), |b*| within 1e-9
(relative) of |b₁| counting as at least as extreme. A draw under which the arm effect cannot be
estimated (every team with anyone analysed in one arm, tᵀKt = 0) is left out of both counts;
with the trial's numbers of teams such draws essentially never occur.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PERMUTATIONS = 2000
SEED = 20210423
TIES = 1e-9  # relative: |b*| within this of |b₁| counts as at least as extreme (rounding only)
DEGENERATE = 1e-9  # relative to the observed allocation's tᵀKt: below it a draw has no estimate


@dataclass(frozen=True)
class TeamDesign:
    """The randomisation design of a unit: teams in order, their LA block and actual arm."""

    team_ids: np.ndarray
    blocks: tuple[slice, ...]
    arms: np.ndarray  # 1 = kitbag, 0 = control

    @classmethod
    def from_teams(cls, teams: pd.DataFrame, la_order: list[str]) -> TeamDesign:
        rank = {la: i for i, la in enumerate(la_order)}
        ordered = teams.assign(_la=teams["local_authority"].map(rank)).sort_values(["_la", "team_id"])
        sizes = ordered.groupby("_la", sort=True).size().to_numpy()
        ends = np.cumsum(sizes)
        blocks = tuple(slice(int(e - k), int(e)) for e, k in zip(ends, sizes, strict=True))
        return cls(ordered["team_id"].to_numpy(), blocks, (ordered["arm"] == "kitbag").to_numpy(float))

    def draws(self, n: int, seed: int = SEED) -> np.ndarray:
        """``n`` re-allocations (rows), each LA block permuted independently (the same for every
        outcome of a unit: computed once per design, then copied)."""
        key = (tuple(self.team_ids), self.arms.tobytes(), tuple((b.start, b.stop) for b in self.blocks), n, seed)
        if key not in _DRAWS:
            rng = np.random.default_rng(seed)
            out = np.empty((n, len(self.arms)))
            for b in range(n):
                for block in self.blocks:
                    out[b, block] = rng.permutation(self.arms[block])
            _DRAWS.clear()  # one design at a time: a unit's outcomes share it
            _DRAWS[key] = out
        return _DRAWS[key].copy()


_DRAWS: dict[tuple, np.ndarray] = {}


def gls_contrast(
    y: np.ndarray, W: np.ndarray, team: np.ndarray, n_teams: int, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """(u, K) of the module docstring: b(t) = tᵀu / tᵀKt for any team-level arm vector t.
    ``team`` codes rows into 0..n_teams-1 (teams without rows contribute nothing)."""
    n_j = np.bincount(team, minlength=n_teams).astype(float)
    c = 1.0 / (1.0 + gamma * n_j)  # H_j⁻¹ 1 = c_j 1
    w = gamma * c  # H_j⁻¹ = I − w_j 11ᵀ
    sw = np.zeros((n_teams, W.shape[1]))
    np.add.at(sw, team, W)
    sy = np.bincount(team, weights=y, minlength=n_teams)
    g = W.T @ W - (sw * w[:, None]).T @ sw  # WᵀH⁻¹W
    wy = W.T @ y - (sw * w[:, None]).T @ sy  # WᵀH⁻¹y
    csw = sw * c[:, None]  # ZᵀH⁻¹W
    g_inv_csw = np.linalg.solve(g, csw.T)
    u = c * sy - csw @ np.linalg.solve(g, wy)
    k = np.diag(c * n_j) - csw @ g_inv_csw
    return u, k


def statistic(t: np.ndarray, u: np.ndarray, k: np.ndarray) -> np.ndarray:
    """b for each row of ``t`` (allocations × teams)."""
    t = np.atleast_2d(t)
    return (t @ u) / _information(t, k)


def permutation_p(
    frame: pd.DataFrame, X: pd.DataFrame, gamma: float, design_: TeamDesign, n: int = PERMUTATIONS, seed: int = SEED
) -> float:
    """The randomisation-inference p-value of the arm effect on ``frame`` with design ``X``."""
    index = {team: i for i, team in enumerate(design_.team_ids)}
    team = frame["team_id"].map(index).to_numpy(int)
    W = X.drop(columns="arm").to_numpy(float)
    u, k = gls_contrast(frame["y"].to_numpy(float), W, team, len(design_.team_ids), gamma)
    draws = design_.draws(n, seed)
    observed = statistic(design_.arms, u, k)[0]
    # a draw that gives every team with someone analysed the same arm (within an LA, in the pooled
    # unit: arm then lies in the span of the LA terms) has no estimate: it is left out
    defined = _information(draws, k) > DEGENERATE * _information(design_.arms, k)[0]
    drawn = statistic(draws[defined], u, k)
    extreme = int(np.sum(np.abs(drawn) >= abs(observed) * (1 - TIES)))
    return (1 + extreme) / (1 + int(defined.sum()))


def _information(t: np.ndarray, k: np.ndarray) -> np.ndarray:
    """tᵀKt per allocation: the arm's information once the other terms are accounted for."""
    t = np.atleast_2d(t)
    return np.einsum("bi,ij,bj->b", t, k, t)


__all__ = ["PERMUTATIONS", "SEED", "TeamDesign", "gls_contrast", "permutation_p", "statistic"]
