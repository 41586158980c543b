"""`kitbag combine DIR... --out STUDY`: several LAs' study folders (each written by `kitbag
pseudonymise`) into one study folder.

study.toml: the [study] settings and every other table must agree across the folders; the
[local_authorities] entries (and [progression.recruitment_target]) are joined, each LA once.
Rows are concatenated in the order the folders are given. A pseudonym or team id held by two
folders (a collision, or one folder given twice) is refused naming files and rows, never the
value. The study is built in a staging sibling, validated, then published by one rename.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

from data_contracts.errors import ContractViolation, Finding, UnusableInput
from data_contracts.failures import ValidationReport
from data_contracts.participants import PARTICIPANTS, TEAM_FILE
from data_contracts.reading import locate, plain_text, read_text
from data_contracts.schemas import CONTRACTS
from data_contracts.settings import SETTINGS_FILE
from data_contracts.validate import validate_study
from kitbag_analysis import atomic
from kitbag_analysis.intake.pseudonymise import MAX_ROWS_NAMED, Problem, check_out


def _flatten(data: dict, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    """Every setting of a parsed study.toml by its path of keys."""
    flat: dict[tuple[str, ...], object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, (*prefix, key)))
        else:
            flat[(*prefix, key)] = value
    return flat


def merged_settings(dirs: list[Path]) -> str:
    """One study.toml for the folders: shared settings equal, each LA's entries joined."""
    parsed = []
    for d in dirs:
        path = d / SETTINGS_FILE
        try:
            parsed.append(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            raise UnusableInput(f"{path}: missing or not a readable study.toml.") from None
    joined = {("local_authorities",), ("progression", "recruitment_target")}
    shared = [{p for p in _flatten(data) if p[:-1] not in joined} for data in parsed]
    for d, keys in zip(dirs[1:], shared[1:], strict=True):
        odd = sorted(keys ^ shared[0])
        if odd:
            where = d if odd[0] in keys else dirs[0]
            raise Finding(
                f"{where / SETTINGS_FILE}: sets `{'.'.join(odd[0])}` and {d if where == dirs[0] else dirs[0]} does "
                "not; folders combine only when their settings agree. Nothing was written."
            )
    merged: dict = {}
    owner: dict[tuple[str, ...], Path] = {}
    for d, data in zip(dirs, parsed, strict=True):
        for path, value in _flatten(data).items():
            table = path[:-1]
            if path in owner and (table in joined or _get(merged, path) != value):
                what = "names the same local authority" if table in joined else "differs"
                raise Finding(
                    f"{d / SETTINGS_FILE}: `{'.'.join(path)}` {what} as in {owner[path] / SETTINGS_FILE}; folders "
                    "combine only when their settings agree and each LA comes once. Nothing was written."
                )
            owner[path] = d
            node = merged
            for key in table:
                node = node.setdefault(key, {})
            node[path[-1]] = value
    return tomli_w.dumps(merged)


def _get(data: dict, path: tuple[str, ...]) -> object:
    for key in path:
        data = data[key]
    return data


def _collisions(dirs: list[Path], texts: dict[Path, dict[str, pd.DataFrame]]) -> None:
    """Refuse an id (pseudonym or team id) held by more than one folder, naming files and rows."""
    parts = []
    for k, d in enumerate(dirs):
        held = [(TEAM_FILE, "team_id"), *((p.file, p.id_column) for p in PARTICIPANTS), ("consent", "participant_id")]
        for file, column in held:
            ids = texts[d][file][column]
            parts.append(
                pd.DataFrame({"dir": k, "file": file, "row": np.arange(1, len(ids) + 1), "id": ids.to_numpy()})
            )
    every = pd.concat(parts, ignore_index=True).dropna(subset=["id"])
    spread = every.groupby("id")["dir"].transform("nunique")
    clash = every[spread > 1]
    if clash.empty:
        return
    n_ids = clash["id"].nunique()
    where = clash.groupby(["dir", "file"], sort=True)["row"].apply(lambda r: sorted(set(r)))
    named = "; ".join(
        f"{dirs[k] / f'{file}.csv'} row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:MAX_ROWS_NAMED]))}"
        + (f", … ({len(rows)} rows)" if len(rows) > MAX_ROWS_NAMED else "")
        for (k, file), rows in where.items()
    )
    raise Finding(
        f"{n_ids} id(s) (pseudonyms or team ids) appear in more than one folder: {named}. Two LAs' people must "
        "never share a pseudonym (each LA pseudonymises with its own key; a folder given twice collides with "
        "itself). Values are never shown; nothing was written."
    )


def _failures(report: ValidationReport) -> str:
    """Every failure by file, column and rows, never a value."""
    return "; ".join(
        Problem(f.file, f.column, f.check + (" (value not shown)" if f.privacy else ""), f.rows).describe()
        for f in report.failures
    )


def combine(dirs: list[str | Path], out: str | Path) -> tuple[list[str], list[tuple[str, ...]]]:
    """Write the study folder ``out`` (new or empty) from the LA folders ``dirs``; return the
    summary table (rows per file per folder)."""
    dirs, out = [Path(d) for d in dirs], Path(out)
    check_out(out)
    if len({d.resolve() for d in dirs}) < len(dirs):
        raise UnusableInput("the same folder is given more than once; nothing was written.")
    wanted = {SETTINGS_FILE, *(f"{n}.csv" for n in CONTRACTS), *(f"{n}.parquet" for n in CONTRACTS)}
    texts: dict[Path, dict[str, pd.DataFrame]] = {}
    for d in dirs:
        if not d.is_dir():
            raise UnusableInput(f"{d}: no such folder.")
        report = validate_study(d).report
        if not report.ok:
            raise ContractViolation(f"{d}: breaks its contracts, so nothing was written: {_failures(report)}.", report)
        others = sorted(p.name for p in d.iterdir() if p.name not in wanted)
        if others:
            raise UnusableInput(
                f"{d}: holds {len(others)} file(s) besides study.toml and the study files; combine takes folders "
                "as `kitbag pseudonymise` writes them (a log or note would be lost). Nothing was written."
            )
        texts[d] = {n: plain_text(read_text(locate(d, n))) for n in CONTRACTS}
    settings = merged_settings(dirs)
    _collisions(dirs, texts)

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic.staging_dir(out, "combine") as staged:
        for name, model in CONTRACTS.items():
            columns = list(model.to_schema().columns)
            frame = pd.concat([texts[d][name][columns] for d in dirs], ignore_index=True)
            atomic.write_with(
                staged / f"{name}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False, lineterminator="\n")
            )
        atomic.write_text(staged / SETTINGS_FILE, settings)
        report = validate_study(staged).report
        if not report.ok:
            raise ContractViolation(
                f"the combined study would break its contracts, so nothing was written: {_failures(report)} "
                "(rows of the combined files: the folders' rows in the order given).",
                report,
            )
        if out.exists():
            out.rmdir()
        atomic.publish_dir(staged, out)
    header = ["file", *(d.name for d in dirs), "study"]
    rows = [
        (f"{n}.csv", *(f"{len(texts[d][n]):,}" for d in dirs), f"{sum(len(texts[d][n]) for d in dirs):,}")
        for n in CONTRACTS
    ]
    return header, rows
