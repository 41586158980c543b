"""Killing a command at a named failpoint, as SIGKILL would, without its start-up cost."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from kitbag_analysis.cli import main
from kitbag_analysis.failpoints import ENV, PAUSE_ENV, PAUSE_FILE_ENV, RESUME_FILE_ENV


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


class Held:
    """``kitbag COMMAND`` in a forked copy of this process, held at a failpoint (`failpoints`'
    pause) until `resume`; its stderr goes to a file."""

    def __init__(self, point: str, command: list[str], root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        tag = f"{os.getpid()}-{point.replace(':', '-')}-{len(list(root.iterdir()))}"
        self.marker, self.go, self.err = root / f"held-{tag}", root / f"go-{tag}", root / f"err-{tag}"
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.environ |= {PAUSE_ENV: point, PAUSE_FILE_ENV: str(self.marker), RESUME_FILE_ENV: str(self.go)}
            code = 3
            try:
                with open(self.err, "w", encoding="utf-8") as err:
                    os.dup2(err.fileno(), 2)
                    sys.stderr = os.fdopen(2, "w", encoding="utf-8", closefd=False)
                    code = main(command)
            finally:
                sys.stderr.flush()
                os._exit(code)
        while not self.marker.exists():  # the point is reached (or the command ended before it)
            ended, status = os.waitpid(self.pid, os.WNOHANG)
            if ended:
                raise AssertionError(f"{command} ended before {point}: {self.err.read_text()}")
            time.sleep(0.02)

    def resume(self) -> tuple[int, str]:
        """Let it go on; its exit code and what it printed on stderr."""
        self.go.touch()
        _, status = os.waitpid(self.pid, 0)
        return (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)), self.err.read_text()
