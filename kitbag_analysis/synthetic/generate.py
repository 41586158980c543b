"""A realistic synthetic study that passes every contract, with known true effects.

Four local authorities; teams randomised within each; children, practitioners and carers
nested in teams; baseline and follow-up measures with blank items and attrition; SSDA903-style
care episodes (some open) with placement moves and missing episodes generated as Poisson
processes over days looked after; referrals; monthly absence; a consent register with
histories and withdrawals before and after `analysis_phase_start`.

The true effect of each outcome of analysis-plan.md §3 is written to `synthetic_truth.json`
inside the folder (a JSON file: the contracts read only CSV/Parquet), on the scale the model
reports, so tests can check estimates against it. Everything is deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.instruments import CRIES8, GSE, PSS10, SDQ, Instrument
from data_contracts.participants import PARTICIPANTS
from data_contracts.reading import DATA_SUFFIXES
from data_contracts.schemas import CONTRACTS, ETHNICITIES
from data_contracts.settings import Retention, StudySettings, Trial, settings_toml
from kitbag_analysis import atomic
from kitbag_analysis.errors import UnusableInput

TRUTH_FILE = "synthetic_truth.json"
DEFAULT_CHILDREN = 9000

SETTINGS = StudySettings(
    name="Putting Kitbags to Work (synthetic)",
    analysis_phase_start=dt.date(2022, 3, 1),
    final_collection=dt.date(2022, 2, 28),
    followup_days=365,
    sdc_threshold=10,
    local_authorities={
        "bexley": "London Borough of Bexley",
        "haringey": "London Borough of Haringey",
        "oxfordshire": "Oxfordshire County Council",
        "warwickshire": "Warwickshire County Council",
    },
    retention=Retention(transcripts_delivered=dt.date(2021, 11, 30), prize_draw_closes=dt.date(2021, 12, 31)),
    # the authors' words of the CONSORT checklist a real study gives; the others are left "to write"
    trial=Trial(
        {
            "registration": "ISRCTN00000000 (synthetic study: a real study names its registry, number, URL and date)",
            "protocol": "Statistical analysis plan: docs/analysis-plan.md of the Kitbag evaluation workbench",
            "data_sharing": "Pseudonymised long-term archive made by `kitbag archive`; code: the Kitbag evaluation "
            "workbench",
        }
    ),
)
# slug -> (team id prefix, number of teams, randomisation date, share of children)
LA_DESIGN = {
    "bexley": ("BEX", 12, "2020-02-03", 0.18),
    "haringey": ("HAR", 14, "2020-02-17", 0.22),
    "oxfordshire": ("OXF", 18, "2020-03-02", 0.31),
    "warwickshire": ("WAR", 16, "2020-03-16", 0.29),
}
EXTRACT = pd.Timestamp(SETTINGS.final_collection)

# Direction of benefit: a positive --effect-size moves each outcome this way.
BENEFIT = {
    "sdq_total": -1,
    "cries8_total": -1,
    "placement_moves": -1,
    "missing_episodes": -1,
    "referral_followup": -1,
    "gse_practitioner": +1,
    "pss10_total": -1,
    "sickness_days": -1,
    "gse_carer": +1,
}


@dataclass(frozen=True)
class SynthSpec:
    """What to generate."""

    seed: int = 20210423
    children: int = DEFAULT_CHILDREN
    effect_size: float = 0.2  # standardised benefit (g for scores, |log ratio| for the rest)
    # analysis-plan.md §7 checks (benchmarks/simulation.py); the defaults leave every file as before
    missing: str = "mcar"  # children's follow-up: "mcar" (80% at random) or "mar" (given baseline and arm)
    uptake: float = 1.0  # share of Kitbags teams that use them; below 1 only their children's SDQ benefits
    # per LA slug: the chance a Kitbags-arm practitioner or carer answers sometimes/often at follow-up
    # (`kitbag synth --uptake bexley=0.2`: interim monitoring's red ratings, analysis-plan.md §8)
    la_uptake: tuple[tuple[str, float], ...] = ()
    # the trial's shape (benchmarks/simulation.py: the real trial had about 32 teams, 180
    # practitioners, 290 carers); None keeps the defaults: LA_DESIGN's 60 teams, 6-10
    # practitioners per team, carers a fifth of the children
    teams: int | None = None  # in all, shared between the LAs in LA_DESIGN's proportions
    practitioners: int | None = None  # in all, placed in teams as children are
    carers: int | None = None


MISSINGNESS = ("mcar", "mar")


def _hex_ids(rng: np.random.Generator, prefix: str, n: int) -> np.ndarray:
    """Unique pseudonyms shaped like the LA side's keyed hashes (prefix + 16 hex)."""
    out: set[str] = set()
    ids: list[str] = []
    while len(ids) < n:
        for v in rng.integers(0, 2**63, size=n - len(ids) + 8, dtype=np.int64):
            s = f"{prefix}{int(v):016x}"
            if s not in out:
                out.add(s)
                ids.append(s)
    return np.array(ids[:n], dtype=object)


def _days(rng: np.random.Generator, lo: int, hi: int, n: int) -> pd.TimedeltaIndex:
    return pd.to_timedelta(rng.integers(lo, hi, size=n), unit="D")


def _iso(values: pd.Series | pd.DatetimeIndex) -> pd.Series:
    return pd.Series(pd.to_datetime(values)).dt.strftime("%Y-%m-%d")


def _split(total: np.ndarray, n_parts: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Spread integer totals over ``n_parts`` parts of 0..cap each, as evenly as possible,
    the remainder going to parts in a random order per row. Exact: rows sum to ``total``."""
    base, rem = np.divmod(total, n_parts)
    order = np.argsort(rng.random((len(total), n_parts)), axis=1)
    extra = (order < rem[:, None]).astype(int)
    parts = base[:, None] + extra
    assert (parts <= cap).all()
    return parts


def _items_from_total(inst: Instrument, total: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Answers (as stored, reverse items reversed back) whose complete score is ``total``."""
    low = min(inst.allowed)
    width = max(inst.allowed) - low
    n = len(total)
    answers = np.zeros((n, inst.n_items), dtype=int)
    parts = inst.parts
    if len(parts) > 1:  # SDQ: total split over subscales of 5 items
        sub = _split(total, len(parts), width * 5, rng)
        for j, part in enumerate(parts):
            vals = _split(sub[:, j], len(part.items), width, rng)
            answers[:, np.array(part.items) - 1] = vals
        scored = answers
        in_total = {i for p in parts for i in p.items}
        others = [i for i in range(1, inst.n_items + 1) if i not in in_total]
        scored[:, np.array(others) - 1] = rng.integers(0, width + 1, size=(n, len(others)))
    else:
        scored = _split(total - low * inst.n_items, inst.n_items, width, rng) + low
    stored = scored.copy()
    for item in inst.reverse:
        stored[:, item - 1] = inst.reverse_from - scored[:, item - 1]
    return stored


def _blank(answers: np.ndarray, p: float, rng: np.random.Generator) -> pd.DataFrame:
    frame = pd.DataFrame(answers).astype("Int64")
    return frame.mask(rng.random(answers.shape) < p)


def _score(rng: np.random.Generator, n: int, mean: float, sd: float, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.rint(rng.normal(mean, sd, n)), lo, hi).astype(int)


class _Generator:
    def __init__(self, spec: SynthSpec) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.truth: dict[str, dict] = {}
        self.g = spec.effect_size
        # a second stream for the §7 options, so the main stream (and the default study) is unchanged
        self.extra = np.random.default_rng([spec.seed, 7])
        if spec.missing not in MISSINGNESS:
            raise ValueError(f"missing must be one of {MISSINGNESS}")
        if not 0 < spec.uptake <= 1:
            raise ValueError("uptake must be in (0, 1]")
        self.teams_per_la = teams_per_la(spec.teams)

    # -- teams ------------------------------------------------------------------------------
    def teams(self) -> pd.DataFrame:
        rows = []
        for slug, (prefix, _teams, date, _share) in LA_DESIGN.items():
            n_teams = self.teams_per_la[slug]
            arms = np.array(["kitbag", "control"] * (n_teams // 2) + ["kitbag"] * (n_teams % 2))
            self.rng.shuffle(arms)
            for k in range(n_teams):
                rows.append((f"{prefix}-T{k + 1:02d}", slug, arms[k], date))
        teams = pd.DataFrame(rows, columns=["team_id", "local_authority", "arm", "randomised_on"])
        teams["randomised_on"] = pd.to_datetime(teams["randomised_on"])
        teams["u"] = self.rng.normal(0, 1, len(teams))  # standardised team effect
        # a team that would use Kitbags if given them (a complier); under full uptake every team
        teams["complier"] = True if self.spec.uptake == 1 else self.extra.random(len(teams)) < self.spec.uptake
        teams["uses"] = (teams["arm"] == "kitbag") & teams["complier"]
        return teams

    def _allocate(self, teams: pd.DataFrame, n: int) -> pd.DataFrame:
        """Place ``n`` people in teams: LA share, then uneven team sizes within the LA."""
        share = teams["local_authority"].map({k: v[3] for k, v in LA_DESIGN.items()})
        n_in_la = teams.groupby("local_authority")["team_id"].transform("size")
        weight = share / n_in_la * self.rng.gamma(8, 1 / 8, len(teams))
        idx = self.rng.choice(len(teams), size=n, p=(weight / weight.sum()).to_numpy())
        return teams.iloc[idx].reset_index(drop=True)

    def _continuous(
        self, name: str, follow0: np.ndarray, sd_follow: float, lo: int, hi: int, compliers: np.ndarray | None = None
    ) -> np.ndarray:
        """Shift follow-up by the benefit (under partial uptake, only for children of teams that
        would use Kitbags if given them); record the sample average effect of assignment as the truth, its ratio to the
        outcome's total SD (g on the total variance, §7.1) and, with partial uptake, the average
        effect among compliers (§7.4)."""
        shift = BENEFIT[name] * self.g * sd_follow
        f0 = np.clip(np.rint(follow0), lo, hi)
        f1 = np.clip(np.rint(follow0 + shift), lo, hi)
        delta = f1 - f0
        truth = {
            "scale": "difference",
            "value": float(np.mean(delta)),
            "effect": {"measure": "hedges_g", "value": BENEFIT[name] * self.g},
            "g_total": float(np.mean(delta)) / sd_follow,
        }
        if compliers is not None and self.spec.uptake < 1:
            delta = delta * compliers
            truth |= {"value": float(np.mean(delta)), "g_total": float(np.mean(delta)) / sd_follow}
            truth["complier_value"] = float(np.mean((f1 - f0)[compliers]))
        self.truth[name] = truth
        return delta

    # -- children ---------------------------------------------------------------------------
    def children(self, teams: pd.DataFrame) -> dict[str, pd.DataFrame]:
        rng, n = self.rng, self.spec.children
        kids = self._allocate(teams, n)
        kids["child_id"] = _hex_ids(rng, "C", n)
        arm = (kids["arm"] == "kitbag").to_numpy().astype(float)
        after = rng.random(n) < 0.3
        offset = np.where(after, rng.integers(0, 181, n), -rng.integers(0, 301, n))
        kids["enrolled_on"] = kids["randomised_on"] + pd.to_timedelta(offset, unit="D")
        ws = kids[["randomised_on", "enrolled_on"]].max(axis=1)
        kids["legal_status"] = rng.choice(["cin", "cp", "cla", "care_leaver"], n, p=[0.35, 0.2, 0.35, 0.1])
        leaver = (kids["legal_status"] == "care_leaver").to_numpy()
        age = np.where(leaver, rng.integers(16, 22, n), rng.integers(0, 18, n))
        months_before = age * 12 + rng.integers(0, 12, n)
        birth = (kids["enrolled_on"].dt.to_period("M") - months_before).astype(str)
        kids["birth_year_month"] = birth
        kids["gender"] = rng.choice(GENDERS_P[0], n, p=GENDERS_P[1])
        kids["ethnicity"] = rng.choice(ETHNICITY_P[0], n, p=ETHNICITY_P[1])
        kids["disability"] = rng.choice(["yes", "no", "not_recorded"], n, p=[0.12, 0.8, 0.08])
        kids["uasc"] = np.where((age >= 14) & (rng.random(n) < 0.25), "yes", "no")
        u = kids["u"].to_numpy()

        # SDQ: baseline ~ N(14, 6); follow-up = 4 + .6 baseline + team + noise
        b_sdq = _score(rng, n, 14, 6, 0, 40)
        f0 = 4 + 0.6 * b_sdq + 1.0 * u + rng.normal(0, 4.5, n)
        sd = float(np.sqrt(0.36 * 36 + 1.0 + 4.5**2))
        delta = self._continuous("sdq_total", f0, sd, 0, 40, kids["complier"].to_numpy(bool))
        f_sdq = (np.clip(np.rint(f0), 0, 40) + delta * arm).astype(int)

        # CRIES-8: item answers from a latent severity; the truth is the sample average of
        # the complete-item totals under each arm (common random numbers).
        sev_b = rng.normal(0, 1, n)
        sev_f = 0.5 * sev_b + 0.25 * u + rng.normal(0, 0.85, n)
        noise_b, noise_f = rng.normal(0, 0.9, (n, 8)), rng.normal(0, 0.9, (n, 8))
        b_cries = _cries_items(sev_b[:, None] + noise_b)
        shift = BENEFIT["cries8_total"] * self.g * 1.0
        c0 = _cries_items(sev_f[:, None] + noise_f)
        c1 = _cries_items(sev_f[:, None] + shift + noise_f)
        self.truth["cries8_total"] = {
            "scale": "difference",
            "value": float(np.mean(c1.sum(1) - c0.sum(1))),
            "effect": {"measure": "hedges_g", "value": None},
        }
        f_cries = np.where(arm[:, None] == 1, c1, c0)

        measures = self._child_measures(kids, ws, age, b_sdq, f_sdq, b_cries, f_cries)
        care = self._care(kids, ws, arm, u)
        referrals = self._referrals(kids, ws, arm)
        children = kids[
            ["child_id", "team_id", "birth_year_month", "gender", "ethnicity", "disability", "uasc", "legal_status"]
        ].copy()
        children["enrolled_on"] = _iso(kids["enrolled_on"])
        return {"children": children, "child_measures": measures, **care, "referrals": referrals}

    def _child_measures(self, kids, ws, age, b_sdq, f_sdq, b_cries, f_cries) -> pd.DataFrame:
        rng, n = self.rng, len(kids)
        frames = []
        for wave, total, cries, present, day in (
            ("baseline", b_sdq, b_cries, rng.random(n) < 0.93, -rng.integers(0, 31, n)),
            ("followup", f_sdq, f_cries, rng.random(n) < self._followup_rate(kids, b_sdq), rng.integers(300, 365, n)),
        ):
            sdq = _blank(_items_from_total(SDQ, total, rng), 0.03, rng)
            sdq.columns = SDQ.columns
            cr = _blank(cries, 0.03, rng)
            cr.columns = CRIES8.columns
            informant = np.where(
                (age >= 11) & (rng.random(n) < 0.4),
                "self",
                rng.choice(["carer", "practitioner"], n, p=[0.6, 0.4]),
            )
            frame = pd.DataFrame(
                {
                    "child_id": kids["child_id"],
                    "wave": wave,
                    "assessed_on": _iso(ws + pd.to_timedelta(day, unit="D")),
                    "informant": informant,
                }
            )
            frames.append(pd.concat([frame, sdq, cr], axis=1)[present])
        return pd.concat(frames, ignore_index=True)

    def _care(self, kids: pd.DataFrame, ws: pd.Series, arm: np.ndarray, u: np.ndarray) -> dict:
        """Care spells, episodes (moves as a Poisson process) and missing episodes."""
        rng, n = self.rng, len(kids)
        status = kids["legal_status"].to_numpy()
        wsv = ws.to_numpy()
        start = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        end = start.copy()
        cla = status == "cla"
        start[cla] = wsv[cla] - _days(rng, 0, 1100, cla.sum()).to_numpy()
        ends_in = cla & (rng.random(n) < 0.2)
        end[ends_in] = wsv[ends_in] + _days(rng, 1, 365, ends_in.sum()).to_numpy()
        enters = np.isin(status, ["cin", "cp"]) & (rng.random(n) < 0.08)
        start[enters] = wsv[enters] + _days(rng, 0, 330, enters.sum()).to_numpy()
        leaver = status == "care_leaver"
        start[leaver] = wsv[leaver] - _days(rng, 800, 3000, leaver.sum()).to_numpy()
        end[leaver] = wsv[leaver] - _days(rng, 30, 400, leaver.sum()).to_numpy()
        in_care = ~np.isnat(start)
        stop = np.where(np.isnat(end), EXTRACT.to_datetime64(), end)
        length = np.where(in_care, (stop - start) / np.timedelta64(1, "D"), 0).astype(float)

        g_moves = BENEFIT["placement_moves"] * self.g
        g_missing = BENEFIT["missing_episodes"] * self.g
        self.truth["placement_moves"] = _ratio_truth("log_rate_ratio", "irr", g_moves)
        self.truth["missing_episodes"] = _ratio_truth("log_rate_ratio", "irr", g_missing)
        rate_moves = 0.8 / 365 * np.exp(g_moves * arm + 0.2 * u)
        rate_missing = 0.3 / 365 * np.exp(g_missing * arm + 0.25 * u)

        # change days: moves (P/T/U/B) and legal-status-only changes (L) inside each spell
        k_moves = rng.poisson(rate_moves * length)
        k_legal = rng.poisson(0.2 / 365 * length)
        who = np.repeat(np.arange(n), k_moves + k_legal)
        frac = rng.random(len(who))
        day = start[who] + (frac * length[who]).astype("timedelta64[D]").astype("timedelta64[ns]")
        is_legal = _position_in_group(k_moves + k_legal) >= np.repeat(k_moves, k_moves + k_legal)
        moves = rng.choice(["P", "T", "U", "B"], len(who), p=[0.7, 0.1, 0.1, 0.1])
        reason = np.where(is_legal, "L", moves)
        changes = pd.DataFrame({"i": who, "start": day, "reason": reason})
        changes = changes[changes["start"] > start[changes["i"]]]
        firsts = pd.DataFrame({"i": np.flatnonzero(in_care), "start": start[in_care], "reason": "S"})
        ep = pd.concat([firsts, changes], ignore_index=True)
        ep = ep.sort_values(["i", "start"], kind="stable").drop_duplicates(["i", "start"])
        nxt = ep.groupby("i")["start"].shift(-1)
        ep["end"] = nxt.fillna(pd.Series(end[ep["i"]], index=ep.index))
        ne = len(ep)
        placements = pd.DataFrame(
            {
                "child_id": kids["child_id"].to_numpy()[ep["i"]],
                "episode_start": _iso(ep["start"]).to_numpy(),
                "episode_end": _iso(ep["end"]).to_numpy(),
                "reason_new_episode": ep["reason"].to_numpy(),
                "placement_type": rng.choice(PLACEMENT_TYPES, ne),
                "legal_status": rng.choice(["C2", "V2", "C1", "E1", "J2"], ne, p=[0.5, 0.3, 0.12, 0.05, 0.03]),
            }
        )

        k_missing = rng.poisson(rate_missing * length)
        mi = np.repeat(np.arange(n), k_missing)
        mstart = start[mi] + (rng.random(len(mi)) * length[mi]).astype("timedelta64[D]").astype("timedelta64[ns]")
        mend = mstart + rng.integers(0, 10, len(mi)).astype("timedelta64[D]").astype("timedelta64[ns]")
        mend = np.where(rng.random(len(mi)) < 0.02, np.datetime64("NaT"), mend)
        missing = pd.DataFrame(
            {
                "child_id": kids["child_id"].to_numpy()[mi],
                "missing_start": _iso(mstart).to_numpy(),
                "missing_end": _iso(mend).to_numpy(),
                "missing_type": rng.choice(["M", "A"], len(mi), p=[0.7, 0.3]),
            }
        )
        return {"placements": placements, "missing_episodes": missing}

    def _referrals(self, kids: pd.DataFrame, ws: pd.Series, arm: np.ndarray) -> pd.DataFrame:
        rng, n, days = self.rng, len(kids), SETTINGS.followup_days
        g = BENEFIT["referral_followup"] * self.g
        self.truth["referral_followup"] = _ratio_truth("log_odds_ratio", "odds_ratio", g)
        base = rng.random(n) < 0.3
        p = 1 / (1 + np.exp(-(-1.0 + 0.8 * base + g * arm)))
        follow = rng.random(n) < p
        parts = []
        for mask, lo, hi in ((base, -days, 0), (follow, 0, days)):
            idx = np.flatnonzero(mask)
            parts.append((idx, ws.to_numpy()[idx] + _days(rng, lo, hi, len(idx)).to_numpy()))
        old = np.flatnonzero(rng.random(n) < 0.4)  # history before the baseline window
        parts.append((old, ws.to_numpy()[old] - _days(rng, days + 1, 4 * days, len(old)).to_numpy()))
        second = np.flatnonzero(follow & (rng.random(n) < 0.2))
        parts.append((second, ws.to_numpy()[second] + _days(rng, 0, days, len(second)).to_numpy()))
        idx = np.concatenate([p[0] for p in parts])
        when = pd.to_datetime(np.concatenate([p[1] for p in parts]))
        keep = when <= EXTRACT
        frame = pd.DataFrame(
            {"child_id": kids["child_id"].to_numpy()[idx[keep]], "referral_date": _iso(when[keep]).to_numpy()}
        )
        return frame.sort_values(["child_id", "referral_date"], ignore_index=True)

    # -- practitioners ----------------------------------------------------------------------
    def _followup_rate(self, kids: pd.DataFrame, baseline: np.ndarray) -> float | np.ndarray:
        """Chance of a follow-up measure: 0.80, or (missing at random) falling with the baseline
        score and higher in the Kitbags arm, 0.80 on average."""
        if self.spec.missing == "mcar":
            return 0.80
        arm = (kids["arm"] == "kitbag").to_numpy(float)
        return 1 / (1 + np.exp(-(1.45 - 0.12 * (baseline - 14) + 0.3 * (arm - 0.5))))

    def practitioners(self, teams: pd.DataFrame) -> dict[str, pd.DataFrame]:
        rng = self.rng
        if self.spec.practitioners is None:
            per_team = rng.integers(6, 11, len(teams))
            staff = teams.loc[teams.index.repeat(per_team)].reset_index(drop=True)
        else:
            staff = self._allocate(teams, self.spec.practitioners).sort_values("team_id", kind="stable")
            staff = staff.reset_index(drop=True)
        n = len(staff)
        staff["practitioner_id"] = _hex_ids(rng, "P", n)
        staff["role"] = rng.choice(["social_worker", "family_support_worker"], n, p=[0.75, 0.25])
        arm = (staff["arm"] == "kitbag").to_numpy().astype(float)
        u = staff["u"].to_numpy()

        b_gse = _score(rng, n, 29, 4.5, 10, 40)
        f0 = 10 + 0.65 * b_gse + 0.8 * u + rng.normal(0, 3.2, n)
        sd = float(np.sqrt(0.65**2 * 4.5**2 + 0.64 + 3.2**2))
        d_gse = self._continuous("gse_practitioner", f0, sd, 10, 40)
        f_gse = (np.clip(np.rint(f0), 10, 40) + d_gse * arm).astype(int)

        b_pss = _score(rng, n, 17, 6, 0, 40)
        f0 = 5 + 0.6 * b_pss + 1.0 * u + rng.normal(0, 4.5, n)
        sd = float(np.sqrt(0.36 * 36 + 1.0 + 4.5**2))
        d_pss = self._continuous("pss10_total", f0, sd, 0, 40)
        f_pss = (np.clip(np.rint(f0), 0, 40) + d_pss * arm).astype(int)

        frames = []
        for wave, gse, pss, present, day in (
            ("baseline", b_gse, b_pss, rng.random(n) < 0.9, -rng.integers(0, 31, n)),
            ("followup", f_gse, f_pss, rng.random(n) < 0.75, rng.integers(300, 365, n)),
        ):
            frame = _survey(rng, staff, "practitioner_id", wave, day, arm, ((GSE, gse), (PSS10, pss)))
            frames.append(frame[present])
        measures = pd.concat(frames, ignore_index=True)
        if self.spec.uptake < 1:  # a team uses Kitbags or not: its practitioners say so alike
            measures = self._team_uptake(measures, staff)
        absence = self._absence(staff, arm, u)
        return {
            "practitioners": staff[["practitioner_id", "team_id", "role"]],
            "practitioner_measures": measures,
            "absence": absence,
        }

    def _team_uptake(self, measures: pd.DataFrame, staff: pd.DataFrame) -> pd.DataFrame:
        uses = measures["practitioner_id"].map(staff.set_index("practitioner_id")["uses"])
        kitbag = measures["practitioner_id"].map(staff.set_index("practitioner_id")["arm"]) == "kitbag"
        follow = (measures["wave"] == "followup") & kitbag
        n = len(measures)
        said = np.where(uses, self.extra.choice(["sometimes", "often"], n), self.extra.choice(["never", "rarely"], n))
        return measures.assign(kitbag_use=np.where(follow, said, measures["kitbag_use"]))

    def _absence(self, staff: pd.DataFrame, arm: np.ndarray, u: np.ndarray) -> pd.DataFrame:
        rng, n = self.rng, len(staff)
        g = BENEFIT["sickness_days"] * self.g
        self.truth["sickness_days"] = _ratio_truth("log_rate_ratio", "irr", g)
        first = staff["randomised_on"].dt.to_period("M") - 12
        n_months = rng.integers(14, 26, n) + 3
        joins_late = rng.random(n) < 0.15
        shift = np.where(joins_late, rng.integers(1, 12, n), 0)
        who = np.repeat(np.arange(n), n_months)
        k = _position_in_group(n_months)
        month = first.to_numpy()[who] + shift[who] + k
        month = pd.PeriodIndex(month, freq="M")
        keep = month.to_timestamp() <= EXTRACT
        who, k, month = who[keep], k[keep], month[keep]
        full = month.days_in_month.to_numpy()
        partial = (k == 0) & joins_late[who]
        days = np.where(partial, rng.integers(1, full + 1), full)
        frailty = rng.gamma(2.0, 0.5, n)
        rate = 0.035 * np.exp(g * arm + 0.2 * u) * frailty
        sick = rng.poisson(2 * rate[who] * days) / 2
        sick = np.minimum(sick, days)
        return pd.DataFrame(
            {
                "practitioner_id": staff["practitioner_id"].to_numpy()[who],
                "month": month.astype(str),
                "days_employed": days,
                "sickness_days": sick,
            }
        )

    # -- carers -----------------------------------------------------------------------------
    def carers(self, teams: pd.DataFrame) -> dict[str, pd.DataFrame]:
        rng = self.rng
        n = max(int(self.spec.children * 0.2), 20) if self.spec.carers is None else self.spec.carers
        carers = self._allocate(teams, n)
        carers["carer_id"] = _hex_ids(rng, "F", n)
        kinship = rng.random(n) < 0.3
        carers["carer_type"] = np.where(kinship, "kinship", "foster")
        carers["gender"] = rng.choice(GENDERS_P[0], n, p=[0.75, 0.22, 0.01, 0.02])
        years = np.where(kinship, rng.gamma(1.5, 1.0, n), rng.gamma(2.0, 4.0, n))
        carers["years_experience"] = np.clip(np.round(years * 2) / 2, 0, 60)
        arm = (carers["arm"] == "kitbag").to_numpy().astype(float)
        u = carers["u"].to_numpy()
        b = _score(rng, n, 30, 4.5, 10, 40)
        f0 = 10 + 0.65 * b - 1.0 * kinship + 0.8 * u + rng.normal(0, 3.2, n)
        sd = float(np.sqrt(0.65**2 * 4.5**2 + 0.21 + 0.64 + 3.2**2))
        d = self._continuous("gse_carer", f0, sd, 10, 40)
        f = (np.clip(np.rint(f0), 10, 40) + d * arm).astype(int)
        frames = []
        for wave, total, present, day in (
            ("baseline", b, rng.random(n) < 0.9, -rng.integers(0, 31, n)),
            ("followup", f, rng.random(n) < 0.7, rng.integers(300, 365, n)),
        ):
            frame = _survey(rng, carers, "carer_id", wave, day, arm, ((GSE, total),))
            frames.append(frame[present])
        return {
            "carers": carers[["carer_id", "team_id", "carer_type", "gender", "years_experience"]],
            "carer_measures": pd.concat(frames, ignore_index=True),
        }

    # -- consent register -------------------------------------------------------------------
    def consent(self, files: dict[str, pd.DataFrame], teams: pd.DataFrame) -> pd.DataFrame:
        """Register rows for ~4% of each participant type, with histories, shuffled."""
        rng = self.rng
        start = pd.Timestamp(SETTINGS.analysis_phase_start)
        rows = []
        for participant in PARTICIPANTS:
            kind = participant.type
            ids = files[participant.file][participant.id_column].to_numpy()
            chosen = rng.choice(ids, size=max(int(len(ids) * 0.04), 6), replace=False)
            story = rng.choice(list(STORIES), len(chosen), p=list(STORIES.values()))
            story[: min(6, len(story))] = list(STORIES)[: min(6, len(story))]  # every story at least once
            early = pd.Timestamp("2020-06-01") + _days(rng, 0, 600, len(chosen))
            late = start + _days(rng, 0, 120, len(chosen))
            for pid, s, d1, d2 in zip(chosen, story, early, late, strict=True):
                if s == "withdrawn_before":
                    rows.append((pid, kind, "withdrawn", d1))
                elif s == "withdrawn_after":
                    rows.append((pid, kind, "withdrawn", d2))
                elif s in ("objected", "restricted"):
                    rows.append((pid, kind, s, d1))
                elif s == "reconsented":
                    rows += [
                        (pid, kind, "withdrawn", d1),
                        (pid, kind, "active", d1 + pd.Timedelta(days=30)),
                    ]
                else:
                    rows += [
                        (pid, kind, "active", d1 - pd.Timedelta(days=60)),
                        (pid, kind, "withdrawn", d1),
                    ]
            # people whose data were already erased: in the register, absent from the files
            for pid in _hex_ids(rng, participant.prefix, 2):
                rows.append((pid, kind, "withdrawn", pd.Timestamp("2020-09-01")))
        consent = pd.DataFrame(rows, columns=["participant_id", "participant_type", "status", "status_changed_on"])
        consent = consent.sample(frac=1.0, random_state=int(rng.integers(0, 2**31)))
        consent["status_changed_on"] = _iso(consent["status_changed_on"]).to_numpy()
        return consent.reset_index(drop=True)


def teams_per_la(total: int | None) -> dict[str, int]:
    """Teams per LA: LA_DESIGN's, or ``total`` shared in its proportions (largest remainders,
    at least 4 per LA so that each randomises at least 2 teams to each arm)."""
    design = {slug: d[1] for slug, d in LA_DESIGN.items()}
    if total is None:
        return design
    if total < 4 * len(design):
        raise ValueError(f"teams must be at least {4 * len(design)} (4 per local authority)")
    exact = pd.Series(design, dtype=float) * total / sum(design.values())
    counts = np.floor(exact).astype(int)
    left = total - int(counts.sum())
    counts[(exact - counts).sort_values(ascending=False, kind="stable").index[:left]] += 1
    counts = counts.clip(lower=4)
    while counts.sum() > total:  # the floor of 4 took teams from elsewhere: the largest gives one back
        counts[counts.idxmax()] -= 1
    return {slug: int(n) for slug, n in counts.items()}


def _position_in_group(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each run of a ``np.repeat(arange, counts)`` layout."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(counts.sum()) - starts


def _ratio_truth(scale: str, measure: str, log_value: float) -> dict:
    return {
        "scale": scale,
        "value": float(log_value),
        "effect": {"measure": measure, "value": float(np.exp(log_value))},
    }


def _survey(
    rng: np.random.Generator,
    people: pd.DataFrame,
    id_column: str,
    wave: str,
    day: np.ndarray,
    arm: np.ndarray,
    scales: tuple[tuple[Instrument, np.ndarray], ...],
) -> pd.DataFrame:
    """One survey wave of practitioners or carers: items of each scale from its totals (a few
    left blank), the completion date and the kitbag_use answer."""
    items = []
    for instrument, totals in scales:
        answers = _blank(_items_from_total(instrument, totals, rng), 0.02, rng)
        answers.columns = instrument.columns
        items.append(answers)
    frame = pd.DataFrame(
        {
            id_column: people[id_column],
            "wave": wave,
            "completed_on": _iso(people["randomised_on"] + pd.to_timedelta(day, unit="D")),
            "kitbag_use": _uptake(rng, wave, arm),
        }
    )
    return pd.concat([frame, *items], axis=1)


def _uptake(rng: np.random.Generator, wave: str, arm: np.ndarray) -> np.ndarray:
    n = len(arm)
    if wave == "baseline":
        return np.full(n, "not_asked", dtype=object)
    kit = rng.choice(["never", "rarely", "sometimes", "often"], n, p=[0.15, 0.25, 0.35, 0.25])
    ctl = rng.choice(["never", "rarely", "not_asked"], n, p=[0.85, 0.05, 0.10])
    return np.where(arm == 1, kit, ctl)


def _cries_items(latent: np.ndarray) -> np.ndarray:
    """Latent item severity to CRIES answers 0/1/3/5 (not at all / rarely / sometimes / often)."""
    return np.select([latent < -0.3, latent < 0.4, latent < 1.1], [0, 1, 3], 5)


# consent-register histories and their shares
STORIES = {
    "withdrawn_before": 0.3,
    "withdrawn_after": 0.15,
    "objected": 0.15,
    "restricted": 0.1,
    "reconsented": 0.15,
    "active_then_withdrawn": 0.15,
}
GENDERS_P = (["female", "male", "other", "not_recorded"], [0.48, 0.49, 0.01, 0.02])
# DfE codes in the contract's order, with their shares (WIRT, Traveller of Irish heritage: none)
ETHNICITY_P = (
    ETHNICITIES,
    [
        0.58,
        0.01,
        0.0,
        0.06,
        0.01,
        0.03,
        0.01,
        0.02,
        0.03,
        0.02,
        0.03,
        0.01,
        0.02,
        0.03,
        0.05,
        0.02,
        0.01,
        0.03,
        0.02,
        0.01,
    ],
)
PLACEMENT_TYPES = ["U1", "U2", "U3", "U4", "U5", "U6", "K2", "R1", "H5", "P1", "S1"]


def generate(spec: SynthSpec) -> tuple[dict[str, pd.DataFrame], dict]:
    """Generate every file of the study (as text-ready frames) and the truth."""
    gen = _Generator(spec)
    teams = gen.teams()
    files: dict[str, pd.DataFrame] = {}
    files["teams"] = teams[["team_id", "local_authority", "arm"]].assign(randomised_on=_iso(teams["randomised_on"]))
    files.update(gen.children(teams))
    files.update(gen.practitioners(teams))
    files.update(gen.carers(teams))
    files["consent"] = gen.consent(files, teams)
    if spec.la_uptake:
        _la_uptake(spec, files, teams)
    truth = {
        "seed": spec.seed,
        "children": spec.children,
        "effect_size": spec.effect_size,
        "note": "true effects on the scale each model reports (analysis-plan.md §3-4)",
        "outcomes": gen.truth,
    }
    return {name: files[name] for name in CONTRACTS}, truth


def _la_uptake(spec: SynthSpec, files: dict[str, pd.DataFrame], teams: pd.DataFrame) -> None:
    """Re-draw the follow-up kitbag_use of Kitbags-arm practitioners and carers in the chosen LAs:
    sometimes/often with the LA's chance, else never/rarely (a stream of its own: the rest of the
    study is unchanged)."""
    unknown = sorted(set(dict(spec.la_uptake)) - set(SETTINGS.local_authorities))
    if unknown:
        raise ValueError(f"unknown local authority in the uptake: {', '.join(unknown)}")
    rng = np.random.default_rng([spec.seed, 21])
    chance = dict(spec.la_uptake)
    for people, measures, id_column in (
        ("practitioners", "practitioner_measures", "practitioner_id"),
        ("carers", "carer_measures", "carer_id"),
    ):
        team = files[measures][id_column].map(files[people].set_index(id_column)["team_id"])
        la = team.map(teams.set_index("team_id")["local_authority"])
        arm = team.map(teams.set_index("team_id")["arm"])
        p = la.map(chance)
        chosen = (files[measures]["wave"] == "followup") & (arm == "kitbag") & p.notna()
        n = len(team)
        uses = rng.random(n) < p.fillna(0).to_numpy()
        said = np.where(uses, rng.choice(["sometimes", "often"], n), rng.choice(["never", "rarely"], n))
        files[measures] = files[measures].assign(kitbag_use=np.where(chosen, said, files[measures]["kitbag_use"]))


def write_study(out: str | Path, spec: SynthSpec = SynthSpec(), fmt: str = "csv") -> Path:
    """Write a synthetic study folder (CSV or Parquet files, study.toml, the truth) into a new or
    empty folder; a folder already holding a study file is refused (nothing is written)."""
    out = Path(out)
    held = sorted(
        p.name for p in (out.iterdir() if out.is_dir() else ()) if p.name == "study.toml" or p.suffix in DATA_SUFFIXES
    )
    if held:
        raise UnusableInput(
            f"{out}: already holds study files ({', '.join(held[:3])}{', …' if len(held) > 3 else ''}); "
            "nothing was written. Choose a new or empty folder."
        )
    out.mkdir(parents=True, exist_ok=True)
    files, truth = generate(spec)
    for name, frame in files.items():
        if fmt == "parquet":
            atomic.write_with(out / f"{name}.parquet", lambda tmp, f=frame: f.to_parquet(tmp, index=False))
        else:
            atomic.write_with(out / f"{name}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
    atomic.write_text(out / "study.toml", settings_toml(SETTINGS))
    atomic.write_text(out / TRUTH_FILE, json.dumps(truth, indent=2) + "\n")
    return out
