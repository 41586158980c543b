"""The `kitbag` command line: `commands` parses arguments and calls the package."""

from kitbag_analysis.cli.commands import main

__all__ = ["main"]
