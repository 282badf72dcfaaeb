"""DVC stages of study regression: `<step> [item]`, run by annstudy/studies/regression/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.regression import run

raise SystemExit(study_step(run, sys.argv[1:]))
