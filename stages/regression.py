"""DVC stages of study regression: `<step> [item]`, run by annstudy/studies/regression/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.regression import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
