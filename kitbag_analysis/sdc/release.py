"""The release of one unit: every table both of its pages show, disclosure-controlled.

`make_release` is a publication rule (the linked set builds every unit's release with it to
know what any page could show), so it lives here, not in the notebooks' façade."""

from __future__ import annotations

from kitbag_analysis.analysis.analyse import UnitAnalysis
from kitbag_analysis.analysis.names import (
    ATTRITION,
    BASELINE,
    COMPLETENESS,
    COMPLIANCE,
    EFFECTIVENESS,
    EXCLUDED_TABLE,
    FLOW,
    INCLUDED,
    MISSING_DATA,
    SUBGROUPS_TABLE,
    SUMMARY,
    TEAM_FLOW,
    UPTAKE,
    WHATWORKS,
)
from kitbag_analysis.analysis.outcomes import OUTCOMES
from kitbag_analysis.analysis.quality import attrition, completeness
from kitbag_analysis.analysis.tables import follow_up_by_arm
from kitbag_analysis.sdc import release_tables as pb
from kitbag_analysis.sdc import whatworks_tables as pw
from kitbag_analysis.sdc.cells import CellKey, Release
from kitbag_analysis.sdc.policy import policy_json
from kitbag_analysis.sdc.rules import Protection, Publisher
from kitbag_analysis.study.load import Study
from kitbag_analysis.study.units import unit_name


def make_release(study: Study, analysis: UnitAnalysis, pattern: frozenset[CellKey] | Protection) -> Release:
    """Every table both pages of a unit show, disclosure-controlled: by the study's pattern
    (`Pattern.protection`), or by a set of suppressed cells and the study's policy."""
    pub = Publisher(analysis.unit, study.settings.sdc_threshold, pattern, study.settings.disclosure)
    flow = pb.flow_table(analysis.tables[FLOW], pub)
    included = {c.key: c for c in flow.cells() if c.key.row == INCLUDED}
    complete = completeness(analysis.view)
    release = Release(analysis.unit, unit_name(study, analysis.unit), study.settings.sdc_threshold)
    release.disclosure = policy_json(study.settings.disclosure, study.settings.sdc_threshold)
    release.tables = {
        EXCLUDED_TABLE: pb.excluded_table(analysis.results.excluded, pub),
        FLOW: flow,
        TEAM_FLOW: pb.team_flow_table(analysis.outcomes, pub),
        BASELINE: pb.baseline_table(analysis.tables[BASELINE], pub, included),
        EFFECTIVENESS: pb.effectiveness_table(analysis.outcomes, pub, follow_up(analysis)),
        UPTAKE: pb.uptake_table(analysis.tables[UPTAKE], pub),
        COMPLETENESS: pb.completeness_table(complete, pub),
        ATTRITION: pb.attrition_table(attrition(complete), pub),
    }
    effectiveness = release.tables[EFFECTIVENESS]
    published = {c.key: c for c in flow.cells() + effectiveness.cells()}
    release.tables[WHATWORKS] = pw.whatworks_table(analysis.outcomes, pub, published)
    release.tables[COMPLIANCE] = pw.compliance_table(analysis.outcomes, analysis.tables[COMPLIANCE], pub)
    release.tables[MISSING_DATA] = pw.missing_data_table(analysis.outcomes, pub, published)
    release.tables[SUBGROUPS_TABLE] = pw.subgroup_table(analysis.outcomes, pub)
    release.tables[SUMMARY] = pb.summary_table(
        analysis.outcomes, release.tables[EFFECTIVENESS], {o.name: o.benefit for o in OUTCOMES}
    )
    release.effects = pb.published_effects(analysis.outcomes, pub)
    release.withheld = [r.outcome for r in analysis.outcomes if r.ok and not pub.model_shown(r)]
    if not study.settings.impact.done:  # analysis-plan.md §9: no impact table is shown
        release.tables = {k: t for k, t in release.tables.items() if k not in IMPACT_TABLES}
    return release


# The tables of the impact analysis (§4, §7), not shown when the impact evaluation was removed or
# stopped (analysis-plan.md §9); the flow, baseline, uptake and data quality stay.
IMPACT_TABLES = frozenset({SUMMARY, TEAM_FLOW, EFFECTIVENESS, WHATWORKS, COMPLIANCE, MISSING_DATA, SUBGROUPS_TABLE})


def follow_up(analysis: UnitAnalysis) -> dict[str, dict]:
    """Each outcome's follow-up by arm among the analysed (exact; published through `publication`)."""
    kinds = {o.name: o.kind for o in OUTCOMES}
    return {name: follow_up_by_arm(frame, kinds[name]) for name, frame in analysis.frames.items() if len(frame)}


def headline(release: Release) -> list[list[str]]:
    """The summary of findings as the index lists it: [what was measured, in whom; effect as
    printed; verdict words, or why there is no effect] (none where the impact evaluation was removed)."""
    table = release.tables.get(SUMMARY)
    if table is None:
        return []
    return [
        [row[0], f"{row[1]} ({row[2]})", ""] if isinstance(row[1], str) else [row[0], row[1].text, row[2]]
        for row in table.rows
    ]


__all__ = ["IMPACT_TABLES", "follow_up", "headline", "make_release"]
