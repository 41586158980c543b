"""ACRO (the output-checking tool of trusted research environments) as the workbench uses it:
a quiet session at the study's threshold, and its record finalised into a fresh folder."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kitbag_analysis import atomic


@contextlib.contextmanager
def acro_session(threshold: int, zeros_are_disclosive: bool = True) -> Iterator[Any]:
    """An ACRO session with suppression on at ``threshold`` (and ACRO's ``zeros_are_disclosive`` as
    the disclosure policy says); its console output is swallowed (no ACRO line reaches a page) and
    the root logger's level restored afterwards."""
    root = logging.getLogger()
    level = root.level
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            from acro import ACRO

            session = ACRO(suppress=True)
            session.config["safe_threshold"] = threshold
            session.sdc_checks.risk_appetite["safe_threshold"] = threshold
            session.config["zeros_are_disclosive"] = zeros_are_disclosive
            session.sdc_checks.risk_appetite["zeros_are_disclosive"] = zeros_are_disclosive
            yield session
    finally:
        root.setLevel(level)


def finalise(session: Any, target: Path, custom: dict[str, tuple[Path, str]]) -> dict[str, str]:
    """Register ``custom`` outputs (name -> (file, comment)), finalise ACRO's record into a
    fresh folder and publish it at ``target``; return {output name: ACRO status}."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        before = set(session.results.results)
        for path, comment in custom.values():
            session.custom_output(str(path), comment)
        new = [uid for uid in session.results.results if uid not in before]
        for uid, name in zip(new, custom, strict=True):
            session.rename_output(uid, name)
        with atomic.staging_dir(target, "acro") as fresh:
            fresh.rmdir()  # finalise() into an existing folder silently writes nothing
            session.finalise(str(fresh), "json", interactive=False)
            if not (fresh / "results.json").is_file():
                raise RuntimeError("ACRO wrote no output-checking summary")
            atomic.publish_dir(fresh, target)
    results = json.loads((target / "results.json").read_text())["results"]
    return {uid: r.get("status") for uid, r in results.items()}


__all__ = ["acro_session", "finalise"]
