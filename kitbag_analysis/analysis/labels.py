"""Plain-English names for the codes of study-data.md and analysis-plan.md, declared once.

Pages show these; the code names stay in results.json, release.json and the methods' glossary.
"""

from __future__ import annotations

from data_contracts.participants import BY_POPULATION
from data_contracts.settings import MERGED
from kitbag_analysis.analysis import names
from kitbag_analysis.analysis.outcomes import OUTCOME_BY_NAME

POPULATIONS = {p.population: p.label for p in BY_POPULATION.values()}

# characteristic -> level code -> label; a characteristic's own label under ""
LEVELS: dict[str, dict[str, str]] = {
    "gender": {"": "Gender", "female": "Female", "male": "Male", "other": "Other", "not_recorded": "Not recorded"},
    "ethnicity": {"": "Ethnic group"},
    "disability": {"": "Disability", "yes": "Yes", "no": "No", "not_recorded": "Not recorded"},
    "uasc": {"": "Unaccompanied asylum-seeking child", "yes": "Yes", "no": "No"},
    "legal_status": {
        "": "Legal status",
        "cin": "Child in need",
        "cp": "Child protection plan",
        "cla": "Looked after",
        "care_leaver": "Care leaver",
    },
    "age band": {"": "Age (years)"},
    "role": {"": "Role", "social_worker": "Social worker", "family_support_worker": "Family support worker"},
    "carer_type": {"": "Carer type", "foster": "Foster carer", "kinship": "Kinship carer"},
    "kitbag_use": {
        "": "Use of Kitbags",
        "never": "Never",
        "rarely": "Rarely",
        "sometimes": "Sometimes",
        "often": "Often",
        "not_asked": "Not asked",
        "answered": "Answered at follow-up (total)",
    },
}

SCORES = {
    "sdq_total": "SDQ total difficulties",
    "cries8_total": "CRIES-8 trauma symptoms",
    "gse_total": "General self-efficacy (GSE)",
    "pss10_total": "Perceived stress (PSS-10)",
}

STAGES = {
    names.TEAMS_RANDOMISED: "Teams randomised",
    names.ENROLLED: "Enrolled",
    names.EXCLUDED: "Excluded (withdrew, objected or restricted)",
    names.INCLUDED: "Included",
    names.WITH_BASELINE: "With a baseline measure",
    names.WITH_FOLLOWUP: "With a follow-up measure",
}

MODELS = {
    "mixedlm": "Linear mixed model (team random intercept, REML)",
    "ols_cluster_robust": "Linear regression, bias-reduced team-clustered SEs",
    "poisson_glm_cluster": "Poisson regression, bias-reduced team-clustered SEs",
    "logistic_glm_cluster": "Logistic regression, bias-reduced team-clustered SEs",
}

WAVES = {"baseline": "Baseline", "followup": "Follow-up"}


def population_label(population: str) -> str:
    return POPULATIONS.get(population, population)


def outcome_label(outcome: str) -> str:
    found = OUTCOME_BY_NAME.get(outcome)
    return found.label if found else outcome


def stage_label(stage: str) -> str:
    if stage.startswith(names.ANALYSED_PREFIX):
        return f"Analysed: {outcome_label(stage.removeprefix(names.ANALYSED_PREFIX))}"
    return STAGES.get(stage, stage)


def level_label(characteristic: str, level: str) -> str:
    """``Characteristic: level`` in words (a baseline score reads as the score's name)."""
    if characteristic.startswith("baseline "):
        score = characteristic.removeprefix("baseline ")
        return f"Baseline {SCORES.get(score, score)}"
    names = LEVELS.get(characteristic, {})
    head = names.get("", characteristic)
    if MERGED in level:  # a merged category (`[disclosure] merge`): its members' names
        return f"{head}: {' or '.join(names.get(code, code) for code in level.split(MERGED))}"
    return f"{head}: {names.get(level, level)}" if level else head


def subgroup_level_label(column: str, level: str) -> str:
    """A subgroup level in words: the column's own label for the level, else the code capitalised."""
    return LEVELS.get(column, {}).get(level, level.capitalize())


def model_label(model: str | None) -> str:
    return MODELS.get(model or "", model or "")


def score_label(score: str) -> str:
    return SCORES.get(score, score)


def wave_label(wave: str) -> str:
    return WAVES.get(wave, wave)


__all__ = [
    "level_label",
    "model_label",
    "outcome_label",
    "population_label",
    "score_label",
    "stage_label",
    "subgroup_level_label",
]
