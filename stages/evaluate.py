"""DVC stage `evaluate`: a thin entry point; the work is `annstudy evaluate` (src/annstudy/cli.py)."""

import sys

from annstudy.cli import main

raise SystemExit(main(["evaluate", *sys.argv[1:]]))
