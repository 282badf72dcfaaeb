"""DVC stages of study hyperparameters: `<step> [item]`, run by annstudy/studies/hyperparameters/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.hyperparameters import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
