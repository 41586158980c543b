"""Execute one parameterised notebook with papermill, in the worker's reused kernel."""

from __future__ import annotations

from pathlib import Path

from kitbag_analysis.errors import NotebookFailed
from kitbag_analysis.runs.kernels import NOTEBOOK_DIR, kernel


def execute_notebook(source: Path, target: Path, parameters: dict) -> None:
    """papermill executes ``source`` with ``parameters`` into ``target``; a failing cell raises
    `NotebookFailed` (papermill's `PapermillExecutionError`, translated)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(
            str(source),
            str(target),
            parameters=parameters,
            cwd=str(NOTEBOOK_DIR),
            progress_bar=False,
            log_output=False,
            km=kernel(),
        )
    except PapermillExecutionError as exc:
        raise NotebookFailed(exc.ename, str(exc.evalue)) from exc


__all__ = ["NotebookFailed", "execute_notebook"]
