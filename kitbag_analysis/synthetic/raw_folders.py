"""Synthetic raw LA folders for `kitbag pseudonymise`: fixtures only, never real data.

Built from the synthetic study (`kitbag_analysis.synthetic.generate`), so the trial they describe is as
realistic as that one: each pseudonym gets back a raw id of the LA's systems, and the raw files
carry what real extracts carry beside the study's columns: fake names, e-mail addresses, UPNs
(a check letter and 12 digits), postcodes, full dates of birth, SSDA903 fields the study does not
use, DfE extended ethnicity codes, DD/MM/YYYY dates, and looked-after children who are not on
the trial list (with their episodes, missing episodes and referrals).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.errors import UnusableInput
from data_contracts.participants import BY_TYPE
from data_contracts.settings import SETTINGS_FILE, settings_toml
from kitbag_analysis import atomic
from kitbag_analysis.intake.rawfiles import BY_NAME, RAW_FILES
from kitbag_analysis.synthetic.generate import SETTINGS, SynthSpec, generate

# slug -> (raw id prefix, DfE LA number, postcode districts, trial lists' date format)
LA_RAW = {
    "bexley": ("BX", "303", ("DA5", "DA6", "DA7", "DA8", "DA14", "DA15", "DA16", "SE2"), "%d/%m/%Y"),
    "haringey": ("HG", "309", ("N4", "N8", "N10", "N15", "N17", "N22"), "%Y-%m-%d"),
    "oxfordshire": ("OX", "931", ("OX1", "OX2", "OX3", "OX4", "OX14", "OX16", "OX26"), "%d/%m/%Y"),
    "warwickshire": ("WK", "937", ("CV10", "CV11", "CV21", "CV31", "CV34", "CV37", "B78"), "%Y-%m-%d"),
}
DFE_DATE = "%d/%m/%Y"  # SSDA903 and the CIN census
FORENAMES = (
    *("Amelia", "Oliver", "Isla", "Noah", "Ava", "Muhammad", "Ivy", "Leo", "Freya", "Arthur", "Florence"),
    *("Theodore", "Willow", "Oscar", "Rosie", "Archie", "Sophia", "Jack", "Poppy", "Harry", "Maeve", "Kofi"),
    *("Ayesha", "Tomasz", "Zainab", "Dylan", "Chidi", "Mariam", "Kacper", "Nia", "Ruby", "Elijah", "Darcie"),
)
SURNAMES = (
    *("Okafor", "Kowalski", "Thompson", "Ahmed", "Walsh", "MacLeod", "Pritchard", "Osei", "Nowak", "Begum"),
    *("Fitzgerald", "Adeyemi", "Hargreaves", "Papadopoulos", "Yilmaz", "Chaudhry", "Llewellyn", "Mensah"),
    *("Sutcliffe", "Brennan", "Kaur", "Novak", "Whitfield", "Abubakar", "Rowntree", "Quigley", "Duffield"),
)
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters a postcode's inward code uses
UPN_CHECK = "ABCDEFGHJKLMNPQRTUVWXYZ"  # check letters of the DfE's UPN algorithm
EXTENDED = {"WBRI": ("WENG", "WSCO", "WWEL", "WOWB"), "BAFR": ("BNGN", "BSOM", "BGHA", "BAOF")}
REASON_PLACE_CHANGE = ("CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAREQ", "PLACE")
# Raw columns holding direct identifiers or raw ids: none of their values may reach the output.
IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "trial_children.csv": ("CHILD", "forename", "surname"),
    "header.csv": ("CHILD", "UPN", "DOB", "MC_DOB"),
    "episodes.csv": ("CHILD", "HOME_POST", "PL_POST", "URN"),
    "missing.csv": ("CHILD",),
    "referrals.csv": ("LAchildID",),
    "child_measures.csv": ("CHILD",),
    "trial_practitioners.csv": ("staff_id", "name", "email"),
    "absence.csv": ("staff_id",),
    "trial_carers.csv": ("carer_ref", "name", "postcode", "phone"),
    "consent.csv": ("participant_ref",),
}


class _Raw:
    """The raw files of one LA, made from its share of a synthetic study."""

    def __init__(self, slug: str, files: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
        self.slug, self.files, self.rng = slug, files, rng
        self.prefix, self.la_number, self.districts, self.date_format = LA_RAW[slug]
        self.raw_ids: dict[str, dict[str, str]] = {}

    # -- fake identifiers ----------------------------------------------------------------
    def _ids(self, kind: str, pseudonyms: np.ndarray, letter: str, digits: int) -> pd.Series:
        """A raw id of the LA's systems for each pseudonym (unique, not in order)."""
        known = self.raw_ids.setdefault(kind, {})
        new = [p for p in pd.unique(pseudonyms) if p not in known]
        taken = np.array([int(v[len(self.prefix) + len(letter) :]) for v in known.values()], dtype=np.int64)
        pool = pd.unique(self.rng.integers(0, 10**digits, size=2 * len(new) + 16))
        pool = pool[~np.isin(pool, taken)]
        known.update({p: f"{self.prefix}{letter}{int(n):0{digits}d}" for p, n in zip(new, pool, strict=False)})
        return pd.Series(pseudonyms).map(known)

    def _names(self, n: int) -> np.ndarray:
        first, last = self.rng.choice(FORENAMES, n), self.rng.choice(SURNAMES, n)
        return np.char.add(np.char.add(first.astype(str), " "), last.astype(str))

    def _postcodes(self, n: int) -> np.ndarray:
        district = self.rng.choice(self.districts, n).astype(str)
        digit = self.rng.integers(1, 10, n).astype(str)
        letters = self.rng.choice(list(INWARD_LETTERS), (n, 2))
        return np.char.add(np.char.add(np.char.add(district, " "), digit), np.char.add(letters[:, 0], letters[:, 1]))

    def _upns(self, n: int) -> np.ndarray:
        """UPNs: check letter, DfE LA number, school number, year and serial (12 digits)."""
        school = self.rng.integers(2000, 7000, n)
        year = self.rng.integers(5, 22, n)
        serial = self.rng.choice(1000, n)
        number = int(self.la_number) * 10**9 + school * 10**5 + year * 10**3 + serial
        matrix = (number[:, None] // 10 ** np.arange(11, -1, -1)) % 10
        check = (matrix * np.arange(2, 14)).sum(axis=1) % 23
        digits = np.char.zfill(number.astype(str), 12)
        return np.char.add(np.array(list(UPN_CHECK))[check], digits) if n else digits

    def _dates(self, iso: pd.Series, fmt: str) -> pd.Series:
        return pd.to_datetime(iso).dt.strftime(fmt).where(iso.notna(), "")

    # -- files ---------------------------------------------------------------------------
    def build(self) -> dict[str, pd.DataFrame]:
        f = self.files
        kids = f["children"]
        child = self._ids("child", kids["child_id"].to_numpy(), "", 7)
        names = pd.Series(self._names(len(kids))).str.split(" ", n=1, expand=True)
        raw: dict[str, pd.DataFrame] = {}
        raw["trial_children.csv"] = pd.DataFrame(
            {
                "CHILD": child,
                "forename": names[0],
                "surname": names[1],
                "team_id": kids["team_id"].to_numpy(),
                "enrolled_on": self._dates(kids["enrolled_on"].reset_index(drop=True), self.date_format),
                "disability": kids["disability"].to_numpy(),
                "uasc": kids["uasc"].to_numpy(),
                "legal_status": kids["legal_status"].to_numpy(),
                "allocated_worker": self._names(len(kids)),
            }
        )
        non_trial = self._non_trial(kids)  # also remembers whose rows they copy (self._source)
        raw["header.csv"] = pd.concat([self._header(kids, child), self._header(*non_trial)], ignore_index=True)
        raw["episodes.csv"] = self._episodes(f["placements"])
        raw["missing.csv"] = self._by_child(
            f["missing_episodes"],
            "CHILD",
            {"MISSING": "missing_type", "MIS_START": "missing_start", "MIS_END": "missing_end"},
        )
        raw["referrals.csv"] = self._by_child(f["referrals"], "LAchildID", {"CINreferralDate": "referral_date"})
        measures = f["child_measures"].reset_index(drop=True)
        raw["child_measures.csv"] = pd.concat(
            [
                pd.DataFrame({"CHILD": self._ids("child", measures["child_id"].to_numpy(), "", 7)}),
                measures.drop(columns="child_id").assign(
                    assessed_on=self._dates(measures["assessed_on"], self.date_format)
                ),
            ],
            axis=1,
        )
        teams = f["teams"].reset_index(drop=True)
        raw["teams.csv"] = teams.assign(randomised_on=self._dates(teams["randomised_on"], self.date_format))
        raw.update(self._staff_and_carers())
        raw["consent.csv"] = self._consent(f["consent"].reset_index(drop=True))
        return {spec.name: raw[spec.name] for spec in RAW_FILES}

    def _non_trial(self, kids: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        """Looked-after children not on the trial list: a sixth as many, copied from trial children."""
        looked_after = kids[kids["child_id"].isin(self.files["placements"]["child_id"])]
        n = min(len(looked_after), max(len(kids) // 6, 1))
        chosen = looked_after.sample(n=n, random_state=int(self.rng.integers(2**31))) if n else looked_after
        fresh = chosen.assign(child_id=[f"x{self.slug}{k}" for k in range(len(chosen))])
        self._source = dict(zip(fresh["child_id"], chosen["child_id"], strict=True))
        return fresh, self._ids("child", fresh["child_id"].to_numpy(), "", 7)

    def _header(self, kids: pd.DataFrame, child: pd.Series) -> pd.DataFrame:
        rng, n = self.rng, len(kids)
        month = pd.PeriodIndex(kids["birth_year_month"], freq="M")
        day = np.minimum(rng.integers(1, 32, n), month.days_in_month.to_numpy())
        dob = pd.to_datetime(month.to_timestamp()) + pd.to_timedelta(day - 1, unit="D")
        ethnic = kids["ethnicity"].to_numpy().astype(object)
        for main, extended in EXTENDED.items():
            swap = (ethnic == main) & (rng.random(n) < 0.3)
            ethnic[swap] = rng.choice(extended, swap.sum())
        sex = kids["gender"].map({"male": "1", "female": "2"}).fillna("").to_numpy()
        age = (pd.Timestamp(SETTINGS.final_collection) - dob).days / 365.25
        mother = np.where((sex == "2") & (age >= 13), np.where(rng.random(n) < 0.04, "1", "0"), "")
        mc_dob = np.where(mother == "1", (dob + pd.to_timedelta(age.to_numpy() * 300, unit="D")).strftime(DFE_DATE), "")
        return pd.DataFrame(
            {
                "CHILD": child.to_numpy(),
                "SEX": sex,
                "DOB": dob.strftime(DFE_DATE),
                "ETHNIC": ethnic,
                "UPN": self._upns(n),
                "MOTHER": mother,
                "MC_DOB": mc_dob,
            }
        )

    def _with_non_trial(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame``'s rows, then copies of the rows of children the non-trial ones were copied from."""
        pairs = pd.DataFrame({"child_id": list(self._source.values()), "copy": list(self._source)})
        copies = frame.merge(pairs, on="child_id").assign(child_id=lambda d: d["copy"]).drop(columns="copy")
        merged = pd.concat([frame, copies], ignore_index=True)
        return merged.assign(raw=self._ids("child", merged["child_id"].to_numpy(), "", 7).to_numpy())

    def _by_child(self, frame: pd.DataFrame, id_column: str, columns: dict[str, str]) -> pd.DataFrame:
        merged = self._with_non_trial(frame)
        out = pd.DataFrame({id_column: merged["raw"]})
        for raw_column, study_column in columns.items():
            col = merged[study_column]
            out[raw_column] = self._dates(col, DFE_DATE) if study_column.endswith(("start", "end", "date")) else col
        return out

    def _episodes(self, placements: pd.DataFrame) -> pd.DataFrame:
        rng = self.rng
        ep = self._with_non_trial(placements)
        n = len(ep)
        open_ = ep["episode_end"].isna().to_numpy()
        nxt = ep.groupby("child_id")["episode_start"].shift(-1)
        same_day = (nxt == ep["episode_end"]).to_numpy()
        moved = ep["reason_new_episode"].isin(["P", "T", "U", "B"]).to_numpy()
        rec = np.where(open_, "", np.where(same_day, "X1", rng.choice(["E11", "E12", "E13", "E4A", "E41", "E8"], n)))
        urn = np.where(rng.random(n) < 0.3, "XXXXXXX", np.char.add("SC", rng.integers(10**5, 10**6, n).astype(str)))
        return pd.DataFrame(
            {
                "CHILD": ep["raw"],
                "DECOM": self._dates(ep["episode_start"], DFE_DATE),
                "RNE": ep["reason_new_episode"],
                "LS": ep["legal_status"],
                "CIN": rng.choice([f"N{k}" for k in range(1, 9)], n),
                "PLACE": ep["placement_type"],
                "PLACE_PROVIDER": rng.choice(["PR0", "PR1", "PR2", "PR3", "PR4", "PR5"], n),
                "DEC": self._dates(ep["episode_end"], DFE_DATE),
                "REC": rec,
                "REASON_PLACE_CHANGE": np.where(moved, rng.choice(REASON_PLACE_CHANGE, n), ""),
                "HOME_POST": self._postcodes(n),
                "PL_POST": self._postcodes(n),
                "URN": urn,
            }
        )

    def _staff_and_carers(self) -> dict[str, pd.DataFrame]:
        f, n_staff = self.files, len(self.files["practitioners"])
        staff = f["practitioners"].reset_index(drop=True)
        names = self._names(n_staff)
        email = pd.Series(names).str.lower().str.replace(" ", ".") + f"@{self.slug}.gov.uk"
        absence = f["absence"].reset_index(drop=True)
        carers = f["carers"].reset_index(drop=True)
        phone = np.char.add("07700 9", self.rng.integers(10**4, 10**5, len(carers)).astype(str))
        return {
            "trial_practitioners.csv": pd.DataFrame(
                {
                    "staff_id": self._ids("practitioner", staff["practitioner_id"].to_numpy(), "S", 5),
                    "name": names,
                    "email": email,
                    "team_id": staff["team_id"],
                    "role": staff["role"],
                }
            ),
            "absence.csv": absence.drop(columns="practitioner_id").assign(
                staff_id=self._ids("practitioner", absence["practitioner_id"].to_numpy(), "S", 5)
            )[["staff_id", "month", "days_employed", "sickness_days"]],
            "trial_carers.csv": pd.DataFrame(
                {
                    "carer_ref": self._ids("carer", carers["carer_id"].to_numpy(), "F", 5),
                    "name": self._names(len(carers)),
                    "postcode": self._postcodes(len(carers)),
                    "phone": phone,
                    "team_id": carers["team_id"],
                    "carer_type": carers["carer_type"],
                    "gender": carers["gender"],
                    "years_experience": carers["years_experience"],
                }
            ),
        }

    def _consent(self, consent: pd.DataFrame) -> pd.DataFrame:
        ref = pd.Series(index=consent.index, dtype=object)
        letters = {"child": ("", 7), "practitioner": ("S", 5), "carer": ("F", 5)}
        for kind, (letter, digits) in letters.items():
            chosen = (consent["participant_type"] == kind).to_numpy()
            ref[chosen] = self._ids(kind, consent["participant_id"].to_numpy()[chosen], letter, digits).to_numpy()
        return pd.DataFrame(
            {
                "participant_ref": ref,
                "participant_type": consent["participant_type"],
                "status": consent["status"],
                "status_changed_on": self._dates(consent["status_changed_on"], self.date_format),
            }
        )


def split_by_authority(files: dict[str, pd.DataFrame]) -> dict[str, dict[str, pd.DataFrame]]:
    """A synthetic study's files cut into each LA's share (a register row of someone in no file
    goes to the LA picked by the pseudonym's last hex digit)."""
    teams = files["teams"]
    slugs = list(SETTINGS.local_authorities)
    out: dict[str, dict[str, pd.DataFrame]] = {}
    la_of_team = teams.set_index("team_id")["local_authority"]
    owner: dict[str, pd.Series] = {}
    for kind in BY_TYPE.values():
        people = files[kind.file]
        owner[kind.type] = pd.Series(people["team_id"].map(la_of_team).to_numpy(), index=people[kind.id_column])
    register = files["consent"]
    la_of_row = pd.Series(None, index=register.index, dtype=object)
    for kind, table in owner.items():
        chosen = register["participant_type"] == kind
        la_of_row[chosen] = register.loc[chosen, "participant_id"].map(table)
    fallback = register["participant_id"].str[-1].map(lambda h: slugs[int(h, 16) % len(slugs)])
    la_of_row = la_of_row.fillna(fallback)
    for slug in slugs:
        share: dict[str, pd.DataFrame] = {"teams": teams[teams["local_authority"] == slug]}
        for kind in BY_TYPE.values():
            mine = owner[kind.type][owner[kind.type] == slug].index
            for name in kind.files:
                share[name] = files[name][files[name][kind.id_column].isin(mine)]
        share["consent"] = register[la_of_row == slug]
        out[slug] = share
    return out


def raw_folders(spec: SynthSpec | None = None) -> dict[str, dict[str, pd.DataFrame]]:
    """Every LA's raw files (text-ready frames) for the synthetic study of ``spec``."""
    spec = spec or SynthSpec()
    files, _truth = generate(spec)
    rng = np.random.default_rng([spec.seed, 903])
    return {slug: _Raw(slug, share, rng).build() for slug, share in split_by_authority(files).items()}


def write_raw(out: str | Path, spec: SynthSpec | None = None) -> Path:
    """Write ``out/<slug>/`` for each LA: the raw files and the evaluators' study.toml."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UnusableInput(f"{out}: exists and is not an empty folder; choose a new one. Nothing was written.")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic.staging_dir(out, "raw") as staged:
        for slug, raw in raw_folders(spec).items():
            (staged / slug).mkdir()
            for name, frame in raw.items():
                assert name in BY_NAME
                frame.to_csv(staged / slug / name, index=False, lineterminator="\n")
            (staged / slug / SETTINGS_FILE).write_text(settings_toml(SETTINGS), encoding="utf-8")
        if out.exists():
            out.rmdir()
        atomic.publish_dir(staged, out)
    return out
