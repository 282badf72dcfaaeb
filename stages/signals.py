"""DVC entry point of study signals: `python stages/signals.py <step> [item]` (annstudy/studies/signals.py)."""

import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "signals", *sys.argv[1:]]))
