"""DVC stages of study mnist1d (not named stages/mnist1d.py: the script's own directory comes
first on sys.path, and that name would shadow the `mnist1d` package)."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("mnist1d", sys.argv[1:]))
