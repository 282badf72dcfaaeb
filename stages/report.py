"""DVC stage `report`: a thin entry point; the work is `annstudy report` (src/annstudy/cli.py)."""

import sys

from annstudy.cli import main

raise SystemExit(main(["report", *sys.argv[1:]]))
