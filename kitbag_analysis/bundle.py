"""The report bundle (outputs.md): papermill runs, offline HTML, atomic unit folders,
index.html, manifest.json and `verify`."""

from __future__ import annotations

import atexit
import html
import json
import os
import pickle
import shutil
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from data_contracts import KitbagError, UnusableInput
from kitbag_analysis.audit import REPO_ROOT, new_stamp, sha256
from kitbag_analysis.study import Study, excluded, load_study
from kitbag_analysis.units import check_unit

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
EFFECTIVENESS = NOTEBOOK_DIR / "effectiveness_report.ipynb"
DATA_QUALITY = NOTEBOOK_DIR / "data_quality.ipynb"
NOTEBOOKS = (EFFECTIVENESS, DATA_QUALITY)
TEMPLATES = Path(__file__).resolve().parent / "templates"
MANIFEST = "manifest.json"
ERROR_FILE = "error.txt"


@dataclass
class UnitOutcome:
    """How one unit's run ended."""

    unit: str
    status: str  # ok | failed
    seconds: float
    error: str = ""
    excluded: dict | None = None
    parameters: dict | None = None


# --- one unit ------------------------------------------------------------------------------
def render_html(notebook: Path, target: Path) -> None:
    """The executed notebook as HTML with code hidden, opening with no network request."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="kitbag_offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_filename(str(notebook))
    target.write_text(body, encoding="utf-8")


_KERNEL: dict = {}


def _kernel():
    """This process's kernel, started once and reused for every notebook it runs.

    Kernel start-up and the analysis imports are most of a notebook's wall time; each worker
    pays them once. The namespace is reset before each notebook (`%reset -f`), so units do not
    see each other's variables; the kernel ends with the worker (atexit).
    """
    from jupyter_client.manager import KernelManager

    km = _KERNEL.get("km")
    if km is None or not km.is_alive():
        km = KernelManager(kernel_name="python3")
        km.start_kernel(cwd=str(NOTEBOOK_DIR))
        atexit.register(km.shutdown_kernel, now=True)
        _KERNEL["km"] = km
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive("%reset -f", timeout=60)
    finally:
        client.stop_channels()
    return km


def _execute_notebook(source: Path, target: Path, parameters: dict) -> None:
    """papermill executes ``source`` with ``parameters`` into ``target``, in the reused kernel."""
    import papermill as pm

    pm.execute_notebook(
        str(source),
        str(target),
        parameters=parameters,
        cwd=str(NOTEBOOK_DIR),
        progress_bar=False,
        log_output=False,
        km=_kernel(),
    )


def _replace_dir(staged: Path, final: Path) -> None:
    """Put ``staged`` at ``final`` with renames only: readers see the old or the new folder."""
    trash = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    if final.exists():
        final.rename(trash)
    staged.rename(final)
    shutil.rmtree(trash, ignore_errors=True)


def run_unit(study_dir: str, unit: str, out_dir: str, audit_stamp: str, study_cache: str = "") -> UnitOutcome:
    """Run both notebooks for ``unit`` and render them; the unit's folder appears only when
    everything is written. A failure leaves ``<unit>/error.txt`` and no report."""
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    staged = out / f".tmp-{unit}-{uuid.uuid4().hex[:8]}"
    staged.mkdir(parents=True)
    parameters = {
        "study_dir": str(Path(study_dir).resolve()),
        "unit": unit,
        "study_cache": study_cache,
    }
    try:
        _execute_notebook(
            EFFECTIVENESS,
            staged / "report.ipynb",
            {
                **parameters,
                "audit_stamp": audit_stamp,
                "results_path": str(staged / "results.json"),
                "sdc_dir": str(staged / "sdc"),
            },
        )
        _execute_notebook(DATA_QUALITY, staged / "data_quality.ipynb", parameters)
        render_html(staged / "report.ipynb", staged / "report.html")
        render_html(staged / "data_quality.ipynb", staged / "data_quality.html")
        results = json.loads((staged / "results.json").read_text())
        _replace_dir(staged, out / unit)
        return UnitOutcome(
            unit, "ok", time.perf_counter() - started, excluded=results["excluded"], parameters=parameters
        )
    except Exception as exc:  # a failed unit must not stop the batch
        shutil.rmtree(staged, ignore_errors=True)
        return record_failure(out, unit, exc, time.perf_counter() - started, parameters)


def record_failure(
    out: Path, unit: str, exc: BaseException, seconds: float, parameters: dict | None = None
) -> UnitOutcome:
    """Leave ``<unit>/error.txt`` (atomically) in place of the unit's report."""
    if getattr(exc, "ename", None):  # a cell raised inside the notebook (papermill)
        first = f"{exc.ename}: {exc.evalue}"
    else:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    first = first.strip().splitlines()[0][:300] if first.strip() else type(exc).__name__
    staged = out / f".tmp-{unit}-error-{uuid.uuid4().hex[:8]}"
    staged.mkdir(parents=True)
    detail = "".join(traceback.format_exception(exc))
    (staged / ERROR_FILE).write_text(f"unit {unit} failed: {first}\n\n{detail}", encoding="utf-8")
    _replace_dir(staged, out / unit)
    return UnitOutcome(unit, "failed", seconds, error=first, parameters=parameters)


# --- the batch -----------------------------------------------------------------------------
@dataclass
class BatchResult:
    out_dir: Path
    outcomes: list[UnitOutcome]

    @property
    def failed(self) -> list[UnitOutcome]:
        return [o for o in self.outcomes if o.status != "ok"]


def _prepare(study_dir: Path, out_dir: Path) -> tuple[Study, dict, str]:
    """Validate and load once for the whole batch; stamp the run; cache the study for kernels."""
    everyone = load_study(study_dir, apply_exclusions_=False)
    rows = {name: len(frame) for name, frame in everyone.frames.items()}
    study = excluded(everyone)
    stamp = new_stamp(study_dir, rows, list(NOTEBOOKS))
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = out_dir / f".study-{stamp['run_id']}.pkl"
    with open(cache, "wb") as handle:
        pickle.dump(study, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return study, stamp, str(cache)


def run_batch(
    study_dir: str | Path,
    out_dir: str | Path,
    units: list[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[UnitOutcome], None] | None = None,
    runner: Callable[..., UnitOutcome] | None = None,
) -> BatchResult:
    """Every unit (default: each LA of study.toml, then ``all``), in parallel; one failed unit
    does not stop the others. Writes index.html and manifest.json at the end."""
    study_dir, out_dir = Path(study_dir), Path(out_dir)
    runner = runner or run_unit
    study, stamp, cache = _prepare(study_dir, out_dir)
    units = units or study.units
    for unit in units:
        check_unit(study, unit)
    stamp_json = json.dumps(stamp)
    jobs = [(str(study_dir), unit, str(out_dir), stamp_json, cache) for unit in units]
    outcomes: list[UnitOutcome] = []
    try:
        for outcome in _execute(jobs, workers, scheduler, runner):
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    finally:
        Path(cache).unlink(missing_ok=True)
    order = {u: k for k, u in enumerate(units)}
    outcomes.sort(key=lambda o: order[o.unit])
    write_index(out_dir, study, outcomes)
    write_manifest(out_dir, stamp, outcomes)
    return BatchResult(out_dir, outcomes)


def _execute(
    jobs: list[tuple], workers: int | None, scheduler: str | None, runner: Callable[..., UnitOutcome]
) -> Iterator[UnitOutcome]:
    if scheduler:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            futures = {client.submit(runner, *job, pure=False): job for job in jobs}
            for future in dask_completed(futures):
                job = futures[future]
                try:
                    yield future.result()
                except Exception as exc:  # the worker itself died
                    yield record_failure(Path(job[2]), job[1], exc, 0.0)
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        for job in jobs:
            try:
                yield runner(*job)
            except Exception as exc:  # the runner failed outside the notebook
                yield record_failure(Path(job[2]), job[1], exc, 0.0)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(runner, *job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # the worker process itself died
                yield record_failure(Path(job[2]), job[1], exc, 0.0)


def write_index(out_dir: Path, study: Study, outcomes: list[UnitOutcome]) -> None:
    rows = []
    for o in outcomes:
        name = "All local authorities" if o.unit == "all" else study.settings.local_authorities[o.unit]
        if o.status == "ok":
            links = (
                f"<a href='{o.unit}/report.html'>effectiveness report</a> · "
                f"<a href='{o.unit}/data_quality.html'>data quality</a>"
            )
        else:
            links = f"failed: {html.escape(o.error)} (see {o.unit}/{ERROR_FILE})"
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{o.status}</td><td>{links}</td></tr>")
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>"
        f"{html.escape(study.settings.name)}: reports</title><style>body{{font-family:sans-serif;"
        "margin:2em}td,th{border:1px solid #ccc;padding:4px 10px}table{border-collapse:collapse}"
        f"</style></head><body><h1>{html.escape(study.settings.name)}</h1><table><tr><th>unit</th>"
        f"<th>status</th><th>reports</th></tr>{''.join(rows)}</table></body></html>\n"
    )
    _atomic_write(out_dir / "index.html", page)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _outputs(out_dir: Path, units: list[str]) -> list[dict]:
    files = [out_dir / "index.html"]
    for unit in units:
        files += sorted(p for p in (out_dir / unit).rglob("*") if p.is_file())
    return [{"path": str(p.relative_to(out_dir)), "sha256": sha256(p)} for p in files]


def write_manifest(out_dir: Path, stamp: dict, outcomes: list[UnitOutcome]) -> None:
    manifest = {
        **stamp,
        "parameters": {o.unit: o.parameters for o in outcomes},
        "units": {o.unit: {"status": o.status, "seconds": round(o.seconds, 2), "error": o.error} for o in outcomes},
        "excluded": {o.unit: o.excluded for o in outcomes if o.excluded is not None},
        "outputs": _outputs(out_dir, [o.unit for o in outcomes]),
    }
    _atomic_write(out_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")


# --- verify --------------------------------------------------------------------------------
def verify(out_dir: str | Path) -> tuple[list[str], list[str]]:
    """Re-hash a bundle against its manifest: (differences, notes). No differences = intact."""
    out_dir = Path(out_dir)
    path = out_dir / MANIFEST
    if not path.is_file():
        raise UnusableInput(f"{out_dir}: no {MANIFEST}; is this a report bundle?")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        outputs = manifest["outputs"]
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise UnusableInput(f"{path}: not a readable manifest ({exc}).") from None
    differences, notes = [], []
    listed = set()
    for item in outputs:
        target = out_dir / item["path"]
        listed.add(item["path"])
        if not target.is_file():
            differences.append(f"output {item['path']}: missing")
        elif sha256(target) != item["sha256"]:
            differences.append(f"output {item['path']}: changed (SHA-256 differs)")
    for unit in manifest.get("units", {}):
        for p in sorted((out_dir / unit).rglob("*")) if (out_dir / unit).is_dir() else []:
            rel = str(p.relative_to(out_dir))
            if p.is_file() and rel not in listed:
                differences.append(f"output {rel}: not in the manifest")
    study_dir = Path(manifest.get("study_dir", ""))
    if manifest.get("study_dir") and study_dir.is_dir():
        for item in manifest.get("inputs", []):
            source = study_dir / item["path"]
            if not source.is_file():
                differences.append(f"input {item['path']}: missing from {study_dir}")
            elif sha256(source) != item["sha256"]:
                differences.append(f"input {item['path']}: changed since the run (SHA-256 differs)")
    else:
        notes.append("inputs not checked: the study folder is not reachable from here")
    return differences, notes


__all__ = ["BatchResult", "KitbagError", "run_batch", "run_unit", "verify"]
