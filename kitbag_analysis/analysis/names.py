"""The vocabulary every layer shares, declared once: arms, flow stages, table names.

The analysis builds its tables with these names, disclosure control keys its cells by them and
the pages label them (`labels`); nothing else spells them.
"""

from __future__ import annotations

KITBAG, CONTROL = "kitbag", "control"
ARMS = (KITBAG, CONTROL)
ARM_CODES = {KITBAG: 1, CONTROL: 0}  # the `arm` indicator of the analysis frames

# participant flow (analysis-plan.md §5.1), in the order the flow shows them
TEAMS_RANDOMISED = "teams randomised"
ENROLLED = "enrolled"
EXCLUDED = "excluded (withdrawn, objected or restricted)"
INCLUDED = "included"
WITH_BASELINE = "with a baseline measure"
WITH_FOLLOWUP = "with a follow-up measure"
TEAM_STAGES = (TEAMS_RANDOMISED,)  # stages that count teams, not people
ANALYSED_PREFIX = "analysed: "


def analysed_stage(outcome: str) -> str:
    """The flow stage of those analysed for ``outcome``."""
    return f"{ANALYSED_PREFIX}{outcome}"


ANSWERED = "answered"  # the uptake table's total row: everyone who answered at follow-up

# the published tables
FLOW = "participant_flow"
TEAM_FLOW = "team_flow"  # the flow at the cluster level: teams with anyone analysed, per outcome
BASELINE = "baseline"
EFFECTIVENESS = "effectiveness"
UPTAKE = "uptake"
EXCLUDED_TABLE = "excluded"
COMPLETENESS = "completeness"
ATTRITION = "attrition"
SUMMARY = "summary"
WHATWORKS = "whatworks"
COMPLIANCE = "compliance"
MISSING_DATA = "missing_data"
SUBGROUPS_TABLE = "subgroups"
STAMP = "stamp"  # the stamp's excluded counts are keyed under this table name

# the interim monitoring bundle's tables (analysis-plan.md §8)
MONITORING_RECRUITMENT = "monitoring_recruitment"
MONITORING_CRITERIA = "monitoring_criteria"
MONITORING_QUARTERS = "monitoring_uptake_by_quarter"
MONITORING_TABLES = (MONITORING_RECRUITMENT, MONITORING_CRITERIA, MONITORING_QUARTERS)
