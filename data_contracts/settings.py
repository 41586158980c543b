"""study.toml: the study's settings, read with tomllib and checked field by field."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.errors import Finding, UnusableInput
from data_contracts.guards import contains_identifier
from data_contracts.schemas import CARER_TYPES, CHILD_LEGAL_STATUS, DISABILITY, GENDERS, LA_SLUG, ROLES, YES_NO

SETTINGS_FILE = "study.toml"
FOLLOWUP_DAYS = (1, 3650)  # a follow-up window of a day to ten years
SDC_THRESHOLD = (3, 1000)  # below 3, disclosure control would be switched off
FOLDER_SETTINGS_HELP = (
    "Fill each CSV (UTF-8, header row kept, one row per record as the dictionary below says), set "
    "study.toml, then run `kitbag validate FOLDER`: it names every file, column and row that breaks a "
    "rule and never prints a value. Never add names, addresses, full dates of birth, NHS numbers or UPNs."
)
RANGE_WHY = {
    "followup_days": "the follow-up window in days: at most ten years",
    "sdc_threshold": "the smallest publishable count: below 3 disclosure control is off",
}


RETENTION_DATES = {  # the optional [retention] table: each key starts a clock of `kitbag retention`
    "transcripts_delivered": "interview transcripts' delivery by the vendor (recordings deleted 7 days after)",
    "prize_draw_closes": "the survey prize draw's closing date (the email list is deleted once drawn)",
}


@dataclass(frozen=True)
class Retention:
    """study.toml's optional [retention] table (study-data.md): dates that start retention clocks."""

    transcripts_delivered: dt.date | None = None
    prize_draw_closes: dt.date | None = None


# The optional [progression] table (study-data.md; analysis-plan.md §8): each criterion's default
# thresholds and whether lower is better (contamination: green at or below `green`).
PROGRESSION_DEFAULTS: dict[str, tuple[float, float]] = {
    "uptake_practitioners": (0.60, 0.40),
    "uptake_carers": (0.50, 0.30),
    "contamination": (0.10, 0.20),
    "baseline_completeness": (0.80, 0.60),
    "followup_completeness": (0.70, 0.50),
    "recruitment": (1.00, 0.75),
}
LOWER_IS_BETTER = frozenset({"contamination"})
IMPACT_EVALUATION = ("planned", "removed", "stopped")  # analysis-plan.md §9


@dataclass(frozen=True)
class Criterion:
    """A progression criterion's thresholds: green at or above ``green``, amber at or above
    ``amber``, else red (reversed when ``lower_is_better``)."""

    green: float
    amber: float
    lower_is_better: bool = False

    def rate(self, share: float) -> str:
        """green / amber / red for ``share``."""
        if self.lower_is_better:
            return "green" if share <= self.green else "amber" if share <= self.amber else "red"
        return "green" if share >= self.green else "amber" if share >= self.amber else "red"


@dataclass(frozen=True)
class Progression:
    """study.toml's optional [progression] table: the pre-registered stop/go criteria and the
    children to enrol per LA slug (recruitment is rated only where a target is given)."""

    criteria: dict[str, Criterion] = field(
        default_factory=lambda: {
            name: Criterion(g, a, name in LOWER_IS_BETTER) for name, (g, a) in PROGRESSION_DEFAULTS.items()
        }
    )
    recruitment_target: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ImpactEvaluation:
    """[study] impact_evaluation (planned | removed | stopped), with the reason and the date of the
    decision (required unless planned; analysis-plan.md §9)."""

    status: str = "planned"
    reason: str = ""
    decided_on: dt.date | None = None

    @property
    def done(self) -> bool:
        """Whether the impact analysis (§4 models, §7 statistics) is carried out."""
        return self.status == "planned"


# The optional [disclosure] table (study-data.md; analysis-plan.md §6.2): the disclosure policy.
DISCLOSURE_CHOICES: dict[str, tuple[str, ...]] = {
    "zeros": ("safe", "disclosive"),  # safe: a zero counts no one; disclosive: ACRO's zeros_are_disclosive
    "flow": ("exact", "protected"),  # exact: the trial-process counts are published exactly
}
# Characteristics whose categories `merge` may join (global recoding), with their codes.
MERGEABLE: dict[str, tuple[str, ...]] = {
    "gender": tuple(GENDERS),
    "disability": tuple(DISABILITY),
    "uasc": tuple(YES_NO),
    "legal_status": tuple(CHILD_LEGAL_STATUS),
    "role": tuple(ROLES),
    "carer_type": tuple(CARER_TYPES),
}
TIME_LIMIT_SECONDS = (1, 3600)  # the suppression programme's time limit: a second to an hour
MERGED = "+"  # a merged category's code joins its members' codes: "other+not_recorded"


@dataclass(frozen=True)
class Disclosure:
    """study.toml's optional [disclosure] table: how zeros and the trial-process counts are
    treated, the categories merged in every unit, and the suppression programme's time limit."""

    zeros: str = "safe"
    flow: str = "exact"
    merge: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (characteristic, members) per merged category
    time_limit_seconds: int = 60

    @property
    def zeros_safe(self) -> bool:
        return self.zeros == "safe"

    @property
    def flow_exact(self) -> bool:
        return self.flow == "exact"

    def recode(self, characteristic: str) -> dict[str, str]:
        """code -> merged code for ``characteristic`` (empty when nothing of it is merged)."""
        return {
            code: MERGED.join(members) for name, members in self.merge if name == characteristic for code in members
        }

    def to_json(self) -> dict[str, object]:
        return {
            "zeros": self.zeros,
            "flow": self.flow,
            "merge": {name: [list(m) for n, m in self.merge if n == name] for name, _ in self.merge},
            "time_limit_seconds": self.time_limit_seconds,
        }


# The optional [trial] table (study-data.md; outputs.md, "The trial's reporting checklist"): the
# authors' words for the CONSORT 2025 items only they can fill, each key optional, each a string.
TRIAL_KEYS: dict[str, str] = {
    "registration": "trial registry, identifying number (with URL) and date of registration",
    "protocol": "where the trial protocol and statistical analysis plan can be accessed",
    "data_sharing": "where and how the de-identified data, code and other materials can be accessed",
    "funding": "sources of funding and other support, and the funders' role",
    "conflicts": "financial and other conflicts of interest of the authors",
    "eligibility_participants": "eligibility criteria for participants",
    "eligibility_clusters": "eligibility criteria for clusters (teams) and for those delivering the intervention",
    "consent": "from whom consent was sought (cluster, individuals or both), before or after randomisation",
    "sequence_generation": "who generated the allocation sequence, and how",
    "allocation_concealment": "how the allocation was concealed until teams were assigned",
    "blinding": "who was blinded after assignment, and how",
    "harms": "how harms were defined and assessed",
    "public_involvement": "patient and public involvement in the design, conduct and reporting",
}


@dataclass(frozen=True)
class Trial:
    """study.toml's optional [trial] table: the authors' text per `TRIAL_KEYS` key (absent: '')."""

    text: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        """The authors' text for ``key`` ('' when left out)."""
        if key not in TRIAL_KEYS:
            raise KeyError(key)
        return self.text.get(key, "")


@dataclass(frozen=True)
class StudySettings:
    """The [study] table and the local authorities of study.toml."""

    name: str
    analysis_phase_start: dt.date
    final_collection: dt.date
    followup_days: int
    sdc_threshold: int
    local_authorities: dict[str, str]  # slug -> display name, in file order
    retention: Retention = Retention()
    progression: Progression = Progression()
    impact: ImpactEvaluation = ImpactEvaluation()
    disclosure: Disclosure = Disclosure()


    trial: Trial = Trial()


def _bad(path: Path, what: str) -> UnusableInput:
    return UnusableInput(f"{path}: {what} See `kitbag docs` for the study.toml format.")


def _inconsistent(path: Path, what: str) -> Finding:
    """Well-formed settings that contradict each other (a finding, exit 1)."""
    return Finding(f"{path}: {what} See `kitbag docs` for the study.toml format.")


def read_settings(study_dir: Path) -> StudySettings:
    """Read and check ``study_dir/study.toml``; raise `UnusableInput` naming the problem."""
    path = Path(study_dir) / SETTINGS_FILE
    if not path.is_file():
        raise _bad(path, "the study settings file is missing.")
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _bad(path, f"is not UTF-8 text (byte {exc.start}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise _bad(path, f"is not valid TOML ({exc}).") from None

    study = data.get("study")
    if not isinstance(study, dict):
        raise _bad(path, "has no [study] table.")
    las = data.get("local_authorities")
    if not isinstance(las, dict) or not las:
        raise _bad(path, "has no [local_authorities] table (slug = display name).")
    for number, (slug, display) in enumerate(las.items(), start=1):
        if not re.match(LA_SLUG, slug) or slug == "all" or not isinstance(display, str):
            raise _bad(
                path,
                f"[local_authorities] entry {number} must be a lower-case slug (letters, digits, - or _; not "
                "'all') = a quoted display name (the key is not repeated here).",
            )

    def field(key: str, kind: type, default: object = None, limits: tuple[int, int] | None = None) -> object:
        value = study.get(key, default)
        if value is None:
            raise _bad(path, f"[study] is missing `{key}`.")
        if kind is dt.date:
            ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        else:
            ok = isinstance(value, kind)
        if not ok:
            want = {dt.date: "a date (YYYY-MM-DD, unquoted)", int: "a positive whole number", str: "a quoted string"}[
                kind
            ]
            raise _bad(path, f"[study] `{key}` must be {want}.")
        if limits and not limits[0] <= value <= limits[1]:
            raise _bad(path, f"[study] `{key}` must be between {limits[0]} and {limits[1]} ({RANGE_WHY[key]}).")
        return value

    las = dict(las)
    return StudySettings(
        retention=_retention(path, data.get("retention", {})),
        progression=_progression(path, data.get("progression", {}), las),
        impact=_impact(path, study),
        disclosure=_disclosure(path, data.get("disclosure", {})),


        trial=_trial(path, data.get("trial", {})),
        name=field("name", str),
        analysis_phase_start=field("analysis_phase_start", dt.date),
        final_collection=field("final_collection", dt.date),
        followup_days=field("followup_days", int, 365, FOLLOWUP_DAYS),
        sdc_threshold=field("sdc_threshold", int, 10, SDC_THRESHOLD),
        local_authorities=las,
    )


def _retention(path: Path, table: object) -> Retention:
    """The optional [retention] table: only its known keys, each an unquoted date."""
    if not isinstance(table, dict):
        raise _bad(path, "`retention` must be a table ([retention]) of dates.")
    for number, key in enumerate(table, start=1):
        if key not in RETENTION_DATES:
            known = ", ".join(f"`{k}`" for k in RETENTION_DATES)
            raise _bad(path, f"[retention] entry {number} is not one of its keys ({known}).")
    for key, value in table.items():
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise _bad(path, f"[retention] `{key}` must be a date (YYYY-MM-DD, unquoted): {RETENTION_DATES[key]}.")
    return Retention(**table)


def _trial(path: Path, table: object) -> Trial:
    """The optional [trial] table: only its known keys, each a quoted string that passes the
    identifier guards (an email, a postcode, an NHS-number or UPN shape is refused naming the
    key, never the value: this text leaves in every report bundle)."""
    if not isinstance(table, dict):
        raise _bad(path, "`trial` must be a table ([trial]) of quoted strings.")
    for number, (key, value) in enumerate(table.items(), start=1):
        if key not in TRIAL_KEYS:  # named by position: an unknown key is never echoed
            known = ", ".join(f"`{k}`" for k in TRIAL_KEYS)
            raise _bad(path, f"[trial] entry {number} is not one of its keys ({known}).")
        if not isinstance(value, str):
            raise _bad(path, f"[trial] `{key}` must be a quoted string: {TRIAL_KEYS[key]}.")
        if contains_identifier(value):
            raise _inconsistent(
                path,
                f"[trial] `{key}` holds what looks like an identifier (an email address, a UK postcode, an "
                "NHS-number or UPN shape); it is not shown here. Remove it: this text is published in the "
                "trial's reporting checklist.",
            )
    return Trial({k: v.strip() for k, v in table.items() if v.strip()})


def _share(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1.5


def _progression(path: Path, table: object, las: dict[str, str]) -> Progression:
    """The optional [progression] table: known criteria, each ``{ green = x, amber = y }`` with
    ``amber`` never better than ``green``; recruitment targets only for known LA slugs."""
    if not isinstance(table, dict):
        raise _bad(path, "`progression` must be a table ([progression]).")
    criteria = dict(Progression().criteria)
    for number, (key, value) in enumerate(table.items(), start=1):
        if key == "recruitment_target":
            continue
        if key not in PROGRESSION_DEFAULTS:  # named by position: an unknown key is never echoed
            known = ", ".join(f"`{k}`" for k in [*PROGRESSION_DEFAULTS, "recruitment_target"])
            raise _bad(path, f"[progression] entry {number} is not one of its keys ({known}).")
        if not isinstance(value, dict) or set(value) != {"green", "amber"} or not all(map(_share, value.values())):
            raise _bad(path, f"[progression] `{key}` must be {{ green = <share>, amber = <share> }} (shares 0 to 1).")
        lower = key in LOWER_IS_BETTER
        green, amber = float(value["green"]), float(value["amber"])
        if (amber < green) if lower else (amber > green):
            better = "lower" if lower else "higher"
            raise _inconsistent(
                path,
                f"[progression] `{key}`: `amber` ({amber:g}) is better than `green` ({green:g}); for this "
                f"criterion {better} is better, so amber must be {'at or above' if lower else 'at or below'} green.",
            )
        criteria[key] = Criterion(green, amber, lower)
    targets = table.get("recruitment_target", {})
    if not isinstance(targets, dict):
        raise _bad(path, "[progression] `recruitment_target` must be a table ([progression.recruitment_target]).")
    for number, (slug, target) in enumerate(targets.items(), start=1):
        if slug not in las:  # named by position: an unknown slug is never echoed
            raise _inconsistent(
                path,
                f"[progression.recruitment_target] entry {number} is not a local authority slug of "
                "[local_authorities].",
            )
        if not isinstance(target, int) or isinstance(target, bool) or target < 1:
            raise _bad(path, f"[progression.recruitment_target] `{slug}` must be a positive whole number of children.")
    return Progression(criteria, dict(targets))


def _disclosure(path: Path, table: object) -> Disclosure:
    """The optional [disclosure] table: `zeros`, `flow` (each one of its choices), `merge` (per
    mergeable characteristic, lists of two or more of its codes, each code in one list at most) and
    `time_limit_seconds`. Unknown keys are refused, named by position (never echoed)."""
    if not isinstance(table, dict):
        raise _bad(path, "`disclosure` must be a table ([disclosure]).")
    known = [*DISCLOSURE_CHOICES, "merge", "time_limit_seconds"]
    for number, key in enumerate(table, start=1):
        if key not in known:
            names = ", ".join(f"`{k}`" for k in known)
            raise _bad(path, f"[disclosure] entry {number} is not one of its keys ({names}).")
    choices = {}
    for key, allowed in DISCLOSURE_CHOICES.items():
        value = table.get(key, allowed[0])
        if value not in allowed:
            raise _bad(path, f"[disclosure] `{key}` must be one of {', '.join(repr(a) for a in allowed)}.")
        choices[key] = value
    limit = table.get("time_limit_seconds", Disclosure.time_limit_seconds)
    lo, hi = TIME_LIMIT_SECONDS
    if not isinstance(limit, int) or isinstance(limit, bool) or not lo <= limit <= hi:
        raise _bad(path, f"[disclosure] `time_limit_seconds` must be a whole number of seconds from {lo} to {hi}.")
    return Disclosure(**choices, merge=_merge(path, table.get("merge", {})), time_limit_seconds=limit)


def _merge(path: Path, table: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """[disclosure] `merge = { characteristic = [["code", "code"], ...] }`."""
    if not isinstance(table, dict):
        raise _bad(path, "[disclosure] `merge` must be a table: { characteristic = [[code, code], ...] }.")
    merged = []
    for number, (name, groups) in enumerate(table.items(), start=1):
        if name not in MERGEABLE:
            raise _bad(
                path,
                f"[disclosure] `merge` entry {number} is not a characteristic that can be merged "
                f"({', '.join(f'`{k}`' for k in MERGEABLE)}).",
            )
        codes = MERGEABLE[name]
        ok = isinstance(groups, list) and all(
            isinstance(g, list) and len(g) >= 2 and all(isinstance(c, str) and c in codes for c in g) for g in groups
        )
        members = [c for g in groups for c in g] if ok else []
        if not ok or len(members) != len(set(members)) or len(set(members)) == len(codes) and len(groups) == 1:
            raise _bad(
                path,
                f"[disclosure] `merge` `{name}` must be a list of lists, each of two or more of its codes "
                f"({', '.join(codes)}), each code in one list at most, not all of them in one.",
            )
        merged += [(name, tuple(g)) for g in groups]
    return tuple(merged)


def _impact(path: Path, study: dict) -> ImpactEvaluation:
    """[study] impact_evaluation with its reason and date: both required unless ``planned``."""
    status = study.get("impact_evaluation", "planned")
    reason = study.get("impact_evaluation_reason", "")
    decided = study.get("impact_evaluation_decided_on")
    if status not in IMPACT_EVALUATION:
        raise _bad(path, f"[study] `impact_evaluation` must be one of {', '.join(IMPACT_EVALUATION)}.")
    if not isinstance(reason, str):
        raise _bad(path, "[study] `impact_evaluation_reason` must be a quoted string.")
    if decided is not None and (not isinstance(decided, dt.date) or isinstance(decided, dt.datetime)):
        raise _bad(path, "[study] `impact_evaluation_decided_on` must be a date (YYYY-MM-DD, unquoted).")
    if status != "planned":
        if not reason.strip():
            raise _inconsistent(
                path,
                f'[study] `impact_evaluation` is "{status}" but `impact_evaluation_reason` is missing or empty; '
                "every report states why (analysis-plan.md §9).",
            )
        if decided is None:
            raise _inconsistent(
                path,
                f'[study] `impact_evaluation` is "{status}" but `impact_evaluation_decided_on` (the date of the '
                "decision) is missing.",
            )
    return ImpactEvaluation(status, reason.strip(), decided)


def settings_toml(settings: StudySettings) -> str:
    """Render settings back to study.toml text (used by `kitbag synth` and the archive)."""
    import tomli_w

    return tomli_w.dumps(
        {
            "study": {
                "name": settings.name,
                "analysis_phase_start": settings.analysis_phase_start,
                "final_collection": settings.final_collection,
                "followup_days": settings.followup_days,
                "sdc_threshold": settings.sdc_threshold,
                **_impact_toml(settings.impact),
            },
            "local_authorities": dict(settings.local_authorities),
            **({"retention": retention} if (retention := _set(settings.retention)) else {}),
            **({"progression": progression} if (progression := _progression_toml(settings.progression)) else {}),
            **({"disclosure": disclosure} if (disclosure := _disclosure_toml(settings.disclosure)) else {}),
            **({"trial": dict(settings.trial.text)} if settings.trial.text else {}),
        }
    )


def _impact_toml(impact: ImpactEvaluation) -> dict[str, object]:
    if impact.done:
        return {}
    return {
        "impact_evaluation": impact.status,
        "impact_evaluation_reason": impact.reason,
        "impact_evaluation_decided_on": impact.decided_on,
    }


def _progression_toml(progression: Progression) -> dict[str, object]:
    """Only what differs from the defaults (so a default study's study.toml is unchanged)."""
    defaults = Progression().criteria
    out: dict[str, object] = {
        name: {"green": c.green, "amber": c.amber} for name, c in progression.criteria.items() if c != defaults[name]
    }
    if progression.recruitment_target:
        out["recruitment_target"] = dict(progression.recruitment_target)
    return out


def _disclosure_toml(disclosure: Disclosure) -> dict[str, object]:
    """Only what differs from the defaults (so a default study's study.toml is unchanged)."""
    default = Disclosure()
    out: dict[str, object] = {
        key: getattr(disclosure, key)
        for key in (*DISCLOSURE_CHOICES, "time_limit_seconds")
        if getattr(disclosure, key) != getattr(default, key)
    }
    if disclosure.merge:
        out["merge"] = disclosure.to_json()["merge"]
    return out


def _set(retention: Retention) -> dict[str, dt.date]:
    return {k: v for k, v in vars(retention).items() if v is not None}
