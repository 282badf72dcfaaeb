"""DVC stage `train`: a thin entry point; the work is `annstudy train` (src/annstudy/cli.py)."""

import sys

from annstudy.cli import main

raise SystemExit(main(["train", *sys.argv[1:]]))
