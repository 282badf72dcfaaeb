"""DVC entry point of study regression: `python stages/regression.py <step> [item]` (annstudy/studies/regression.py)."""

import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "regression", *sys.argv[1:]]))
