"""Named points in the commands that rewrite or publish, where a test can stop the process as a
kill would, or hold it there (deterministic crash and signal injection; inert unless
``KITBAG_FAILPOINT`` or ``KITBAG_PAUSE`` is set).

``KITBAG_FAILPOINT=erase:renamed:2`` makes the process SIGKILL itself the second time it passes
``failpoint("erase:renamed")``; ``KITBAG_FAILPOINT=rectify:checked`` the first time. Nothing runs
after the kill (no ``finally``, no atexit), exactly as with a kill from outside.

``KITBAG_PAUSE=batch:pattern`` holds the process at that point instead: it creates the file
named by ``KITBAG_PAUSE_FILE`` (so a test knows the point is reached) and sleeps until a signal
ends it, so a test can send SIGINT or SIGKILL in exactly that phase (no timing guesses), or
until the file named by ``KITBAG_RESUME_FILE`` exists, when it goes on (a test runs a second
command while the first is held in that phase, then lets the first finish).
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

ENV = "KITBAG_FAILPOINT"
PAUSE_ENV = "KITBAG_PAUSE"
PAUSE_FILE_ENV = "KITBAG_PAUSE_FILE"
RESUME_FILE_ENV = "KITBAG_RESUME_FILE"
_passed: Counter[str] = Counter()

# every failpoint of the package, by command: tests iterate over these
POINTS = {
    "batch": ("batch:locked", "batch:loaded", "batch:pattern", "batch:unit", "batch:collected", "batch:staged"),
    "erase": ("erase:started", "erase:renamed", "erase:validated"),
    "rectify": ("rectify:checked", "rectify:started", "rectify:renamed"),
    "archive": ("archive:staged", "archive:published"),
    "archive_across": ("archive:copied",),  # after each file copied to another file system
    "journal": ("journal:written",),  # erase and rectify pass it at each step of their journal
    "publish": ("publish:aside", "publish:swapped", "publish:trashed"),  # between the renames of a bundle's publish
}


def _wanted(variable: str) -> tuple[str, int] | None:
    wanted = os.environ.get(variable)
    if not wanted:
        return None
    point, _, count = wanted.rpartition(":") if wanted.rsplit(":", 1)[-1].isdigit() else (wanted, "", "1")
    return point, int(count)


def failpoint(name: str) -> None:
    """Stop the process here if ``KITBAG_FAILPOINT`` names this point (and this pass); hold it
    here if ``KITBAG_PAUSE`` does."""
    kill, pause = _wanted(ENV), _wanted(PAUSE_ENV)
    if name not in (kill or ("",))[0:1] and name not in (pause or ("",))[0:1]:
        return
    _passed[name] += 1
    if kill and kill[0] == name and _passed[name] == kill[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    if pause and pause[0] == name and _passed[name] == pause[1]:
        marker = os.environ.get(PAUSE_FILE_ENV)
        if marker:
            with open(marker, "a", encoding="utf-8") as handle:
                handle.write(f"{name} {os.getpid()}\n")
        resume = os.environ.get(RESUME_FILE_ENV)
        while not (resume and os.path.exists(resume)):  # or a signal ends it (or raises here, as Ctrl-C)
            time.sleep(0.05)


__all__ = ["ENV", "PAUSE_ENV", "PAUSE_FILE_ENV", "POINTS", "RESUME_FILE_ENV", "failpoint"]
