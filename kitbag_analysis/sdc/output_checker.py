"""What an output checker receives beside each unit's pages: `<unit>/sdc/` (analysis-plan.md §6).

- `summary.json`: the rules applied, per table the number of suppressed cells, the models
  withheld, and ACRO's verdicts;
- `acro/`: ACRO's output-checking record holding exactly the published (suppressed) tables and
  figures, registered as custom outputs — no cell that the pages hide.
ACRO also re-checks the person-level frequency tables (baseline characteristics, uptake) with its
own threshold rule; those crosstabs are compared with the release (every cell ACRO would
suppress must be suppressed on the page) and then removed from ACRO's record, since ACRO's
copy applies its own suppression only and would hold cells the coordinated pattern hides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from data_contracts.settings import Disclosure
from kitbag_analysis import atomic
from kitbag_analysis.analysis.labels import level_label
from kitbag_analysis.analysis.names import BASELINE, EFFECTIVENESS
from kitbag_analysis.analysis.tables import categorical_characteristics
from kitbag_analysis.errors import ReleaseRefused
from kitbag_analysis.sdc.cells import SUPPRESSED, CellKey, Release, Table
from kitbag_analysis.sdc.loss import losses
from kitbag_analysis.sdc.policy import describe, exact, policy_json
from kitbag_analysis.sdc.rules import MIN_RESIDUAL_DF

if TYPE_CHECKING:
    from kitbag_analysis.analysis.analyse import UnitAnalysis
    from kitbag_analysis.sdc.pattern import Pattern
    from kitbag_analysis.study.load import Study


class Report(Protocol):
    """What the output checker's record reads of a unit's report (`pages.report.Report` has it)."""

    unit: str
    analysis: UnitAnalysis
    release: Release
    pattern: Pattern | None
    figures: dict[str, bytes]
    study: Study

    @property
    def threshold(self) -> int: ...


PAGE_TABLES = {
    "report.html": (
        "excluded",
        "participant_flow",
        "team_flow",
        "baseline",
        "effectiveness",
        "uptake",
        "whatworks",
        "compliance",
        "missing_data",
        "subgroups",
    ),
    "data_quality.html": ("completeness", "attrition"),
}


def _person_tables(report: Report) -> dict[str, tuple[pd.DataFrame, str, str]]:
    """Person-level (value, arm) frames ACRO cross-tabulates: name -> (frame, population,
    characteristic). Values are codes; arms kitbag/control."""
    view = report.analysis.view
    found = {}
    for population, name, values, arm, _levels in categorical_characteristics(view):
        frame = pd.DataFrame({"row": values.to_numpy(), "arm": arm.to_numpy()}).dropna()
        found[f"baseline_{population}_{name.replace(' ', '_')}"] = (frame, population, name)
    return found


def _acro_flags(report: Report, session) -> list[str]:  # noqa: ANN001 - an ACRO session
    """Cells ACRO's threshold check would suppress that the release shows (should be none)."""
    shown = {c.key: c for c in report.release.cells()}
    problems = []
    for name, (frame, population, characteristic) in _person_tables(report).items():
        if frame.empty:
            continue
        table = session.crosstab(frame["row"], frame["arm"])
        for level in table.index:
            for arm in table.columns:
                if pd.isna(table.loc[level, arm]):
                    key = CellKey(report.unit, BASELINE, population, f"{characteristic}: {level}", str(arm))
                    cell = shown.get(key)
                    if cell is not None and not cell.suppressed:
                        problems.append(f"{name}: {level_label(characteristic, str(level))} ({arm})")
    for uid in list(session.results.results):
        session.remove_output(uid)
    return problems


def _count_table(table: Table, policy: Disclosure) -> tuple[pd.DataFrame, int] | None:
    """A published table's counts of people as ACRO's person-level input: one row per person
    counted in a shown cell (row label, column), for the rows whose every count is shown; and
    how many rows were held back because a count is suppressed. The counts the policy publishes
    exactly (the trial-process counts) are not ACRO's to judge: they are left out. None when
    no count is left."""
    counts = [
        (i, j, c)
        for i, j, c in table.located()
        if c.measure == "n" and c.value is not None and not exact(policy, c.key)
    ]
    if not counts:
        return None
    located = pd.DataFrame(
        {
            "i": [i for i, _, _ in counts],
            "column": [table.header[j] for _, j, _ in counts],
            "n": [c.printed if not c.suppressed else -1 for _, _, c in counts],
        }
    )
    held = located.groupby("i")["n"].transform("min") < 0
    shown = located[~held]
    labels = {
        i: " / ".join([c for c in table.rows[i][: max(table.label_columns, 1)] if isinstance(c, str)] or [f"row {i}"])
        for i in shown["i"].unique()
    }
    repeated = shown.loc[shown.index.repeat(shown["n"].astype(int))]
    frame = pd.DataFrame({"row": repeated["i"].map(labels).to_numpy(), "column": repeated["column"].to_numpy()})
    return frame, int(located.loc[held, "i"].nunique())


def _acro_checks(report: Report, session) -> dict[str, str]:  # noqa: ANN001 - an ACRO session
    """ACRO's own frequency-threshold verdict on each published table of counts of people, by
    `acro.crosstab` over the counts as printed (mitigation off, so ACRO reports pass or fail
    itself). Only shown counts reach ACRO: a row holding a suppressed count is held back, so
    ACRO's record holds no cell the pages hide. Returns {output name: what ACRO checked}."""
    checks = {}
    mitigation = session.mitigation
    session.suppress = False
    try:
        for name in (n for names in PAGE_TABLES.values() for n in names if n in report.release.tables):
            built = _count_table(report.release.tables[name], report.study.settings.disclosure)
            if built is None or built[0].empty:
                continue
            frame, held = built
            before = set(session.results.results)
            table = session.crosstab(frame["row"], frame["column"])
            uid = next(u for u in session.results.results if u not in before)
            output = f"acro_{name}"
            zeros = _flagged_zeros(session.results.results[uid].outcome, table, output)
            session.rename_output(uid, output)
            checks[output] = (
                f"ACRO's frequency threshold ({report.threshold}) on every count of people shown in "
                f"{report.release.tables[name].title}"
                + (f"; {held} row(s) holding {SUPPRESSED} not given to ACRO" if held else "")
                + (
                    f"; ACRO's threshold check flags {zeros} zero(s), shown because a zero counts no one "
                    '(the disclosure policy\'s zeros = "safe"); it flags no other count'
                    if zeros
                    else ""
                )
            )
    finally:
        session.mitigation = mitigation
    return checks


def _exact_comment(table: Table, policy: Disclosure) -> str:
    """What the output checker is told of a table's counts published exactly (none: '')."""
    n = sum(c.measure == "n" and exact(policy, c.key) for c in table.cells())
    if not n:
        return ""
    return (
        f"; {n} trial-process count(s) published exactly under the study's disclosure policy "
        '(analysis-plan.md §6.2, flow = "exact"): they name no characteristic of anyone, so ACRO\'s '
        "frequency rule is not applied to them"
    )


def _flagged_zeros(outcome: pd.DataFrame, table: pd.DataFrame, output: str) -> int:
    """How many cells ACRO's threshold check flags in a crosstab of shown counts: only zeros may be
    (ACRO 1.0's threshold check counts a zero below the threshold whatever `zeros_are_disclosive`
    says); a flagged count of 1 to threshold − 1 would be a shown small count, never published."""
    flagged = outcome.map(lambda v: isinstance(v, str) and "threshold" in v.lower())
    counts = table.reindex(index=flagged.index, columns=flagged.columns).fillna(0)
    if (counts[flagged] > 0).any().any():
        raise ReleaseRefused(f"ACRO flags a shown count of people below the threshold in {output}")
    return int(flagged.to_numpy().sum())


def _audit(report: Report) -> dict:
    """The pattern's proof for this unit: each suppressed count's feasible interval given
    everything every unit publishes, the counts of primary and secondary suppressions, the solver."""
    pattern = report.pattern
    if pattern is None:
        return {}
    mine = {c.key for c in report.release.cells() if c.suppressed and c.measure == "n"}
    return {
        "solver": pattern.solver,
        "status": pattern.status,
        "rounds": pattern.rounds,
        "seconds": round(pattern.seconds, 3),
        "time_limit_seconds": pattern.time_limit,
        "method": pattern.method,
        "released_after_audit": pattern.released,
        "exact_counts": len(pattern.exact),
        "study": {"primary": len(pattern.primary), "secondary": len(pattern.secondary), "ledger": len(pattern.ledger)},
        "unit": {
            "primary": len(mine & pattern.primary),
            "secondary": len(mine & pattern.secondary),
            "ledger": len(mine & pattern.ledger),
        },
        "rule": f"every suppressed count's feasible interval is at least {report.threshold} wide, or as wide as "
        "the counts published exactly leave it (a breakdown of an exact total below the threshold)",
        "ledger": ledger_summary(pattern),
        "intervals": [
            {"cell": k.label, "lo": round(lo, 6), "hi": None if hi == float("inf") else round(hi, 6)}
            for k, (lo, hi) in sorted(pattern.intervals.items())
            if k in mine
        ],
    }


WHY = {
    "primary": "primary: a count of people below the threshold",
    "secondary": "secondary: hides a primary cell from published totals (coordinated pattern)",
    "ledger": "ledger: protects a cell against an earlier release (the release ledger)",
    "derived": "built on a suppressed count",
}


CUSTOM_OUTPUT = "a custom output: ACRO cannot check it, so it marks it for the output checker's review"


def why_suppressed(report: Report) -> list[dict]:
    """Every suppressed cell of the release with why, by table: a reason the pattern records per
    cell (``Pattern.reasons``, or its ``ledger`` set: ``ledger``) wins; else primary or secondary;
    a number built on counts is suppressed with the count it is built on."""
    pattern = report.pattern
    reasons: dict = dict(getattr(pattern, "reasons", {}) or {}) if pattern is not None else {}
    # the ledger's cells (primary because of an earlier release), when the pattern records them
    reasons = {key: "ledger" for key in getattr(pattern, "ledger", ()) or ()} | reasons
    primary = pattern.primary if pattern is not None else frozenset()
    secondary = pattern.secondary if pattern is not None else frozenset()
    found = []
    for table in report.release.tables.values():
        for i, j, cell in table.located():
            if not cell.suppressed:
                continue
            kind = reasons.get(cell.key) or (
                "secondary"
                if cell.key in secondary
                else "primary"
                if cell.key in primary or cell.measure == "n"
                else "derived"
            )
            row = table.rows[i]
            label = " / ".join(c for c in row[: table.label_columns] if isinstance(c, str)) or table.title
            found.append({"table": table.name, "row": label, "column": table.header[j], "why": kind})
    return found


def narrowest(audit: dict) -> dict | None:
    """The audit's narrowest feasible interval of a suppressed count (None when there is none)."""
    widths = [
        (i["hi"] - i["lo"], i)
        for i in audit.get("intervals", [])
        if i.get("hi") is not None and i.get("lo") is not None
    ]
    if not widths:
        return None
    width, item = min(widths, key=lambda w: w[0])
    return {"cell": item["cell"], "width": round(width, 6)}


def ledger_summary(pattern) -> dict:  # noqa: ANN001 - a Pattern
    """Per earlier release in the study's ledger: what it asked of this one, and the cost."""
    history = pattern.history
    if history is None or not history.against:
        return {"earlier_releases": [], "note": "no earlier release is recorded in the study's ledger"}
    return {
        "earlier_releases": [a.to_json() for a in history.against],
        "cells_suppressed_because_of_the_ledger": len(pattern.ledger),
        "cells_suppressed_for_the_ledger_and_their_partners": pattern.ledger_cost,
        "rule": "a count whose change since an earlier release is 1 to threshold − 1 people is suppressed, "
        "a count suppressed earlier stays suppressed, and numbers built on them follow (analysis-plan.md §6.1)",
    }


def write_record(report: Report, sdc_dir: str | Path) -> dict:
    """Write ``sdc_dir`` (ACRO's record in ``acro/``, ``summary.json``) for the output checker."""
    from kitbag_analysis.sdc.acro_record import acro_session, finalise

    sdc_dir = Path(sdc_dir)
    sdc_dir.mkdir(parents=True, exist_ok=True)
    with atomic.staging_dir(sdc_dir / "published") as scratch:
        custom: dict[str, tuple[Path, str]] = {}
        for page, names in PAGE_TABLES.items():
            for name in names:
                if name not in report.release.tables:  # an impact table of a removed evaluation
                    continue
                table = report.release.tables[name]
                path = scratch / f"{name}.csv"
                table.frame().to_csv(path, index=False)
                hidden = sum(c.suppressed for c in table.cells())
                comment = f"{table.title}, as published in {page}: {hidden} cell(s) shown as {SUPPRESSED}"
                comment += _exact_comment(table, report.study.settings.disclosure)
                if name == EFFECTIVENESS:
                    withheld = ", ".join(report.release.withheld) or "none"
                    comment += (
                        f"; GLM and mixed models checked by kitbag for >= {MIN_RESIDUAL_DF} residual "
                        f"degrees of freedom (ACRO has no wrapper for them); withheld: {withheld}"
                    )
                custom[name] = (path, comment)
        for name, data in report.figures.items():
            path = scratch / f"{name}.png"
            path.write_bytes(data)
            custom[name] = (
                path,
                f"figure of published effect estimates with 95% CIs (models with >= "
                f"{MIN_RESIDUAL_DF} residual degrees of freedom only)",
            )
        with acro_session(report.threshold, not report.study.settings.disclosure.zeros_safe) as session:
            flagged = _acro_flags(report, session)
            checks = _acro_checks(report, session)
            statuses = finalise(session, sdc_dir / "acro", custom)
    cells = report.release.cells()
    policy = report.study.settings.disclosure
    summary = {
        "unit": report.unit,
        "threshold": report.threshold,
        "disclosure": policy_json(policy, report.threshold),
        "policy": describe(policy, report.threshold),
        "lost": losses(report.release),
        "rules": [
            f"counts of people below {report.threshold}{'' if policy.zeros_safe else ' (zero included)'} shown as "
            f"{SUPPRESSED}{', except the trial-process counts published exactly' if policy.flow_exact else ''}",
            "secondary suppression coordinated across every table of every unit of the study "
            "(the pooled unit is the sum of the local authorities), audited by linear programming",
            "percentages, means, SDs and SMDs shown only where the counts they are built on are shown",
            f"models shown only with >= {MIN_RESIDUAL_DF} residual degrees of freedom",
            "no minimum, maximum, row-level value or participant id",
        ],
        "suppressed_cells": {name: sum(c.suppressed for c in t.cells()) for name, t in report.release.tables.items()},
        "cells_published": len(cells),
        "models_withheld": report.release.withheld,
        "acro": {
            "record": "acro/results.json: ACRO's output-checking record of exactly the published tables and figures",
            "statuses": statuses,
            "checks": checks
            | {name: CUSTOM_OUTPUT for name in custom},
            "threshold_check": "every cell ACRO's threshold rule flags is suppressed"
            if not flagged
            else f"cells ACRO flags that the release shows: {flagged}",
        },
        "suppressed": why_suppressed(report),
        "audit": (audit := _audit(report)),
        "narrowest_interval": narrowest(audit),
        "release_candidates": ["report.html", "data_quality.html", "release.json"],
        "stays_inside": ["report.ipynb", "data_quality.ipynb", "results.json"],
    }
    atomic.write_text(sdc_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    if flagged:
        raise RuntimeError(f"ACRO flags cells the release shows: {flagged}")
    return summary


__all__ = ["write_record"]
