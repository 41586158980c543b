"""The suppression programme solved where a signal can still end the run.

HiGHS (through `scipy.optimize.milp`) holds the interpreter while it solves, so Python's signal
handlers (Ctrl-C, SIGTERM) would wait for it, for minutes on a large study. Here it runs in a
forked child: the parent waits on a pipe in short steps, so a signal is handled within a fraction
of a second, and the child is killed on the way out (and dies with its parent: PR_SET_PDEATHSIG).
The programme's data are a few arrays; only its result comes back.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from typing import Any

from scipy.optimize import milp

from kitbag_analysis.errors import NoSafePattern

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.05


def _child(conn: Any, args: tuple, kwargs: dict) -> None:  # noqa: ANN401 - a multiprocessing connection
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    quiet = os.open(os.devnull, os.O_WRONLY)  # HiGHS writes its own lines to fds 1 and 2
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the time limit still ends it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        result = milp(*args, **kwargs)
        conn.send(("ok", {"x": result.x, "status": result.status, "message": result.message}))
    except BaseException as exc:  # noqa: BLE001 - sent back and raised in the parent
        conn.send(("error", repr(exc)))
    finally:
        conn.close()
        os._exit(0)


class Result:
    """What `milp` returns, as far as the pattern reads it."""

    def __init__(self, x: Any, status: int, message: str) -> None:  # noqa: ANN401 - an array or None
        self.x, self.status, self.message = x, status, message


def solve_interruptibly(*args: Any, **kwargs: Any) -> Result:  # noqa: ANN401 - milp's arguments
    """``scipy.optimize.milp(*args, **kwargs)`` in a forked child; signals reach the caller."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(child, args, kwargs), daemon=True)
    process.start()
    child.close()
    try:
        while not parent.poll(POLL_SECONDS):
            if not process.is_alive() and not parent.poll(0):
                raise NoSafePattern(f"the suppression programme's process ended without an answer ({process.exitcode})")
        kind, payload = parent.recv()
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        parent.close()
    if kind == "error":
        raise NoSafePattern(f"the suppression programme failed: {payload}")
    return Result(payload["x"], int(payload["status"]), str(payload["message"]))


__all__ = ["Result", "solve_interruptibly"]
