"""Killing a command at a named failpoint, as SIGKILL would, without its start-up cost."""

from __future__ import annotations

import os

from kitbag_analysis.cli import main
from kitbag_analysis.failpoints import ENV


def killed_at(point: str, command: list[str]) -> int:
    """Run ``kitbag COMMAND`` in a forked copy of this process that kills itself with SIGKILL at
    ``point``; returns the signal that ended it (0 if the point was never reached)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.environ[ENV] = point
        try:
            main(command)
        finally:
            os._exit(0)  # the failpoint was not reached
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
