"""DVC stages `activations_*` (S2): a thin entry point; the work is in src/annstudy/studies/activations.py."""

import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "activations", *sys.argv[1:]]))
