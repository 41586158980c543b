"""Named points in the commands that rewrite or publish, where a test can stop the process as a
kill would (deterministic crash injection; inert unless ``KITBAG_FAILPOINT`` is set).

``KITBAG_FAILPOINT=erase:renamed:2`` makes the process SIGKILL itself the second time it passes
``failpoint("erase:renamed")``; ``KITBAG_FAILPOINT=rectify:checked`` the first time. Nothing runs
after the kill (no ``finally``, no atexit), exactly as with a kill from outside.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "KITBAG_FAILPOINT"
_passed: Counter[str] = Counter()

# every failpoint of the package, by command: tests iterate over these
POINTS = {
    "erase": ("erase:started", "erase:renamed", "erase:validated"),
    "rectify": ("rectify:checked", "rectify:started", "rectify:renamed"),
    "archive": ("archive:staged", "archive:published"),
}


def failpoint(name: str) -> None:
    """Stop the process here if ``KITBAG_FAILPOINT`` names this point (and this pass)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, count = wanted.rpartition(":") if wanted.rsplit(":", 1)[-1].isdigit() else (wanted, "", "1")
    if point != name:
        return
    _passed[name] += 1
    if _passed[name] == int(count):
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["ENV", "POINTS", "failpoint"]
