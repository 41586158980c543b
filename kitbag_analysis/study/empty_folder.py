"""`kitbag template --out DIR`: an empty study folder for a local authority's data team to fill.

Every file of the data dictionary as a header-only CSV (which the contracts accept: a file may
have a header and no rows), a study.toml with each setting explained, and a README.md that is the
data dictionary itself (`kitbag docs`). The folder is written whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

from data_contracts.docs import render
from data_contracts.schemas import CONTRACTS
from data_contracts.settings import FOLDER_SETTINGS_HELP
from kitbag_analysis import atomic
from kitbag_analysis.errors import UnusableInput

STUDY_TOML = """# Study settings: every key is required unless it shows a default. Dates are YYYY-MM-DD, unquoted.
[study]
name = "Putting Kitbags to Work"
analysis_phase_start = 2022-03-01   # participants who withdraw before this date are erased (kitbag erase)
final_collection = 2022-02-28       # the retention clock (12 months) starts here (kitbag retention)
followup_days = 365                 # length of the follow-up window, 1 to 3650 days (default 365)
sdc_threshold = 10                  # smallest publishable count of people, at least 3 (default 10)

# One line per local authority: a lower-case slug = its display name. team_id in teams.csv
# starts with the authority's three-letter prefix; teams.csv's local_authority holds the slug.
[local_authorities]
bexley = "London Borough of Bexley"

# Optional: dates that start the other retention clocks of `kitbag retention`.
# [retention]
# transcripts_delivered = 2021-11-30   # the vendor deletes recordings 7 days after delivery
# prize_draw_closes = 2021-12-31       # the prize draw's email list goes once the winners are drawn

# Optional: the disclosure policy of the reports (analysis-plan.md §6.2); the defaults are shown.
# [disclosure]
# zeros = "safe"          # a zero counts no one; "disclosive" suppresses every zero (ACRO's default)
# flow = "exact"          # the participant flow published exactly; "protected" suppresses small stages
# merge = { gender = [["other", "not_recorded"]] }   # categories shown as one in every unit
# time_limit_seconds = 60 # the suppression programme's limit, then a heuristic pattern the audit proves

# Optional: the authors' words for the trial's CONSORT checklist (all/consort.html), each a quoted
# string; published with the report, so no email address, postcode or NHS number. Keys left out are
# listed there as "to write". The others: data_sharing, funding, conflicts, eligibility_participants,
# eligibility_clusters, consent, sequence_generation, allocation_concealment, blinding, harms,
# public_involvement.
# [trial]
# registration = "ISRCTN00000000, registered 2021-03-01"
# protocol = "Protocol v2.0 and SAP v1.0 at https://example.org/kitbags"
"""


def write_template(out: str | Path) -> Path:
    """Write the template folder into ``out`` (new or empty)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UnusableInput(f"{out}: the folder exists and is not empty; choose a new one.")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic.staging_dir(out, "template") as staged:
        for name, model in CONTRACTS.items():
            header = ",".join(model.to_schema().columns)
            (staged / f"{name}.csv").write_text(header + "\n", encoding="utf-8")
        (staged / "study.toml").write_text(STUDY_TOML, encoding="utf-8")
        readme = f"# Study folder for the Kitbag evaluation\n\n{FOLDER_SETTINGS_HELP}\n\n{render()}"
        (staged / "README.md").write_text(readme, encoding="utf-8")
        if out.exists():
            out.rmdir()
        atomic.publish_dir(staged, out)
    return out


__all__ = ["write_template"]
