"""DVC entry point of study mnist1d (not named stages/mnist1d.py: as the script's own
directory comes first on sys.path, that name would shadow the `mnist1d` package)."""

import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "mnist1d", *sys.argv[1:]]))
