"""The `kitbag` command: a thin shell that parses arguments and calls the package.

Exit codes: 0 success, 1 a finding (failed contract, failed verify), 2 unusable input.
Errors are one readable paragraph; a traceback only with --debug.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from data_contracts.errors import KitbagError

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

    started = time.perf_counter()
    validated = validate_study(args.study)
    report = validated.report
    seconds = time.perf_counter() - started
    if report.ok:
        rows = sum(len(f) for f in validated.frames.values())
        out.print(
            f"[green]OK[/] {args.study}: every contract holds "
            f"({len(validated.frames)} files, {rows:,} rows, {seconds:.2f} s)."
        )
        return 0
    print_failures(report)
    return 1


def _shown(name: str) -> str:
    """A file or column name as the failure table shows it: markup escaped, and never a name
    that looks like personal data."""
    from data_contracts.guards import contains_identifier

    return "(name not shown: it looks like personal data)" if contains_identifier(name) else escape(name)


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
    from kitbag_analysis.synth import SynthSpec, write_study

    if args.children < 40:
        raise KitbagError("--children must be at least 40 (four authorities, ten teams each).")
    spec = SynthSpec(seed=args.seed, children=args.children, effect_size=args.effect_size)
    if (args.out is None) == (args.raw is None):
        raise KitbagError("give exactly one of --out STUDY (a study folder) or --raw DIR (raw LA folders).")
    if args.raw is not None:
        from kitbag_analysis.intake.raw_synth import write_raw

        with out.status(f"Writing synthetic raw LA folders for {args.children:,} children to {args.raw}"):
            path = write_raw(args.raw, spec)
        return _done(f"Wrote a raw folder per LA to {path} (fixtures: fake names, UPNs, postcodes, dates of birth).")
    with out.status(f"Writing a synthetic study of {args.children:,} children to {args.out}"):
        path = write_study(args.out, spec, fmt=args.format)
    out.print(
        f"Wrote synthetic study to {path} (seed {args.seed}, effect size "
        f"{args.effect_size}); true effects in {path / 'synthetic_truth.json'}."
    )
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from data_contracts.docs import render

    sys.stdout.write(render())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    return _batch(args.study, args.out, [args.unit], workers=1, scheduler=None)


def cmd_batch(args: argparse.Namespace) -> int:
    return _batch(args.study, args.out, None, workers=args.workers, scheduler=args.scheduler)


def _batch(study: Path, out_dir: Path, units: list[str] | None, workers: int | None, scheduler: str | None) -> int:
    from kitbag_analysis.batch import run_batch

    started = time.perf_counter()

    def done(outcome) -> None:  # noqa: ANN001 - UnitOutcome
        if outcome.status == "ok":
            out.print(f"[green]done[/] {outcome.unit} ({outcome.seconds:.1f} s)")
        else:
            out.print(f"[red]FAILED[/] {outcome.unit}: {escape(outcome.error)}")

    where = f"the Dask cluster at {scheduler}" if scheduler else f"{workers or 'all'} local worker(s)"
    with out.status(f"Validating {study} and running {', '.join(units) if units else 'every unit'} on {where}"):
        result = run_batch(study, out_dir, units=units, workers=workers, scheduler=scheduler, on_done=done)
    seconds = time.perf_counter() - started
    out.print(
        f"Reports in {out_dir} ({seconds:.1f} s): open {out_dir / 'index.html'}; "
        f"audit stamp in {out_dir / 'manifest.json'}."
    )
    if result.failed:
        names = ", ".join(o.unit for o in result.failed)
        err.print(
            f"kitbag: {len(result.failed)} unit(s) failed ({names}); each left an error.txt "
            "instead of a report. The other units completed."
        )
        return 1
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from kitbag_analysis.verify import verify

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
    from kitbag_analysis.release_audit import audit_bundle

    result = audit_bundle(args.dir)
    lines = [
        f"[red]NARROW[/] {escape(n.key.label)}: pinned to an interval {n.width:.1f} wide (at least "
        f"{result.threshold} required)"
        for n in result.narrow
    ]
    verdict = (
        f"{len(result.narrow)} suppressed cell(s) of {args.dir} are not protected."
        if result.narrow
        else f"[green]OK[/] {result.suppressed} suppressed cell(s) across {len(result.units)} unit(s) of {args.dir}: "
        f"each is at least {result.threshold} wide given everything published."
    )
    out.print("\n".join([*lines, verdict]))
    return 1 if result.narrow else 0


def cmd_erase(args: argparse.Namespace) -> int:
    from kitbag_analysis.privacy import apply_erasure, interrupted_erasure, plan_erasure

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
    from kitbag_analysis.template import write_template

    folder = write_template(args.out)
    return _done(
        f"Wrote an empty study folder to {folder}: header-only files, a commented study.toml and README.md "
        f"(the data dictionary). Fill it, then run `kitbag validate {folder}`."
    )


def cmd_rectify(args: argparse.Namespace) -> int:
    from kitbag_analysis.rectification import RECTIFICATION_LOG, apply_rectification, plan_rectification

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

    from kitbag_analysis.privacy import export_subject

    record = export_subject(args.study, args.id)
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        out.print(f"Wrote every row held for the pseudonym to {args.out}.")
    else:
        sys.stdout.write(text)
    return 0


def cmd_retention(args: argparse.Namespace) -> int:

    from kitbag_analysis.privacy import retention

    r = retention(args.study, args.today)
    if not r["past"]:
        out.print(
            f"Within retention: primary data may be kept until {r['delete_after']} "
            f"(final collection {r['final_collection']} + 12 months; today {r['today']})."
        )
        return 0
    out.print(
        f"[red]PAST RETENTION[/]: primary data were to be kept until {r['delete_after']} "
        f"(final collection {r['final_collection']} + 12 months; today {r['today']})."
    )
    out.print(
        "Must now be deleted (after `kitbag archive` has made the reduced copy for the ONS Secure Research Service):"
    )
    for f in r["primary_data"]:
        out.print(f"  {f['file']} ({f['rows']:,} rows)")
    return 1


def cmd_archive(args: argparse.Namespace) -> int:
    from kitbag_analysis.privacy import archive

    dropped = ", ".join(f"{k}: {v}" for k, v in archive(args.study, args.out)["dropped"].items())
    return _done(
        f"Archive written to {args.out}: excluded participants dropped ({dropped}), birth_year_month "
        f"coarsened to the year, contracts re-checked; hashes in {args.out / 'archive_manifest.json'}."
    )


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
    from kitbag_analysis.synth import SynthSpec, write_study

    study_dir = Path(args.study)
    if not (study_dir / "study.toml").exists():
        with out.status(f"Making the synthetic study in {study_dir}"):
            write_study(study_dir, SynthSpec())
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


def build_parser() -> argparse.ArgumentParser:
    from kitbag_analysis import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on error")
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

    p = add("verify", cmd_verify, "re-check a bundle's audit stamp (outputs, run ids, inputs if reachable)")
    p.add_argument("dir", type=Path, help="a bundle folder written by report or batch")

    p = add("audit", cmd_audit, "re-run the disclosure audit on a finished bundle (exit 1 if a cell is narrow)")
    p.add_argument("dir", type=Path, help="a bundle folder written by report or batch")

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
    p.add_argument("--out", type=Path, default=None, help="write to this file (None: standard output)")

    p = add("retention", cmd_retention, "is the folder past final_collection + 12 months, and what goes")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("--today", type=iso_date, default=None, help="the date to judge by, YYYY-MM-DD (None: today)")

    p = add("archive", cmd_archive, "the reduced, pseudonymised copy for the long-term archive")
    p.add_argument("study", type=Path, help=STUDY_HELP)
    p.add_argument("--out", type=Path, required=True, help="a new or empty folder for the archive")

    p = add("key", cmd_key, "make the LA's secret pseudonymisation key (`kitbag key new --out KEYFILE`)")
    p.add_argument("action", choices=["new"], help="new: a fresh key; an existing file is never overwritten")
    p.add_argument("--out", type=Path, required=True, help="the key file to create (mode 0600)")

    p = add("pseudonymise", cmd_pseudonymise, "an LA's raw extracts to its study folder, with keyed pseudonyms")
    p.add_argument("raw", type=Path, help="the raw folder (study-data.md, Intake)")
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


class Terminated(BaseException):
    """SIGTERM, raised where the process is so that every cleanup runs (exit 143)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.fn(args)
    except KitbagError as exc:
        if args.debug:
            raise
        err.print(f"kitbag {args.command}: {exc}", markup=False)
        return exc.exit_code
    except (KeyboardInterrupt, Terminated) as exc:
        run = args.command in ("batch", "report", "demo")
        err.print(f"kitbag: interrupted;{' no report was published.' if run else ' stopped.'}", markup=False)
        code = 143 if isinstance(exc, Terminated) else 130
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
