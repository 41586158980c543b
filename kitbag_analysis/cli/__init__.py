"""The `kitbag` command line: `commands` parses arguments and calls the package.

The signal handlers are installed first, before the command line's heavy imports.
"""

from kitbag_analysis.cli import signals

signals.early()

from kitbag_analysis.cli.commands import main  # noqa: E402 - after the handlers, on purpose

__all__ = ["main"]
