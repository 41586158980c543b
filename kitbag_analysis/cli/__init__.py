"""The `kitbag` command line: `commands` parses arguments and calls the package.

Started as the `kitbag` command (or `python -m kitbag_analysis.cli`), the signal handlers are
installed first, before the command line's heavy imports; imported by other code (a test, a
notebook) it leaves that program's handlers alone until `main` runs.
"""

import os
import sys

from kitbag_analysis.cli import signals

if os.path.basename(sys.argv[0] if sys.argv else "") in ("kitbag", "-m"):
    signals.early()

from kitbag_analysis.cli.commands import main  # noqa: E402 - after the handlers, on purpose

__all__ = ["main"]
