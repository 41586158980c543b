"""The trial's reporting checklist (outputs.md, "The trial's reporting checklist"): CONSORT 2025
(Hopewell et al., 2025) with the additions of the 2012 extension for cluster randomised trials
(Campbell et al., BMJ 2012;345:e5661), declared once as data (`ITEMS`), and filled for one
release: each item ``reported`` (from the release, with a link to its section of report.html and
the cells it shows, as printed), ``from study.toml`` (the authors' `[trial]` text), ``to write``
(what only the authors can say) or, where the impact evaluation was removed or stopped
(analysis-plan.md §9), ``not done``.

Every number the checklist shows is a `Cell` of the unit's `Release`: nothing new leaves, so
disclosure control, release.json, the audit and the ledger cover it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from data_contracts.settings import PROGRESSION_DEFAULTS, StudySettings
from kitbag_analysis.analysis.labels import outcome_label, population_label, stage_label
from kitbag_analysis.analysis.models import ICC_FLOOR, MIN_PARTICIPANTS_PER_ARM, MIN_TEAMS_PER_ARM
from kitbag_analysis.analysis.names import (
    ANALYSED_PREFIX,
    ARMS,
    BASELINE,
    COMPLIANCE,
    EFFECTIVENESS,
    ENROLLED,
    EXCLUDED,
    FLOW,
    INCLUDED,
    MISSING_DATA,
    SUBGROUPS_TABLE,
    TEAM_FLOW,
    TEAMS_RANDOMISED,
    UPTAKE,
    WHATWORKS,
    WITH_FOLLOWUP,
    analysed_stage,
)
from kitbag_analysis.analysis.outcomes import OUTCOMES, SUBGROUPS
from kitbag_analysis.analysis.whatworks import compliance, missing_data, outcome_stats, randomisation
from kitbag_analysis.sdc.cells import Cell, Release, Shown, Table

REPORTED, FROM_STUDY_TOML, TO_WRITE, NOT_DONE = "reported", "from study.toml", "to write", "not done"
STATUSES = (REPORTED, FROM_STUDY_TOML, TO_WRITE, NOT_DONE)
DESIGN = "a cluster randomised trial"  # the design as the report's title names it (cluster extension 1a)
STATEMENT = (
    "CONSORT 2025 (Hopewell et al., 2025) with the extension for cluster randomised trials "
    "(Campbell et al., BMJ 2012;345:e5661)"
)
REPORT_PAGE, ABSTRACT_PAGE = "report.html", "abstract.html"


@dataclass(frozen=True)
class Item:
    """One numbered item of CONSORT 2025: its section, topic and wording, the cluster extension's
    addition (if any), and what fills it: ``fill`` (a filler of this module, from the release),
    ``trial`` (a `[trial]` key of study.toml) or neither (the authors write it). ``impact``: the
    item rests on the impact analysis (§4, §7), not done where the evaluation was removed."""

    number: str
    section: str
    topic: str
    text: str
    cluster: str = ""
    fill: str = ""
    trial: str = ""
    impact: bool = False


ITEMS: tuple[Item, ...] = (
    Item(
        "1a",
        "Title and abstract",
        "Title and structured abstract",
        "Identification as a randomised trial",
        "Identification as a cluster randomised trial in the title",
        fill="title",
    ),
    Item(
        "1b",
        "Title and abstract",
        "Title and structured abstract",
        "Structured summary of the trial design, methods, results, and conclusions",
        "The abstract as the extension for cluster trials asks (clusters and participants)",
        fill="abstract",
    ),
    Item(
        "2",
        "Open science",
        "Trial registration",
        "Name of trial registry, identifying number (with URL) and date of registration",
        trial="registration",
    ),
    Item(
        "3",
        "Open science",
        "Protocol and statistical analysis plan",
        "Where the trial protocol and statistical analysis plan can be accessed",
        trial="protocol",
    ),
    Item(
        "4",
        "Open science",
        "Data sharing",
        "Where and how the individual de-identified participant data (including data dictionary), statistical "
        "code and any other materials can be accessed",
        trial="data_sharing",
    ),
    Item(
        "5a",
        "Open science",
        "Funding and conflicts of interest",
        "Sources of funding and other support (eg, supply of drugs), and role of funders in the design, conduct, "
        "analysis and reporting of the trial",
        trial="funding",
    ),
    Item(
        "5b",
        "Open science",
        "Funding and conflicts of interest",
        "Financial and other conflicts of interest of the manuscript authors",
        trial="conflicts",
    ),
    Item(
        "6",
        "Introduction",
        "Background and rationale",
        "Scientific background and rationale",
        "Rationale for using a cluster design",
    ),
    Item(
        "7",
        "Introduction",
        "Objectives",
        "Specific objectives related to benefits and harms",
        "Whether objectives pertain to the cluster level, the individual participant level or both",
    ),
    Item(
        "8",
        "Methods",
        "Patient and public involvement",
        "Details of patient or public involvement in the design, conduct and reporting of the trial",
        trial="public_involvement",
    ),
    Item(
        "9",
        "Methods",
        "Trial design",
        "Description of trial design including type of trial (eg, parallel group, crossover), allocation ratio, "
        "and framework (eg, superiority, equivalence, non-inferiority, exploratory)",
        "Definition of cluster and description of how the design features apply to the clusters",
        fill="design",
    ),
    Item(
        "10",
        "Methods",
        "Changes to trial protocol",
        "Important changes to the trial after it commenced including any outcomes or analyses that were not "
        "prespecified, with reason",
        fill="changes",
    ),
    Item(
        "11",
        "Methods",
        "Trial setting",
        "Settings (eg, community, hospital) and locations (eg, countries, sites) where the trial was conducted",
        fill="setting",
    ),
    Item(
        "12a",
        "Methods",
        "Eligibility criteria",
        "Eligibility criteria for participants",
        trial="eligibility_participants",
    ),
    Item(
        "12b",
        "Methods",
        "Eligibility criteria",
        "If applicable, eligibility criteria for sites and for individuals delivering the interventions "
        "(eg, surgeons, physiotherapists)",
        "Eligibility criteria for clusters",
        trial="eligibility_clusters",
    ),
    Item(
        "13",
        "Methods",
        "Intervention and comparator",
        "Intervention and comparator with sufficient details to allow replication, including how and when they "
        "were administered",
        "Whether interventions pertain to the cluster level, the individual participant level or both",
    ),
    Item(
        "14",
        "Methods",
        "Outcomes",
        "Prespecified primary and secondary outcomes, including the specific measurement variable, analysis "
        "metric, method of aggregation, and time point for each outcome",
        "Whether outcome measures pertain to the cluster level, the individual participant level or both",
        fill="outcomes",
    ),
    Item(
        "15",
        "Methods",
        "Harms",
        "How harms were defined and assessed (eg, systematically, non-systematically)",
        trial="harms",
    ),
    Item(
        "16a",
        "Methods",
        "Sample size",
        "How sample size was determined, including all assumptions supporting the sample size calculation",
        "Method of calculation, number of clusters, cluster size, a coefficient of intracluster correlation (ICC "
        "or k) and an indication of its uncertainty",
        fill="sample_size",
        impact=True,
    ),
    Item(
        "16b", "Methods", "Sample size", "Explanation of any interim analyses and stopping guidelines", fill="interim"
    ),
    Item(
        "17a",
        "Methods",
        "Randomisation: sequence generation",
        "Who generated the random allocation sequence and the method used",
        trial="sequence_generation",
    ),
    Item(
        "17b",
        "Methods",
        "Randomisation: sequence generation",
        "Type of randomisation and details of any restriction (eg, stratification, blocking and block size)",
        "Details of stratification or matching if used",
        fill="restriction",
    ),
    Item(
        "18",
        "Methods",
        "Allocation concealment mechanism",
        "Mechanism used to implement the random allocation sequence (eg, central computer/telephone; "
        "sequentially numbered, opaque, sealed containers), describing any steps to conceal the sequence until "
        "interventions were assigned",
        "Specification that allocation was based on clusters rather than "
        "individuals and whether allocation concealment (if any) was at the cluster level, the individual "
        "participant level or both",
        trial="allocation_concealment",
    ),
    Item(
        "19",
        "Methods",
        "Implementation",
        "Whether the personnel who enrolled and those who assigned participants to the interventions had access "
        "to the random allocation sequence",
        "Who enrolled clusters and assigned them to interventions; how "
        "individual participants were included in clusters; from whom consent was sought (representatives of "
        "the cluster, individual cluster members, or both) and whether before or after randomisation",
        trial="consent",
    ),
    Item(
        "20a",
        "Methods",
        "Blinding",
        "Who was blinded after assignment to interventions (eg, participants, care providers, outcome "
        "assessors, data analysts)",
        trial="blinding",
    ),
    Item(
        "20b",
        "Methods",
        "Blinding",
        "If blinded, how blinding was achieved and description of the similarity of interventions",
    ),
    Item(
        "21a",
        "Methods",
        "Statistical methods",
        "Statistical methods used to compare groups for primary and secondary outcomes, including harms",
        "How clustering was taken into account",
        fill="methods",
        impact=True,
    ),
    Item(
        "21b",
        "Methods",
        "Statistical methods",
        "Definition of who is included in each analysis (eg, all randomised participants), and in which group",
        fill="populations",
    ),
    Item(
        "21c",
        "Methods",
        "Statistical methods",
        "How missing data were handled in the analysis",
        fill="missing",
        impact=True,
    ),
    Item(
        "21d",
        "Methods",
        "Statistical methods",
        "Methods for any additional analyses (eg, subgroup and sensitivity analyses), distinguishing "
        "prespecified from post hoc",
        fill="additional",
        impact=True,
    ),
    Item(
        "22a",
        "Results",
        "Participant flow",
        "For each group, the numbers of participants who were randomly assigned, received intended intervention, "
        "and were analysed for the primary outcome",
        "For each group, the numbers of clusters that were "
        "randomly assigned, received intended treatment, and were analysed for the primary outcome",
        fill="flow",
    ),
    Item(
        "22b",
        "Results",
        "Participant flow",
        "For each group, losses and exclusions after randomisation, together with reasons",
        "For each group, losses and exclusions for both clusters and individual cluster members",
        fill="losses",
    ),
    Item(
        "23a",
        "Results",
        "Recruitment",
        "Dates defining the periods of recruitment and follow-up for outcomes of benefits and harms",
        fill="dates",
    ),
    Item("23b", "Results", "Recruitment", "If relevant, why the trial ended or was stopped", fill="ended"),
    Item(
        "24a",
        "Results",
        "Intervention and comparator delivery",
        "Intervention and comparator as they were actually administered (eg, who delivered them, whether "
        "participants adhered, whether they were delivered as intended (fidelity))",
        fill="delivery",
    ),
    Item(
        "24b",
        "Results",
        "Intervention and comparator delivery",
        "Concomitant care received during the trial for each group",
    ),
    Item(
        "25",
        "Results",
        "Baseline data",
        "A table showing baseline demographic and clinical characteristics for each group",
        "Baseline characteristics for the individual and cluster levels as applicable for each group",
        fill="baseline",
    ),
    Item(
        "26",
        "Results",
        "Numbers analysed, outcomes and estimation",
        "For each primary and secondary outcome, by group: the number of participants included in the analysis; "
        "the number of participants with available data at the outcome time point; result for each group, and "
        "the estimated effect size and its precision (such as 95% confidence interval); for binary outcomes, "
        "presentation of both absolute and relative effect size",
        "Number of clusters included in each "
        "analysis; results at the individual or cluster level as applicable and a coefficient of intracluster "
        "correlation (ICC or k) for each primary outcome",
        fill="estimation",
        impact=True,
    ),
    Item("27", "Results", "Harms", "All harms or unintended events in each group"),
    Item(
        "28",
        "Results",
        "Ancillary analyses",
        "Any other analyses performed, including subgroup and sensitivity analyses, distinguishing pre-specified "
        "from post hoc",
        fill="ancillary",
        impact=True,
    ),
    Item(
        "29",
        "Discussion",
        "Interpretation",
        "Interpretation consistent with the results, balancing benefits and harms, and considering other "
        "relevant evidence",
    ),
    Item(
        "30",
        "Discussion",
        "Limitations",
        "Trial limitations, addressing sources of potential bias, imprecision, generalisability, and, if "
        "relevant, multiplicity of analyses",
        "Generalisability to clusters and/or individual participants (as relevant)",
    ),
)


@dataclass(frozen=True)
class Filled:
    """What fills one item: its status, the text (as published), where the report shows it and
    the release's cells the text shows."""

    item: Item
    status: str
    text: str = ""
    link: str = ""
    cells: tuple[Cell, ...] = ()

    def to_json(self) -> dict[str, Any]:
        i = self.item
        return {
            "item": i.number,
            "section": i.section,
            "topic": i.topic,
            "checklist_item": i.text,
            "cluster_extension": i.cluster,
            "status": self.status,
            "content": self.text,
            "link": self.link,
            "cells": [c.to_json() | {"text": c.text} for c in self.cells],
        }


@dataclass(frozen=True)
class Earlier:
    """An earlier release of the study's ledger (interim analyses: item 16b)."""

    kind: str
    run_id: str
    released_at: str


@dataclass
class Checklist:
    """The filled checklist of one release (the pooled unit's)."""

    title: str
    items: list[Filled] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {s: sum(f.status == s for f in self.items) for s in STATUSES}

    def cells(self) -> list[Cell]:
        return [c for f in self.items for c in f.cells]

    def to_json(self) -> dict[str, Any]:
        return {
            "statement": STATEMENT,
            "title": self.title,
            "counts": self.counts(),
            "items": [f.to_json() for f in self.items],
        }


@dataclass(frozen=True)
class Basis:
    """What the fillers read: the release, the settings, the ledger's earlier releases and the
    months teams were randomised per local authority (design facts, not counts of people)."""

    release: Release
    settings: StudySettings
    earlier: tuple[Earlier, ...] = ()
    randomised: dict[str, tuple[str, ...]] = field(default_factory=dict)


Fill = tuple[str, str, tuple[Cell, ...]]  # text, anchor on report.html, cells shown


def report_title(study_name: str) -> str:
    """The effectiveness report's title, naming the design (cluster extension 1a)."""
    return f"{study_name}: {DESIGN}"


def randomisation_months(teams: Any, local_authorities: dict[str, str]) -> dict[str, tuple[str, ...]]:  # noqa: ANN401
    """Per local authority (display name), the months (YYYY-MM) its teams were randomised."""
    found: dict[str, tuple[str, ...]] = {}
    for slug, name in local_authorities.items():
        dates = teams.loc[teams["local_authority"] == slug, "randomised_on"].dropna()
        found[name] = tuple(sorted({f"{d:%Y-%m}" for d in dates}))
    return found


def randomisation_text(randomised: dict[str, tuple[str, ...]]) -> str:
    """The months teams were randomised, in words (the methods section prints the same)."""
    return "; ".join(f"{la} {', '.join(months) or 'no team'}" for la, months in randomised.items())


# --- reading the release -------------------------------------------------------------------------
def _cells(release: Release, table: str, **where: str) -> list[Cell]:
    if table not in release.tables:
        return []
    return [c for c in release.tables[table].cells() if all(getattr(c.key, k) == v for k, v in where.items())]


def _arms(release: Release, table: str, population: str, row: str, columns: Sequence[str] = ARMS) -> list[Cell]:
    """The cells of one row, per arm column, in arm order (those present)."""
    found = {c.key.column: c for c in _cells(release, table, population=population, row=row)}
    return [found[col] for col in columns if col in found]


def _pair(cells: Sequence[Cell]) -> str:
    return " / ".join(c.text for c in cells) if cells else ""


def _populations(release: Release) -> list[str]:
    return list(dict.fromkeys(c.key.population for c in _cells(release, FLOW)))


def _shown(table: Table, row_key: str, column: str) -> Shown | Cell | None:
    """The displayed cell of ``table`` whose first cell has row ``row_key`` and column ``column``."""
    for row in table.rows:
        for c in row:
            if isinstance(c, Shown | Cell) and c.key.row == row_key and c.key.column == column:
                return c
    return None


def _parts(c: Shown | Cell | None) -> tuple[Cell, ...]:
    if c is None:
        return ()
    return c.parts if isinstance(c, Shown) else (c,)


ARMS_WORDS = "Kitbags / control"


# --- the fillers -----------------------------------------------------------------------------------
def _title(b: Basis) -> Fill:
    return f"The report's title: \u201c{report_title(b.settings.name)}\u201d.", "report-title", ()


def _abstract(b: Basis) -> Fill:
    return (
        "A structured abstract (CONSORT for abstracts) from this release: abstract.html; its conclusions are "
        "left to the authors.",
        "",
        (),
    )


def _design(b: Basis) -> Fill:
    teams = _arms(b.release, FLOW, _populations(b.release)[0], TEAMS_RANDOMISED)
    return (
        "Cluster randomised trial with two parallel arms (Kitbags and control). The cluster is a team of social "
        "workers and family support workers; children, carers and practitioners take the arm of their team at "
        f"randomisation. Teams randomised ({ARMS_WORDS}): {_pair(teams)}, so an allocation of "
        f"{':'.join(c.text for c in teams)} teams.",
        f"table-{FLOW}",
        tuple(teams),
    )


def _changes(b: Basis) -> Fill | None:
    impact = b.settings.impact
    if impact.done:
        return None
    return (
        f"The impact evaluation was {impact.status} on {impact.decided_on}: {impact.reason}",
        "impact-evaluation",
        (),
    )


def _setting(b: Basis) -> Fill:
    las = list(b.settings.local_authorities.values())
    return (
        f"Children's social care teams in {len(las)} local authorities: {', '.join(las)}.",
        "methods",
        (),
    )


def _outcomes(b: Basis) -> Fill:
    parts = [f"{o.label} ({population_label(o.population).lower()}): {o.definition}" for o in OUTCOMES]
    return (
        "Every outcome is measured on individual participants, over a follow-up window of "
        f"{b.settings.followup_days} days from each participant's window start. " + "; ".join(parts) + ".",
        "methods",
        (),
    )


def _continuous(release: Release) -> list[str]:  # noqa: ARG001 - read like the other helpers
    return [o.name for o in OUTCOMES if o.kind == "continuous"]


def _sample_size(b: Basis) -> Fill:
    table = b.release.tables.get(WHATWORKS)
    pieces, cells = [], []
    for o in OUTCOMES:
        if table is None or o.kind != "continuous":
            continue
        mdes = _shown(table, o.name, "mdes randomisation")
        icc = _shown(table, o.name, "icc unconditional")
        if mdes is None:
            continue
        cells += [*_parts(mdes), *_parts(icc)]
        pieces.append(f"{o.label} {mdes.text or 'not shown'} (ICC {icc.text if icc else 'not shown'})")
    power = f"{outcome_stats.POWER:.0%}"
    text = (
        f"Minimum detectable effect size at randomisation ({power} power, two-sided {outcome_stats.ALPHA:.0%}), "
        "from the teams randomised, everyone enrolled per team and the ICC without covariates: "
        + "; ".join(pieces)
        + ". The calculation made before the trial is the authors' to state."
    )
    return text, f"table-{WHATWORKS}", tuple(cells)


def _interim(b: Basis) -> Fill:
    monitoring = [e for e in b.earlier if e.kind == "monitoring"]
    criteria = b.settings.progression.criteria
    rules = "; ".join(
        f"{name.replace('_', ' ')} green {'≤' if c.lower_is_better else '≥'} {c.green:.0%}, amber "
        f"{'≤' if c.lower_is_better else '≥'} {c.amber:.0%}"
        for name, c in criteria.items()
        if name in PROGRESSION_DEFAULTS
    )
    if monitoring:
        seen = "; ".join(f"run {e.run_id} released {e.released_at[:10]}" for e in monitoring)
        done = f"{len(monitoring)} interim monitoring release(s) recorded in the study's release ledger: {seen}."
    else:
        done = "No interim monitoring release is recorded in the study's release ledger."
    return (
        f"{done} No interim analysis of effectiveness. Progression (stop/go) criteria: {rules}.",
        "methods",
        (),
    )


def _restriction(b: Basis) -> Fill:
    n = len(b.settings.local_authorities)
    return (
        f"Stratified: teams were randomised within each of the {n} local authorities (the strata); every pooled "
        "model has fixed effects for local authority.",
        "methods",
        (),
    )


def _methods(b: Basis) -> Fill:
    return (
        "Clustering by team, the unit of randomisation. Scores: linear mixed model with a random intercept per "
        f"team (REML), or linear regression with team-clustered SEs where the team variance is at its boundary or "
        f"the ICC below {ICC_FLOOR}; counts: Poisson regression with a log exposure offset and team-clustered SEs "
        "(rate ratio); referral: logistic regression with team-clustered SEs (odds ratio); each adjusted for the "
        "baseline measure, and in the pooled trial for local authority. Not estimable with fewer than "
        f"{MIN_TEAMS_PER_ARM} teams or {MIN_PARTICIPANTS_PER_ARM} analysed participants in an arm. The analysis "
        "plan prespecifies no harm outcome.",
        "methods",
        (),
    )


def _populations_text(b: Basis) -> Fill:
    return (
        "Intention to treat: every participant in the arm of their team at randomisation; complete case on each "
        "outcome and its covariates. Participants who withdrew, objected or restricted the use of their data "
        "were removed before any analysis (only their number is reported).",
        "methods",
        (),
    )


def _missing(b: Basis) -> Fill:
    return (
        "Complete-case primary analyses. Where more than "
        f"{missing_data.MISSING_SHARE_LIMIT:.0%} of included participants were not analysed: a logistic model of "
        f"missing follow-up, and multiple imputation by chained equations ({missing_data.MI_IMPUTATIONS} data "
        "sets, Rubin's rules).",
        f"table-{MISSING_DATA}",
        (),
    )


def _additional(b: Basis) -> Fill:
    groups = "; ".join(s.label for s in SUBGROUPS.values())
    thetas = ", ".join(f"{t:g}" for t in compliance.THETAS)
    return (
        f"All prespecified (analysis plan §7): subgroups of children ({groups}); complier average causal effect "
        f"with teams using Kitbags at θ = {thetas} (main {compliance.MAIN_THETA:g}); effect size on the total "
        f"variance; randomisation inference over {randomisation.PERMUTATIONS:,} re-randomisations of teams within "
        "each local authority; multiple imputation (21c). No post hoc analysis.",
        f"table-{SUBGROUPS_TABLE}",
        (),
    )


def _flow(b: Basis) -> Fill:
    pieces, cells = [], []
    analysed = {o.name: o for o in OUTCOMES}
    for pop in _populations(b.release):
        stages = [TEAMS_RANDOMISED, ENROLLED, INCLUDED, WITH_FOLLOWUP]
        stages += [analysed_stage(o.name) for o in OUTCOMES if o.population == pop]
        said = []
        for stage in stages:
            row = _arms(b.release, FLOW, pop, stage)
            if not row:
                continue
            cells += row
            name = stage_label(stage)
            outcome = stage.removeprefix(ANALYSED_PREFIX)
            teams = _arms(b.release, TEAM_FLOW, pop, outcome) if outcome in analysed else []
            cells += teams
            said.append(f"{name} {_pair(row)}" + (f" (teams {_pair(teams)})" if teams else ""))
        pieces.append(f"{population_label(pop)}: " + "; ".join(said))
    return (
        f"By arm ({ARMS_WORDS}); analysed as allocated (intention to treat), the use of Kitbags as delivered in "
        "24a. " + ". ".join(pieces) + ".",
        f"table-{FLOW}",
        tuple(cells),
    )


def _losses(b: Basis) -> Fill:
    pieces, cells = [], []
    for pop in _populations(b.release):
        excluded = _arms(b.release, FLOW, pop, EXCLUDED)
        included = _arms(b.release, FLOW, pop, INCLUDED)
        followed = _arms(b.release, FLOW, pop, WITH_FOLLOWUP)
        cells += excluded + included + followed
        pieces.append(
            f"{population_label(pop)}: excluded after withdrawal, objection or restriction {_pair(excluded)}; "
            f"included {_pair(included)}, of whom with a follow-up measure {_pair(followed)}"
        )
    lost = []
    table = b.release.tables.get(WHATWORKS)
    for name in _continuous(b.release) if table else []:
        c = _shown(table, name, "teams with no one analysed")
        if c is not None and c.text:
            cells += _parts(c)
            lost.append(f"{outcome_label(name)} {c.text}%")
    teams = f" Teams with no one analysed: {'; '.join(lost)}." if lost else ""
    return (
        f"By arm ({ARMS_WORDS}); exclusions (removed before analysis) are counted apart from losses to follow-up. "
        + ". ".join(pieces)
        + "."
        + teams,
        f"table-{FLOW}",
        tuple(cells),
    )


def _dates(b: Basis) -> Fill:
    return (
        f"Teams randomised in {randomisation_text(b.randomised)}. Follow-up: {b.settings.followup_days} days from "
        "the later of the team's randomisation and the child's enrolment (the team's randomisation for "
        f"practitioners); data collection ended {b.settings.final_collection}.",
        "methods",
        (),
    )


def _ended(b: Basis) -> Fill:
    impact = b.settings.impact
    if impact.done:
        return "The trial was not stopped: the impact evaluation ran as planned.", "methods", ()
    return (
        f"The impact evaluation was {impact.status} on {impact.decided_on}: {impact.reason}",
        "impact-evaluation",
        (),
    )


def _delivery(b: Basis) -> Fill:
    pieces, cells = [], []
    table = b.release.tables.get(UPTAKE)
    for row in table.rows if table else ():
        n = [c for c in row if isinstance(c, Cell)]
        if len(n) < 4 or n[1].measure != "percent":
            continue
        cells += n
        pieces.append(f"{row[0]}, {row[1]}: Kitbags {n[0].text} ({n[1].text}%), control {n[2].text} ({n[3].text}%)")
    teams = []  # compliance at the cluster level: analysed participants whose team used Kitbags (main rule)
    for row in _main_rule_rows(b.release):
        used = [c for c in (row[5], row[8]) if isinstance(c, Cell)]
        if len(used) == 2:
            cells += used
            teams.append(f"{row[0]}: Kitbags {used[0].text}%, control {used[1].text}%")
    compliance_text = (
        f" Analysed participants whose team used Kitbags ({_MAIN_RULE}): " + "; ".join(teams) + "." if teams else ""
    )
    return (
        "Use of Kitbags at follow-up, as answered, by arm: " + "; ".join(pieces) + "." + compliance_text,
        f"table-{UPTAKE}",
        tuple(cells),
    )


_MAIN_RULE = f"at least {compliance.MAIN_THETA:.0%} of practitioners (main rule)"  # the compliance table's words


def _main_rule_rows(release: Release) -> list[tuple]:
    table = release.tables.get(COMPLIANCE)
    return [row for row in table.rows if len(row) > 9 and row[2] == _MAIN_RULE] if table else []


def _baseline(b: Basis) -> Fill:
    table = b.release.tables[BASELINE]
    by_pop: dict[str, list[str]] = {}
    for row in table.rows:
        characteristic = str(row[1]).split(": ")[0]
        listed = by_pop.setdefault(str(row[0]), [])
        if characteristic not in listed:
            listed.append(characteristic)
    said = "; ".join(f"{pop}: {', '.join(chars)}" for pop, chars in by_pop.items())
    return (
        f"Baseline characteristics by arm (n and % or mean and SD, with standardised mean differences): {said}. "
        "Cluster level: teams randomised per arm (22a).",
        f"table-{BASELINE}",
        (),
    )


def _estimation(b: Basis) -> Fill:
    table = b.release.tables[EFFECTIVENESS]
    pieces, cells = [], []
    for row in table.rows:
        first = next((c for c in row if isinstance(c, Cell)), None)
        if first is None:
            continue
        pop, outcome = first.key.population, first.key.row
        n = _arms(b.release, EFFECTIVENESS, pop, outcome)
        teams = _arms(b.release, TEAM_FLOW, pop, outcome)
        cells += n + teams
        said = f"{row[0]} ({str(row[1]).lower()}): analysed {_pair(n)}, teams {_pair(teams)}"
        effect, model = row[7], row[10]
        if isinstance(effect, Shown) and not effect.suppressed:
            cells += effect.parts
            said += f"; {effect.text}"
            if isinstance(model, Shown):
                icc = [p for p in model.parts if p.measure == "icc"]
                cells += icc
                said += "".join(f"; ICC {p.text}" for p in icc)
        else:
            said += f"; {row[6] or 'not shown'}: {row[10]}"
        pieces.append(said)
    return (
        f"Per outcome, by arm ({ARMS_WORDS}), individual-level results with the ICC of the model: "
        + ". ".join(pieces)
        + ".",
        f"table-{EFFECTIVENESS}",
        tuple(cells),
    )


def _ancillary(b: Basis) -> Fill:
    pieces, cells = [], []
    for row in _main_rule_rows(b.release):
        if isinstance(row[9], Shown):
            cells += row[9].parts
            pieces.append(f"CACE for {row[0]}: {row[9].text}")
    effectiveness = b.release.tables.get(EFFECTIVENESS)
    for row in effectiveness.rows if effectiveness else ():
        p = row[9] if len(row) > 9 else ""
        if isinstance(p, Cell) and p.text:
            cells.append(p)
            pieces.append(f"randomisation-inference p for {row[0]}: {p.text}")
    return (
        "All prespecified: subgroups (table of pre-specified subgroups), compliance and CACE, missing data with "
        "multiple imputation, effect sizes on the total variance. " + "; ".join(pieces) + ".",
        f"table-{COMPLIANCE}",
        tuple(cells),
    )


FILLERS: dict[str, Callable[[Basis], Fill | None]] = {
    "title": _title,
    "abstract": _abstract,
    "design": _design,
    "changes": _changes,
    "setting": _setting,
    "outcomes": _outcomes,
    "sample_size": _sample_size,
    "interim": _interim,
    "restriction": _restriction,
    "methods": _methods,
    "populations": _populations_text,
    "missing": _missing,
    "additional": _additional,
    "flow": _flow,
    "losses": _losses,
    "dates": _dates,
    "ended": _ended,
    "delivery": _delivery,
    "baseline": _baseline,
    "estimation": _estimation,
    "ancillary": _ancillary,
}


def _link(anchor: str, item: Item) -> str:
    if item.fill == "abstract":
        return ABSTRACT_PAGE
    return f"{REPORT_PAGE}#{anchor}" if anchor else REPORT_PAGE


def fill(item: Item, basis: Basis) -> Filled:
    """One item, filled from the release, study.toml's [trial] or left to the authors."""
    impact = basis.settings.impact
    if item.impact and not impact.done:
        return Filled(
            item,
            NOT_DONE,
            f"Not done: the impact evaluation was {impact.status} on {impact.decided_on}: {impact.reason}",
            f"{REPORT_PAGE}#impact-evaluation",
        )
    if item.fill:
        made = FILLERS[item.fill](basis)
        if made is not None:
            text, anchor, cells = made
            return Filled(item, REPORTED, text, _link(anchor, item), cells)
    if item.trial and (text := basis.settings.trial.get(item.trial)):
        return Filled(item, FROM_STUDY_TOML, text)
    why = f"[trial] `{item.trial}` of study.toml is left out" if item.trial else "only the authors can say"
    return Filled(item, TO_WRITE, why)


def checklist(basis: Basis) -> Checklist:
    """Every item of `ITEMS`, in the statement's order, filled for ``basis``."""
    return Checklist(report_title(basis.settings.name), [fill(item, basis) for item in ITEMS])


# --- the structured abstract (CONSORT for abstracts, with its cluster extension) ------------------
@dataclass(frozen=True)
class AbstractSection:
    """One heading of the structured abstract with its text (as published) and its cells."""

    heading: str
    text: str
    to_write: bool = False
    cells: tuple[Cell, ...] = ()


def _authors(basis: Basis, key: str, what: str) -> tuple[str, bool]:
    text = basis.settings.trial.get(key)
    return (text, False) if text else (f"To write: {what} ([trial] `{key}` of study.toml is left out).", True)


def _numbers_randomised(b: Basis) -> AbstractSection:
    pieces, cells = [], []
    for pop in _populations(b.release):
        teams, enrolled = _arms(b.release, FLOW, pop, TEAMS_RANDOMISED), _arms(b.release, FLOW, pop, ENROLLED)
        cells += teams + enrolled
        pieces.append(f"{population_label(pop)} {_pair(enrolled)} in teams {_pair(teams)}")
    return AbstractSection("Numbers randomised", f"{ARMS_WORDS}: " + "; ".join(pieces) + ".", cells=tuple(cells))


def _numbers_analysed(b: Basis) -> AbstractSection:
    if EFFECTIVENESS not in b.release.tables:
        return AbstractSection("Numbers analysed", _not_done(b))
    pieces, cells = [], []
    for o in OUTCOMES:
        n, teams = (
            _arms(b.release, EFFECTIVENESS, o.population, o.name),
            _arms(b.release, TEAM_FLOW, o.population, o.name),
        )
        cells += n + teams
        pieces.append(f"{o.label} {_pair(n)} (teams {_pair(teams)})")
    return AbstractSection("Numbers analysed", f"{ARMS_WORDS}: " + "; ".join(pieces) + ".", cells=tuple(cells))


def _effects(b: Basis) -> AbstractSection:
    table = b.release.tables.get(EFFECTIVENESS)
    if table is None:
        return AbstractSection("Outcome", _not_done(b))
    pieces, cells = [], []
    for row in table.rows:
        effect = row[7]
        if isinstance(effect, Shown) and not effect.suppressed:
            cells += effect.parts
            pieces.append(f"{row[0]} ({str(row[1]).lower()}): {effect.text}")
        else:
            pieces.append(f"{row[0]} ({str(row[1]).lower()}): {row[6] or 'not shown'}")
    return AbstractSection("Outcome", "Effect of Kitbags (95% CI): " + "; ".join(pieces) + ".", cells=tuple(cells))


def _not_done(b: Basis) -> str:
    impact = b.settings.impact
    return f"Not done: the impact evaluation was {impact.status} on {impact.decided_on}: {impact.reason}"


def abstract(b: Basis) -> list[AbstractSection]:
    """The structured abstract's headings in CONSORT for abstracts' order, from the release and
    `[trial]`; objectives and conclusions are left to the authors."""
    design_text, _, design_cells = _design(b)
    eligibility = [b.settings.trial.get(k) for k in ("eligibility_participants", "eligibility_clusters")]
    participants = " ".join(t for t in eligibility if t) or "To write: eligibility of participants and of teams."
    outcomes = "; ".join(f"{o.label} ({population_label(o.population).lower()})" for o in OUTCOMES)
    randomisation = _restriction(b)[0] + (
        f" {b.settings.trial.get('sequence_generation')}" if b.settings.trial.get("sequence_generation") else ""
    )
    ended = _ended(b)[0]
    sections = [
        AbstractSection("Trial design", design_text, cells=design_cells),
        AbstractSection("Participants", f"{_setting(b)[0]} {participants}", to_write=not any(eligibility)),
        AbstractSection(
            "Interventions",
            "Teams were randomised to receive Kitbags or not (control). To write: the intervention "
            "and comparator in detail.",
            to_write=True,
        ),
        AbstractSection("Objective", "To write: the specific objective or hypothesis.", to_write=True),
        AbstractSection(
            "Outcomes", f"Measured on individual participants at {b.settings.followup_days} days: {outcomes}."
        ),
        AbstractSection("Randomisation", randomisation),
        AbstractSection("Blinding (masking)", *_authors(b, "blinding", "who was blinded")),
        _numbers_randomised(b),
        AbstractSection("Recruitment", f"Teams randomised in {randomisation_text(b.randomised)}. {ended}"),
        _numbers_analysed(b),
        _effects(b),
        AbstractSection("Harms", *_authors(b, "harms", "important adverse events or side effects")),
        AbstractSection(
            "Conclusions", "Left to the authors: the general interpretation of the results.", to_write=True
        ),
        AbstractSection("Trial registration", *_authors(b, "registration", "registration number and name of registry")),
        AbstractSection("Funding", *_authors(b, "funding", "source of funding")),
    ]
    return sections


def earlier_releases(against: Iterable[Any]) -> tuple[Earlier, ...]:  # noqa: ANN401
    """The ledger's earlier releases as `sdc.history` lists them (kind, run id, release time)."""
    return tuple(Earlier(a.kind, a.run_id, a.released_at) for a in against)


__all__ = [
    "ABSTRACT_PAGE",
    "AbstractSection",
    "abstract",
    "DESIGN",
    "FROM_STUDY_TOML",
    "ITEMS",
    "NOT_DONE",
    "REPORTED",
    "STATEMENT",
    "STATUSES",
    "TO_WRITE",
    "Basis",
    "Checklist",
    "Earlier",
    "Filled",
    "Item",
    "checklist",
    "earlier_releases",
    "fill",
    "randomisation_months",
    "randomisation_text",
    "report_title",
]
