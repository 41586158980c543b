"""The `kitbag` command: a thin shell that parses arguments and calls the package.

Exit codes: 0 success, 1 a finding (failed contract, failed verify), 2 unusable input.
Errors are one readable paragraph; a traceback only with --debug.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kitbag_analysis.errors import KitbagError, UnusableInput

DEFAULT_STUDY = Path("data/synthetic")
DEFAULT_DEMO_OUT = Path("reports/demo")
MAX_ROWS_SHOWN = 6

out = Console(highlight=False, soft_wrap=False)
if not out.is_terminal:
    out.width = max(out.width, 120)
err = Console(stderr=True, highlight=False, soft_wrap=True)


# --- commands -----------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from data_contracts import validate_study
    from data_contracts.validate import is_archive

    started = time.perf_counter()
    validated = validate_study(args.study)
    report = validated.report
    seconds = time.perf_counter() - started
    kind = " of a long-term archive" if is_archive(Path(args.study)) else ""
    if report.ok:
        rows = sum(len(f) for f in validated.frames.values())
        out.print(
            f"[green]OK[/] {args.study}: every contract{kind} holds "
            f"({len(validated.frames)} files, {rows:,} rows, {seconds:.2f} s)."
        )
    else:
        print_failures(report)
    if not kind:
        _warn_pending_erasure(args.study, validated)
    return 0 if report.ok else 1


def _warn_pending_erasure(study: Path, validated) -> None:  # noqa: ANN001 - a ValidatedStudy
    """A warning (never a failure) when participants who withdrew before the analysis phase
    still have rows: the erasure `kitbag erase` would carry out is pending."""
    from kitbag_analysis.rights.erase import pending_erasure

    try:
        pending = pending_erasure(validated.frames, validated.settings.analysis_phase_start)
    except (KeyError, TypeError, ValueError, AttributeError):
        return  # frames too broken to tell: the folder's own failures were reported above
    if pending:
        counts = ", ".join(f"{kind}: {n:,}" for kind, n in pending.items())
        err.print(
            f"[yellow]Warning[/]: an erasure is pending in {escape(str(study))}: participants who withdrew before "
            f"the analysis phase still have rows ({counts}). Run `kitbag erase {escape(str(study))}` to see the "
            "plan and `--apply` to carry it out."
        )


def _shown(name: str) -> str:
    """A file or column name as the failure table shows it: markup escaped, and never a name
    that looks like personal data."""
    from data_contracts.guards import withheld_name

    return "(name not shown: it looks like personal data)" if withheld_name(name) else escape(name)


def print_failures(report) -> None:  # noqa: ANN001 - ValidationReport
    table = Table(title=f"Contract failures in {escape(str(report.study_dir))}", title_justify="left")
    for name in ("file", "column", "rows", "check", "count"):
        table.add_column(name, overflow="fold")
    table.caption = "rows: 1 = the first data row after the header (for a text file: its line)"
    for f in sorted(report.failures, key=lambda f: (f.file, f.column, f.check)):
        shown = ", ".join(map(str, f.rows[:MAX_ROWS_SHOWN]))
        if len(f.rows) > MAX_ROWS_SHOWN:
            shown += ", …"
        check = f.check + (" (value not shown)" if f.privacy else "")
        table.add_row(_shown(f.file), _shown(f.column), shown or "(whole file)", escape(check), str(f.count))
    out.print(table)
    out.print(f"{escape(report.summary())}. Values are never printed; look rows up in the file.")


def cmd_synth(args: argparse.Namespace) -> int:
    from kitbag_analysis.synthetic.generate import SynthSpec, write_study

    if args.children < 40:
        raise KitbagError("--children must be at least 40 (four authorities, ten teams each).")
    spec = SynthSpec(
        seed=args.seed,
        children=args.children,
        effect_size=args.effect_size,
        la_uptake=tuple((args.uptake or {}).items()),
    )
    from kitbag_analysis.synthetic.generate import SETTINGS

    unknown = sorted(set(dict(spec.la_uptake)) - set(SETTINGS.local_authorities))
    if unknown:
        raise KitbagError(
            f"--uptake names {', '.join(unknown)}, not a local authority of the synthetic study "
            f"({', '.join(SETTINGS.local_authorities)})."
        )
    if (args.out is None) == (args.raw is None):
        raise KitbagError("give exactly one of --out STUDY (a study folder) or --raw DIR (raw LA folders).")
    if args.raw is not None:
        from kitbag_analysis.synthetic.raw_folders import write_raw

        with out.status(f"Writing synthetic raw LA folders for {args.children:,} children to {args.raw}"):
            path = write_raw(args.raw, spec)
        return _done(f"Wrote a raw folder per LA to {path} (fixtures: fake names, UPNs, postcodes, dates of birth).")
    if args.survey_exports:
        from kitbag_analysis.intake.survey import check_draw_folder

        check_draw_folder(args.out, args.survey_exports, "the folder of exports")  # fake emails, never in the study
    with out.status(f"Writing a synthetic study of {args.children:,} children to {args.out}"):
        path = write_study(args.out, spec, fmt=args.format)
    out.print(
        f"Wrote synthetic study to {path} (seed {args.seed}, effect size "
        f"{args.effect_size}); true effects in {path / 'synthetic_truth.json'}."
    )
    if args.survey_exports:
        from kitbag_analysis.synthetic.survey_exports import write_survey_exports

        written = write_survey_exports(path, args.survey_exports, args.seed)
        out.print(
            f"Held the follow-up surveys back as platform exports (FAKE emails, IP addresses, names): "
            f"{', '.join(map(str, written))}; put them in with `kitbag intake-survey`."
        )
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from data_contracts.docs import render

    sys.stdout.write(render())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    return _batch(args.study, args.out, [args.unit], workers=1, scheduler=None, executor="inline")


def cmd_batch(args: argparse.Namespace) -> int:
    return _batch(args.study, args.out, None, workers=args.workers, scheduler=args.scheduler, executor=args.executor)


def cmd_monitor(args: argparse.Namespace) -> int:
    import datetime as dt

    cut = args.as_of or dt.date.today()
    return _batch(
        args.study,
        args.out,
        None,
        workers=args.workers,
        scheduler=None,
        executor=args.executor,
        kind="monitoring",
        cut=cut,
    )


def _batch(
    study: Path,
    out_dir: Path,
    units: list[str] | None,
    workers: int | None,
    scheduler: str | None,
    executor: str | None = None,
    kind: str = "report",
    cut=None,  # noqa: ANN001 - datetime.date | None (imported lazily: start-up cost)
) -> int:
    from kitbag_analysis.runs.batch import run_batch

    started = time.perf_counter()

    def done(outcome) -> None:  # noqa: ANN001 - UnitOutcome
        if outcome.status == "ok":
            out.print(f"[green]done[/] {outcome.unit} ({outcome.seconds:.1f} s)")
        else:
            out.print(f"[red]FAILED[/] {outcome.unit}: {escape(outcome.error)}")

    from kitbag_analysis.runs.executors import executor_for

    chosen = executor_for(executor, workers, scheduler)
    where = {"dask": f"the Dask cluster at {scheduler}", "inline": "this process"}.get(
        chosen.name, f"{workers or 'all'} local worker(s)"
    )
    with out.status(f"Validating {study} and running {', '.join(units) if units else 'every unit'} on {where}"):
        result = run_batch(
            study,
            out_dir,
            units=units,
            workers=workers,
            scheduler=scheduler,
            on_done=done,
            executor=chosen.name,
            kind=kind,
            cut=cut,
        )
    seconds = time.perf_counter() - started
    what = f"Monitoring reports (data cut {cut})" if kind == "monitoring" else "Reports"
    out.print(
        f"{what} in {out_dir} ({seconds:.1f} s): open {out_dir / 'index.html'}; "
        f"audit stamp in {out_dir / 'manifest.json'}."
    )
    if result.failed:
        names = ", ".join(o.unit for o in result.failed)
        log = f" Tracebacks (private, not published): {result.log}." if result.log else ""
        err.print(
            f"kitbag: {len(result.failed)} unit(s) failed ({names}); each left an error.txt "
            f"instead of a report. The other units completed.{log}",
            markup=False,
        )
        return 1
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from kitbag_analysis.runs.verify import verify

    differences, notes = verify(args.dir)
    for note in notes:
        out.print(f"note: {note}")
    if differences:
        for line in differences:
            out.print(f"[red]DIFFERS[/] {line}")
        out.print(f"{len(differences)} difference(s) from {args.dir / 'manifest.json'}.")
        return 1
    out.print(f"[green]OK[/] every output in {args.dir} matches its manifest.")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from kitbag_analysis.errors import UnusableInput
    from kitbag_analysis.runs.release import audit_with_ledger

    if not args.dir.is_dir():
        raise UnusableInput(
            f"{args.dir}: no such folder, so there is no bundle to audit (a run that was refused or failed "
            "publishes nothing; its message said why)."
        )
    result = audit_with_ledger(args.dir)
    lines = [
        f"[red]NARROW[/] {escape(n.key.label)}: pinned to an interval {n.width:.1f} wide (at least "
        f"{result.threshold} required)"
        for n in result.narrow
    ] + [f"[red]LEDGER[/] {escape(f.key.label)}: {f.why} (release {f.run_id})" for f in result.ledger]
    against = f" and the {len(result.earlier)} earlier release(s) in the study's ledger" if result.earlier else ""
    verdict = (
        f"{len(result.narrow) + len(result.ledger)} cell(s) of {args.dir} are not protected given everything "
        f"published{against}."
        if not result.ok
        else f"[green]OK[/] {result.suppressed} suppressed cell(s) across {len(result.units)} unit(s) of {args.dir}: "
        f"each is at least {result.threshold} wide given everything published{against}, or as wide as the "
        "counts published exactly (the trial-process counts) leave it."
    )
    out.print("\n".join([*lines, verdict]))
    return 0 if result.ok else 1


def cmd_release(args: argparse.Namespace) -> int:
    from kitbag_analysis.runs.release import record_release

    done = record_release(args.dir, args.by or "", args.note or "")
    if done.already:
        out.print(
            f"{args.dir}: run {done.entry.run_id} is already in the ledger (released {done.entry.released_at}); "
            "nothing was recorded."
        )
        return 0
    cells = sum(c["measure"] == "n" for c in done.entry.cells)
    out.print(
        f"[green]RELEASED[/] run {done.entry.run_id} ({done.entry.kind}, {len(done.entry.units)} unit(s), {cells} "
        f"counts) recorded in the study's release ledger at {done.entry.released_at}. Later runs are protected "
        "against it."
    )
    return 0


def cmd_releases(args: argparse.Namespace) -> int:
    from kitbag_analysis.runs.release import list_releases

    ledger = list_releases(args.study)
    if not ledger.entries:
        out.print(f"{args.study}: no release recorded yet.")
        return 0
    rows = [
        (
            e.run_id,
            e.kind,
            e.created_at[:10],
            e.released_at[:19],
            e.approver,
            e.note,
            ", ".join(e.units),
            f"{len(e.cells):,}",
        )
        for e in ledger.entries
    ]
    _table(
        f"Release ledger of {args.study}",
        ["run id", "kind", "created", "released (UTC)", "approver", "note", "units", "cells"],
        rows,
    )
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    from kitbag_analysis.rights.erase import apply_erasure, interrupted_erasure, plan_erasure

    plan = plan_erasure(args.study)
    table = Table(title=f"Erasure plan for {args.study}: withdrawn before analysis_phase_start")
    table.add_column("file")
    table.add_column("rows to remove", justify="right")
    for file, n in plan.rows.items():
        table.add_row(escape(file), f"{n:,}")
    out.print(table)
    people = "; ".join(
        f"{kind}: {n} ({plan.present[kind]} with rows in the files, {n - plan.present[kind]} in the register "
        "only: their data are already gone)"
        for kind, n in plan.participants.items()
    )
    kept = ", ".join(f"{k}: {v}" for k, v in plan.kept_after_start.items())
    out.print(
        f"Participants to erase (consent register): {people}. consent.csv keeps their register rows as the "
        "record of withdrawal."
    )
    out.print(f"Kept, excluded from analysis (withdrew after the analysis phase began): {kept}.")
    pending = interrupted_erasure(args.study)
    if pending:
        out.print(f"An erasure begun at {pending['started_at']} was interrupted; --apply finishes and logs it.")
    return _plan_or_apply(
        args.apply,
        lambda: apply_erasure(args.study, plan),
        "erase",
        lambda entry: (
            f"Erased {sum(entry['rows_removed'].values()):,} rows"
            f"{' (finishing the interrupted erasure)' if pending else ''}; every file re-validated; logged in "
            f"{args.study / 'erasure_log.json'} (counts and hashes, no ids)."
        ),
    )


def _plan_or_apply(apply: bool, run: Callable[[], dict | None], verb: str, done: Callable[[dict], str]) -> int:
    """After a plan is shown: stop there, or carry it out and say what was done."""
    if not apply:
        return _done(f"This was the plan only; nothing was changed. Run with --apply to {verb}.")
    entry = run()
    return _done(f"Nothing to {verb}; no file was changed." if entry is None else done(entry))


def _done(message: str) -> int:
    """Say what a command did; success."""
    out.print(message)
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from kitbag_analysis.study.empty_folder import write_template

    folder = write_template(args.out)
    return _done(
        f"Wrote an empty study folder to {folder}: header-only files, a commented study.toml and README.md "
        f"(the data dictionary). Fill it, then run `kitbag validate {folder}`."
    )


def cmd_rectify(args: argparse.Namespace) -> int:
    from kitbag_analysis.rights.rectify import RECTIFICATION_LOG, apply_rectification, plan_rectification

    plan = plan_rectification(args.study, args.corrections)
    table = Table(title=f"Rectification plan for {escape(str(args.study))}")
    for name in ("file", "column", "rows corrected"):
        table.add_column(name)
    for file, columns in plan.changes.items():
        for column, n in columns.items():
            table.add_row(escape(file), escape(column), f"{n:,}")
    out.print(table)
    return _plan_or_apply(
        args.apply,
        lambda: apply_rectification(args.study, plan),
        "correct the files",
        lambda entry: (
            f"Corrected {plan.total:,} value(s); the folder was re-validated before any file changed; "
            f"logged in {args.study / RECTIFICATION_LOG} (counts and hashes, no values or ids)."
        ),
    )


def cmd_export_subject(args: argparse.Namespace) -> int:
    import json

    from kitbag_analysis import atomic
    from kitbag_analysis.rights.access import export_subject

    if args.out and args.out.exists() and not args.force:
        raise UnusableInput(f"{args.out} exists; choose a new file or add --force to replace it.")
    record = export_subject(args.study, args.id)
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        atomic.write_private_text(args.out, text)  # mode 0600: one person's rows
        out.print(f"Wrote every row held for the pseudonym to {args.out} (readable by you only).")
    else:
        sys.stdout.write(text)
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from kitbag_analysis.rights.retention import LOGS_FATE, retention

    r = retention(args.study, args.today, args.prize_draw)
    table = Table(title=f"Retention clocks of {escape(str(args.study))} on {r.today}", title_justify="left")
    for name in ("category", "clock starts", "rule", "due", "status", "what to do"):
        table.add_column(name, overflow="fold")
    for c in r.clocks:
        status = f"[red]{c.status}[/]" if c.status == "due" else c.status
        table.add_row(*map(escape, (c.category, c.starts, c.rule, str(c.due or "—"))), status, escape(c.action))
    out.print(table)
    primary = r.primary
    if primary.status == "due":
        out.print(
            f"[red]PAST RETENTION[/]: primary data were to be kept until {primary.due} "
            f"({primary.starts} + 12 months; today {r.today}). Must now be deleted (after `kitbag archive` has "
            "made the reduced copy for the ONS Secure Research Service):"
        )
        for file, rows in r.primary_data:
            out.print(f"  {file} ({rows:,} rows)")
    else:
        out.print(f"Within retention: primary data may be kept until {primary.due} (today {r.today}).")
    held = "; ".join(f"{name} ({'present' if there else 'none yet'}): {what}" for name, there, what in r.logs)
    out.print(f"The workbench's logs: {escape(held)}. They are {LOGS_FATE}.")
    return 1 if r.findings else 0


def cmd_intake_survey(args: argparse.Namespace) -> int:
    from kitbag_analysis.intake.survey import intake_survey

    s = intake_survey(args.export, args.population, args.wave, args.study, args.prize_draw, args.map)
    dropped = ", ".join(f"{escape(k)} ({v:,} non-blank cells)" for k, v in s.dropped.items()) or "none"
    mapped = f" Mapped by --map: {len(s.mapped)} column(s)." if s.mapped else ""
    out.print(
        f"Added {s.rows:,} {s.wave} row(s) to {args.study / s.measures_file}; the study was re-validated before "
        f"the file was replaced.{mapped} Emails for the prize draw: {s.emails:,} in this export, {s.entrants:,} "
        f"distinct in {args.prize_draw / 'entrants.csv'} (emails only, mode 0600). Platform columns dropped: "
        f"{len(s.dropped)}: {dropped}. The export itself still holds emails and platform identifiers: delete it."
    )
    return 0


def cmd_prize_draw(args: argparse.Namespace) -> int:
    from kitbag_analysis.rights.prize_draw import prize_draw

    def announce(winners: list[str]) -> None:
        out.print(f"Winners (seed {args.seed}), for the one who sends the vouchers; shown once, not stored:")
        for number, email in enumerate(winners, start=1):
            out.print(f"  {number}. {escape(email)}")

    d = prize_draw(args.dir, args.winners, args.seed, announce)
    return _done(
        f"Drew {d.winners} of {d.entrants} entrant(s); deleted {d.files_deleted} file(s) of the list (bytes "
        f"overwritten with zeros, then unlinked: copy-on-write file systems, SSDs, snapshots and backups may still "
        f"hold older copies). Logged in {d.log} (counts, seed, date; no email)."
    )


def cmd_archive(args: argparse.Namespace) -> int:
    from kitbag_analysis.rights.archive import archive

    dropped = ", ".join(f"{k}: {v}" for k, v in archive(args.study, args.out)["dropped"].items())
    return _done(
        f"Archive written to {args.out}: excluded participants dropped ({dropped}), birth_year_month "
        f"coarsened to the year, contracts re-checked; hashes in {args.out / 'archive_manifest.json'}."
    )


def demo_spec():  # noqa: ANN201 - a SynthSpec (imported lazily: start-up cost)
    """The built-in synthetic study: the default spec (real trial scale)."""
    from kitbag_analysis.synthetic.generate import SynthSpec

    return SynthSpec()


def _table(title: str, header: list[str], rows: list[tuple[str, ...]]) -> None:
    table = Table(title=escape(title), title_justify="left")
    for name in header:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*map(escape, row))
    out.print(table)


def cmd_key(args: argparse.Namespace) -> int:
    from kitbag_analysis.intake.keys import new_key

    return _done(
        f"Wrote a new pseudonymisation key to {new_key(args.out)} (32 random bytes, mode 0600). Keep it at the "
        "LA and never send it; use it for every return (the same key gives the same pseudonyms)."
    )


def cmd_pseudonymise(args: argparse.Namespace) -> int:
    from kitbag_analysis.intake.pseudonymise import pseudonymise, summary_table

    summary = pseudonymise(args.raw, args.key, args.la, args.out)
    _table(f"Pseudonymised {args.raw} for {args.la}", *summary_table(summary))
    for warning in summary.warnings:
        err.print(f"warning: {warning}", markup=False)
    return _done(
        f"Wrote {args.la}'s study folder to {summary.out}; every contract holds (`kitbag validate`). "
        f"{', '.join(f'{n}.csv' for n in summary.empty)}: header only (from `kitbag intake-survey`)."
    )


def cmd_combine(args: argparse.Namespace) -> int:
    from kitbag_analysis.intake.combine import combine

    header, rows = combine(args.dirs, args.out)
    _table(f"Combined {len(args.dirs)} folder(s) into {args.out}", header, rows)
    return _done(f"Wrote the study folder {args.out}; every contract holds (`kitbag validate`).")


def cmd_demo(args: argparse.Namespace) -> int:
    from kitbag_analysis.synthetic.generate import write_study

    study_dir = Path(args.study)
    if not (study_dir / "study.toml").exists():
        with out.status(f"Making the synthetic study in {study_dir}"):
            write_study(study_dir, demo_spec())
        out.print(f"Made the built-in synthetic study in {study_dir}.")
    return _batch(study_dir, Path(args.out), None, workers=None, scheduler=None)


# --- parser -------------------------------------------------------------------------------
STUDY_HELP = "the study folder (study.toml and the files of `kitbag docs`)"


def iso_date(text: str):  # noqa: ANN201 - datetime.date
    """A date given as YYYY-MM-DD (argparse type); anything else is refused with that said."""
    import datetime as dt

    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give the date as YYYY-MM-DD, e.g. 2023-03-01") from None


def la_shares(text: str) -> dict[str, float]:
    """``slug=share[,slug=share...]`` with shares from 0 to 1 (argparse type)."""
    shares: dict[str, float] = {}
    for part in text.split(","):
        slug, _, value = part.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not slug.strip() or not 0 <= share <= 1:
            raise argparse.ArgumentTypeError("give slug=share pairs with shares from 0 to 1, e.g. bexley=0.2")
        shares[slug.strip()] = share
    return shares


def positive(text: str) -> int:
    """A whole number of at least 1 (argparse type)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("give a whole number of at least 1")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    from kitbag_analysis import __version__

    common = argparse.ArgumentParser(add_help=False)  # --debug before or after the command
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on error")
    parser = argparse.ArgumentParser(
        prog="kitbag",
        parents=[common],
        description="Evaluation workbench for the 'Putting Kitbags to Work' trial. Exit codes: 0 success, "
        "1 a finding (failed contract, verify or audit), 2 unusable input.",
    )
    parser.add_argument("--version", action="version", version=f"kitbag {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            parents=[common],
            help=help_,
            description=help_,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        p.set_defaults(fn=fn)
        return p

    p = add("validate", cmd_validate, "check every contract of a study folder")
    p.add_argument("study", type=Path, help=STUDY_HELP)

    p = add("synth", cmd_synth, "write a synthetic study folder with known true effects")
    p.add_argument("--out", type=Path, default=None, help="a new or empty folder for the study")
    p.add_argument("--raw", type=Path, default=None, help="instead: a new or empty folder for raw LA folders")
    p.add_argument("--seed", type=int, default=20210423, help="random seed (the same seed, the same study)")
    p.add_argument("--children", type=int, default=9000, help="number of children (at least 40)")
    p.add_argument("--effect-size", type=float, default=0.2, help="true standardised effect of Kitbags")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv", help="file format of the study files")
    p.add_argument(
        "--uptake",
        type=la_shares,
        default=None,
        metavar="LA=P[,LA=P...]",
        help="the chance a Kitbags-arm practitioner or carer answers sometimes/often at follow-up, per LA "
        "(e.g. bexley=0.2,haringey=0.8; None: as generated)",
    )
    p.add_argument(
        "--survey-exports", type=Path, default=None, help="hold the follow-up surveys back as platform exports here"
    )

    add("docs", cmd_docs, "print the data dictionary (Markdown) generated from the contracts")

    p = add("template", cmd_template, "an empty study folder for a local authority's data team")
    p.add_argument("--out", type=Path, required=True, help="a new or empty folder")

    p = add("report", cmd_report, "run the report notebooks for one unit and render HTML (a bundle of one unit)")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("--unit", required=True, help="a local authority slug from study.toml, or all")
    p.add_argument("--out", type=Path, required=True, help="the bundle folder: new, empty or a previous bundle")

    p = add("batch", cmd_batch, "every local authority plus all, in parallel, with index and manifest")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("--out", type=Path, required=True, help="the bundle folder: new, empty or a previous bundle")
    p.add_argument("--workers", type=int, default=None, help="parallel units (None: one per core)")
    p.add_argument("--scheduler", default=None, help="address of a Dask distributed scheduler (None: local)")
    p.add_argument(
        "--executor",
        choices=("inline", "processes", "dask"),
        default=None,
        help="where units run (None: dask with --scheduler, inline with --workers 1, else processes)",
    )

    p = add(
        "monitor",
        cmd_monitor,
        "interim monitoring: recruitment, uptake, contamination, completeness, rated against [progression]",
    )
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("--out", type=Path, required=True, help="the bundle folder: new, empty or a previous bundle")
    p.add_argument(
        "--as-of", type=iso_date, default=None, help="the data cut, YYYY-MM-DD: later data are left out (None: today)"
    )
    p.add_argument("--workers", type=int, default=None, help="parallel units (None: one per core)")
    p.add_argument(
        "--executor",
        choices=("inline", "processes"),
        default=None,
        help="where units run (None: inline with --workers 1, else processes)",
    )

    p = add("verify", cmd_verify, "re-check a bundle's audit stamp (outputs, run ids, inputs if reachable)")
    p.add_argument("dir", type=Path, help="a bundle folder written by report or batch")

    p = add("audit", cmd_audit, "re-run the disclosure audit on a finished bundle (exit 1 if a cell is narrow)")
    p.add_argument("dir", type=Path, help="a bundle folder written by report or batch")

    p = add("release", cmd_release, "record an approved bundle in its study's release ledger (verify + audit first)")
    p.add_argument("dir", type=Path, help="a bundle folder written by report, batch or monitor")
    p.add_argument("--by", default="", help="who approved the release (the output checker)")
    p.add_argument("--note", default="", help="a note kept with the release (e.g. 'interim report to funder')")

    p = add("releases", cmd_releases, "list the study's release ledger")
    p.add_argument("study", type=Path, help=STUDY_HELP)

    p = add("erase", cmd_erase, "plan (default) or apply the erasure of participants who withdrew early")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("--apply", action="store_true", help="carry the plan out (atomically, logged)")

    p = add("rectify", cmd_rectify, "plan (default) or apply corrections of incorrect data (right to rectification)")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("corrections", type=Path, help="CSV with file, id, column, new_value (and wave/month/episode_start)")
    p.add_argument("--apply", action="store_true", help="carry the plan out (atomically, re-validated, logged)")

    p = add("export-subject", cmd_export_subject, "every row held for one pseudonym, as JSON")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("id", help="the pseudonym: C, P or F and 16 hex digits")
    p.add_argument("--out", type=Path, default=None, help="write to this file, mode 0600 (None: standard output)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")

    p = add("retention", cmd_retention, "every category's retention clock: what is due, and when")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument(
        "--on",
        "--today",
        dest="today",
        type=iso_date,
        default=None,
        help="the day to judge by, YYYY-MM-DD (None: today)",
    )
    p.add_argument("--prize-draw", type=Path, default=None, help="the prize-draw folder, to check its list is gone")

    p = add("intake-survey", cmd_intake_survey, "a survey platform's export into the study; emails to the prize draw")
    p.add_argument("export", type=Path, help="the platform's CSV export")
    p.add_argument("--population", required=True, choices=["practitioners", "carers"], help="who answered")
    p.add_argument("--wave", required=True, choices=["baseline", "followup"], help="the survey wave")
    p.add_argument("--study", type=Path, required=True, help=STUDY_HELP)
    p.add_argument("--prize-draw", type=Path, required=True, help="the prize-draw folder (outside the study folder)")
    p.add_argument("--map", type=Path, default=None, help="TOML table of export column = item (None: names as in docs)")

    p = add("prize-draw", cmd_prize_draw, "draw the winners reproducibly, print them once, delete the email list")
    p.add_argument("dir", type=Path, help="the prize-draw folder that intake-survey filled")
    p.add_argument("--winners", type=positive, required=True, help="how many winners")
    p.add_argument("--seed", type=int, required=True, help="the seed (the same list and seed, the same winners)")

    p = add("archive", cmd_archive, "the reduced, pseudonymised copy for the long-term archive")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("--out", type=Path, required=True, help="a new or empty folder for the archive")

    p = add("key", cmd_key, "make the LA's secret pseudonymisation key (`kitbag key new --out KEYFILE`)")
    p.add_argument("action", choices=["new"], help="new: a fresh key; an existing file is never overwritten")
    p.add_argument("--out", type=Path, required=True, help="the key file to create (mode 0600)")

    p = add("pseudonymise", cmd_pseudonymise, "an LA's raw extracts to its study folder, with keyed pseudonyms")
    p.add_argument("raw", type=Path, help="the raw folder an LA exports (README: Intake)")
    p.add_argument("--key", type=Path, required=True, help="the LA's key file (`kitbag key new`)")
    p.add_argument("--la", required=True, help="the LA's slug, e.g. bexley")
    p.add_argument("--out", type=Path, required=True, help="a new or empty folder for the LA's study folder")

    p = add("combine", cmd_combine, "several LAs' study folders into one study folder")
    p.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="folders written by `kitbag pseudonymise`")
    p.add_argument("--out", type=Path, required=True, help="a new or empty folder for the study")

    p = add("demo", cmd_demo, "make the synthetic study if absent and run the whole batch on it")
    p.add_argument("--study", type=Path, default=DEFAULT_STUDY, help="where the synthetic study is (or is made)")
    p.add_argument("--out", type=Path, default=DEFAULT_DEMO_OUT, help="the bundle folder")
    return parser


RUNS = ("batch", "report", "demo", "monitor")  # the commands that publish a bundle


class _ProgressLine(logging.Handler):
    """The disclosure pattern's progress (`sdc.pattern` logs a line per round) on standard error, as
    one line rewritten in place on a terminal (nothing in a log or a pipe, where every other line of
    a command is one paragraph)."""

    pending = False  # a line is on the terminal, not yet ended

    def emit(self, record: logging.LogRecord) -> None:
        if err.is_terminal:
            final = getattr(record, "final", False)
            err.file.write(f"\rkitbag: {record.getMessage()}\x1b[K" + ("\n" if final else ""))
            err.file.flush()
            _ProgressLine.pending = not final

    @staticmethod
    def clear() -> None:
        """End a pending progress line, so what follows starts on a line of its own."""
        if _ProgressLine.pending:
            err.file.write("\r\x1b[K")
            _ProgressLine.pending = False


def _show_progress() -> None:
    logger = logging.getLogger("kitbag.disclosure")
    if not any(isinstance(h, _ProgressLine) for h in logger.handlers):
        logger.addHandler(_ProgressLine())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    from kitbag_analysis.cli import signals

    signals.during()
    _show_progress()
    args = argparse.Namespace(debug="--debug" in (sys.argv[1:] if argv is None else argv), command="")
    try:
        args = build_parser().parse_args(argv)
        args.debug = getattr(args, "debug", False)  # given before or after the command, or not at all
        return args.fn(args)
    except KitbagError as exc:
        _ProgressLine.clear()
        if args.debug:
            raise
        err.print(f"kitbag {args.command}: {exc}", markup=False)
        return exc.exit_code
    except (KeyboardInterrupt, signals.Terminated) as exc:
        _ProgressLine.clear()
        run = args.command in RUNS
        err.print(f"kitbag: interrupted;{' no report was published.' if run else ' stopped.'}", markup=False)
        code = signals.EXIT_CODES[signal.SIGTERM if isinstance(exc, signals.Terminated) else signal.SIGINT]
        if run:  # staging and the private folder are gone; the killed pool's threads need no join
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code
    except Exception as exc:  # an unexpected failure still gets one readable paragraph
        if args.debug:
            raise
        err.print(
            f"kitbag {args.command}: could not complete ({type(exc).__name__}: {exc}). "
            "Nothing was changed in the study folder. Re-run with --debug for the "
            "traceback.",
            markup=False,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
