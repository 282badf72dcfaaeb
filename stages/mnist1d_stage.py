"""DVC stages of study mnist1d (not named stages/mnist1d.py: the script's own directory comes
first on sys.path, and that name would shadow the `mnist1d` package)."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.mnist1d import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
