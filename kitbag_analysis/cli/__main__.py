"""`python -m kitbag_analysis.cli`: the same as the `kitbag` command."""

import sys

from kitbag_analysis.cli.commands import main

sys.exit(main())
