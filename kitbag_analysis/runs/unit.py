"""One unit of a run: both notebooks executed and rendered where the unit runs (a local worker
or a Dask worker on another machine), and the unit's files sent back to the run, which alone
writes the bundle.

A failed unit (a notebook cell refused or raised) comes back as a one-line reason, published as
``<unit>/error.txt`` (outputs.md); its traceback stays in the run's private log. A failure of the
machinery (disk full, memory, a dead kernel) is not a unit's: it fails the whole run
(`RunFailed`), and nothing is published.
"""

from __future__ import annotations

import json
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kitbag_analysis import atomic
from kitbag_analysis.errors import KitbagError, NotebookFailed, RunFailed
from kitbag_analysis.failpoints import failpoint
from kitbag_analysis.runs.execute import execute_notebook
from kitbag_analysis.runs.kernels import NOTEBOOK_DIR
from kitbag_analysis.runs.render import render_html

EFFECTIVENESS = NOTEBOOK_DIR / "effectiveness_report.ipynb"
DATA_QUALITY = NOTEBOOK_DIR / "data_quality.ipynb"
NOTEBOOKS = (EFFECTIVENESS, DATA_QUALITY)
ERROR_FILE = "error.txt"
# what a notebook cell may raise that is the machine's failure, not the unit's
RESOURCE_ERRORS = frozenset({"MemoryError", "OSError", "DeadKernelError", "BrokenPipeError"})


@dataclass
class UnitOutcome:
    """How one unit's run ended (and, when it ended well, what the index page shows of it)."""

    unit: str
    status: str  # ok | failed
    seconds: float
    error: str = ""  # one line, published in error.txt
    excluded: dict | None = None
    parameters: dict | None = None
    headline: list | None = None  # published effects: [label, text]
    title: str = ""  # the effectiveness report's title (release.json)
    files: dict[str, bytes] | None = None  # the unit's folder, path -> bytes (written by the run)
    detail: str = ""  # the traceback, for the private log only


def run_unit(study_dir: str, unit: str, audit_stamp: str, payload: bytes) -> UnitOutcome:
    """Run both notebooks for ``unit`` on the run's study (``payload``: the pickled study and
    pattern, `runs.batch`) and return its files."""
    from kitbag_analysis.runs.private_folder import in_memory, process_folder

    started = time.perf_counter()
    stamp = json.loads(audit_stamp)
    with in_memory(payload) as cache, tempfile.TemporaryDirectory(prefix="unit-", dir=process_folder()) as tmp:
        staged = Path(tmp)
        parameters = {"study_dir": study_dir, "unit": unit, "study_cache": cache}
        try:
            execute_notebook(
                EFFECTIVENESS,
                staged / "report.ipynb",
                {
                    **parameters,
                    "audit_stamp": audit_stamp,
                    "results_path": str(staged / "results.json"),
                    "sdc_dir": str(staged / "sdc"),
                },
            )
            failpoint("batch:unit")
            execute_notebook(DATA_QUALITY, staged / "data_quality.ipynb", {**parameters, "audit_stamp": audit_stamp})
            release = json.loads((staged / "release.json").read_text())
            titles = {  # the effectiveness report's names the design (CONSORT cluster extension 1a)
                "report": f"{release['title']} — effectiveness report — {release['unit_name']}",
                "data_quality": f"{release['study']}: data quality — {release['unit_name']}",
            }
            for name, title in titles.items():
                render_html(staged / f"{name}.ipynb", staged / f"{name}.html", title, stamp["run_id"])
            results = json.loads((staged / "results.json").read_text())
            files = {str(p.relative_to(staged)): p.read_bytes() for p in sorted(staged.rglob("*")) if p.is_file()}
        except NotebookFailed as exc:
            if exc.ename in RESOURCE_ERRORS:
                raise RunFailed(f"unit {unit}: the machine failed the run ({exc.ename}: {exc.evalue})") from None
            return failed(unit, exc, time.perf_counter() - started, parameters)
        except (OSError, MemoryError) as exc:
            raise RunFailed(f"unit {unit}: the machine failed the run ({_one_line(exc)})") from None
        except KitbagError as exc:
            return failed(unit, exc, time.perf_counter() - started, parameters)
        except Exception as exc:
            if type(exc).__name__ in RESOURCE_ERRORS:  # nbclient's DeadKernelError
                raise RunFailed(f"unit {unit}: its kernel died ({_one_line(exc)})") from None
            return failed(unit, exc, time.perf_counter() - started, parameters)
    return UnitOutcome(
        unit,
        "ok",
        time.perf_counter() - started,
        excluded=results["excluded"],
        parameters=parameters,
        headline=release.get("headline"),
        title=release.get("title", ""),
        files=files,
    )


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]
    return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"


def failed(unit: str, exc: BaseException, seconds: float, parameters: dict | None = None) -> UnitOutcome:
    """A failed unit: a one-line reason (published) and its traceback (private)."""
    first = str(exc).strip().splitlines()[0][:300] if isinstance(exc, NotebookFailed | KitbagError) else ""
    return UnitOutcome(
        unit,
        "failed",
        seconds,
        error=first or _one_line(exc),
        parameters=parameters,
        detail="".join(traceback.format_exception(exc)),
    )


def write_unit(bundle: Path, outcome: UnitOutcome) -> None:
    """Put the unit's folder (or its ``error.txt``) in the staged bundle, written whole."""
    with atomic.staging_dir(bundle / outcome.unit, "unit") as staged:
        if outcome.files is None:
            atomic.write_text(staged / ERROR_FILE, f"unit {outcome.unit} failed: {outcome.error}\n")
        for name, data in (outcome.files or {}).items():
            relative = PurePosixPath(name)
            if relative.is_absolute() or ".." in relative.parts:
                raise RunFailed(f"unit {outcome.unit}: a worker sent a file outside its folder.")
            (staged / relative).parent.mkdir(parents=True, exist_ok=True)
            (staged / relative).write_bytes(data)
        atomic.publish_dir(staged, bundle / outcome.unit)
    outcome.files = None  # written: not kept in memory


__all__ = [
    "DATA_QUALITY",
    "EFFECTIVENESS",
    "ERROR_FILE",
    "NOTEBOOKS",
    "RESOURCE_ERRORS",
    "UnitOutcome",
    "failed",
    "run_unit",
    "write_unit",
]
