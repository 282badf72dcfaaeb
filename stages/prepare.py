"""DVC stage `prepare`: a thin entry point; the work is `annstudy prepare` (src/annstudy/cli.py)."""

import sys

from annstudy.cli import main

raise SystemExit(main(["prepare", *sys.argv[1:]]))
