"""DVC entry point of study spiral: `python stages/spiral.py <step> [item]` (annstudy/studies/spiral.py)."""

import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "spiral", *sys.argv[1:]]))
