"""DVC stages `hyperparameters_*` (S4): a thin entry point; the work is annstudy/studies/hyperparameters.py."""

import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "hyperparameters", *sys.argv[1:]]))
