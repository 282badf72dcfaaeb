"""DVC stages of study learning_rates: `<step> [item]`, run by annstudy/studies/learning_rates/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.learning_rates import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
