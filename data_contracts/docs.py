"""The data dictionary, rendered as Markdown from the contracts themselves (`kitbag docs`)."""

from __future__ import annotations

import inspect

import pandera.pandas as pa

from data_contracts.guards import FULL_DATE_COLUMN, GUARDS
from data_contracts.participants import LINKS
from data_contracts.schemas import CONTRACTS, rule_column, rule_in_words
from data_contracts.settings import (
    DISCLOSURE_CHOICES,
    LOWER_IS_BETTER,
    MERGEABLE,
    PROGRESSION_DEFAULTS,
    SETTINGS_FILE,
    TIME_LIMIT_SECONDS,
    TRIAL_KEYS,
    Disclosure,
)

_TYPES = {"Int64": "whole number", "float64": "number", "datetime64[ns]": "date (YYYY-MM-DD)"}


def _type(dtype: object) -> str:
    text = str(dtype)
    return _TYPES.get(text, "text")


def _rule(check: pa.Check) -> str:
    stats = check.statistics or {}
    if check.name == "isin":
        return "one of " + ", ".join(f"`{v}`" for v in stats["allowed_values"])
    if check.name == "str_matches":
        return f"in the form {rule_in_words(stats['pattern'])}"
    if check.name == "greater_than_or_equal_to":
        return f"≥ {stats['min_value']}"
    if check.name == "less_than_or_equal_to":
        return f"≤ {stats['max_value']}"
    if check.name == "in_range":
        return f"{stats['min_value']}–{stats['max_value']}"
    return check.name


def _file_section(name: str, model: type[pa.DataFrameModel]) -> list[str]:
    schema = model.to_schema()
    lines = [f"## {name}.csv (or {name}.parquet)", "", inspect.getdoc(model) or "", ""]
    lines += ["| column | type | blank allowed | rule | meaning |", "|---|---|---|---|---|"]
    for col_name, col in schema.columns.items():
        rules = [_rule(c) for c in col.checks]
        if col.unique:
            rules.append("unique")
        cells = [
            f"`{col_name}`",
            _type(col.dtype),
            "yes" if col.nullable else "no",
            "; ".join(rules) or "—",
            col.description or "",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    unique = schema.unique
    extra = []
    if unique:
        extra.append(f"- ({', '.join(f'`{c}`' for c in unique)}) is unique.")
    for check in schema.checks:
        if rule_column(model, check.name) is not None:
            fn = getattr(model, check.name, None)
            doc = inspect.getdoc(fn) if fn is not None else check.name
            extra.append(f"- {doc}")
    extra.append("- No other column is allowed (data minimisation).")
    return [*lines, "", "Rules:", "", *extra, ""]


def render() -> str:
    """The whole data dictionary as Markdown."""
    out = [
        "# Kitbag study folder: data dictionary",
        "",
        "Generated from the pandera contracts in `data_contracts/` (the same code that "
        "`kitbag validate` runs), so this page and the checks cannot drift. Every file below "
        "must be present as `.csv` (UTF-8, header row, empty cell = missing) or `.parquet` "
        "with the same columns; a file may have a header and no rows.",
        "",
        f"## {SETTINGS_FILE}",
        "",
        "`[study]`: `name` (text), `analysis_phase_start` and `final_collection` (dates, "
        "unquoted), `followup_days` (default 365), `sdc_threshold` (default 10). "
        '`[local_authorities]`: one `slug = "display name"` per authority. Optional `[retention]`: '
        "`transcripts_delivered` and `prize_draw_closes` (dates, unquoted), the starts of two clocks of "
        "`kitbag retention`.",
        "",
        "Optional in `[study]`: `impact_evaluation` (`planned`, the default; `removed` or `stopped`: "
        "no impact analysis is fitted or shown, analysis-plan.md §9), with `impact_evaluation_reason` "
        "(text, required unless planned, shown at the top of every report) and "
        "`impact_evaluation_decided_on` (date, required unless planned).",
        "",
        "Optional `[progression]` (pre-registered stop/go criteria of `kitbag monitor`, analysis-plan.md "
        "§8): one `{ green = <share>, amber = <share> }` per criterion; a criterion not given keeps its "
        "default: "
        + "; ".join(
            f"`{name}` green {g:g}, amber {a:g}" + (" (lower is better)" if name in LOWER_IS_BETTER else "")
            for name, (g, a) in PROGRESSION_DEFAULTS.items()
        )
        + ". `amber` is never better than `green`. `[progression.recruitment_target]`: children to enrol "
        "per local-authority slug (recruitment is rated only where given).",
        "",
        "Optional `[disclosure]` (the disclosure policy, analysis-plan.md §6.2): "
        + "; ".join(
            f"`{key}` one of {', '.join(f'`{c}`' for c in choices)} (default `{choices[0]}`)"
            for key, choices in DISCLOSURE_CHOICES.items()
        )
        + f"; `merge` (none by default): per characteristic ({', '.join(f'`{k}`' for k in MERGEABLE)}) a list of "
        "lists of two or more of its codes, each shown as one category in every unit (global recoding), e.g. "
        '`merge = { gender = [["other", "not_recorded"]] }`; `time_limit_seconds` (default '
        f"{Disclosure.time_limit_seconds}, {TIME_LIMIT_SECONDS[0]} to {TIME_LIMIT_SECONDS[1]}): the suppression "
        "programme's time limit, after which a heuristic pattern proven by the same audit is used.",
        "",
        "Optional `[trial]` (the authors' words for the trial's CONSORT checklist, `all/consort.html`; "
        "each a quoted string, published with the report, so it must hold no email address, postcode, "
        "NHS-number or UPN shape): "
        + "; ".join(f"`{key}` ({what})" for key, what in TRIAL_KEYS.items())
        + ". An item whose key is left out is listed as to write.",
        "",
    ]
    for name, model in CONTRACTS.items():
        out += _file_section(name, model)
    out += ["## Cross-file rules", ""]
    for file, column, target, target_column in LINKS:
        out.append(f"- every `{column}` in {file} exists in {target} (`{target_column}`)")
    out.append("- every `local_authority` in teams is a slug of study.toml `[local_authorities]`")
    out += [
        "",
        "## Privacy guards",
        "",
        "Every text cell of every data file in the folder (and every column name) is "
        "scanned; a hit refuses the folder, naming file, column and row, never the value:",
        "",
    ]
    out += [f"- {guard}" for guard in GUARDS]
    out.append(f"- a full date of birth in `{FULL_DATE_COLUMN}` (year and month only)")
    out += [
        "",
        "## Exclusion (analysis-plan.md §0)",
        "",
        "The latest `consent` row per participant holds (on a tie of dates, the most "
        "protective status: withdrawn, then objected, then restricted). Participants "
        "whose latest status is `withdrawn`, `objected` or `restricted` are removed, "
        "with all their rows, before any analysis.",
        "",
    ]
    return "\n".join(out)
