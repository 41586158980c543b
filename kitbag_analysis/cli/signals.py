"""Ctrl-C and SIGTERM from the first instant of every command: exit 130 or 143 with one line.

`early` is installed before anything heavy is imported (`cli/__init__`): until the command
itself starts nothing has been written, so the process says so and ends at once. `during` is
installed when the command starts: SIGINT raises `KeyboardInterrupt` and SIGTERM `Terminated`
where the process is, so every cleanup (staging, workers, kernels, locks) runs on the way out.
"""

from __future__ import annotations

import contextlib
import os
import signal

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Terminated(BaseException):
    """SIGTERM, raised where the process is so that every cleanup runs (exit 143)."""


def _leave_now(signum: int, frame: object) -> None:
    os.write(2, b"kitbag: interrupted before the command started; nothing was changed.\n")
    os._exit(EXIT_CODES.get(signum, 128 + signum))


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def early() -> None:
    """Until the command starts: a signal ends the process at once, with one line."""
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a background job keeps ignoring it
            signal.signal(signal.SIGINT, _leave_now)
        signal.signal(signal.SIGTERM, _leave_now)


def during() -> None:
    """While the command runs: signals become exceptions, so its cleanups run."""
    with contextlib.suppress(ValueError):
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _terminate)


__all__ = ["EXIT_CODES", "Terminated", "during", "early"]
