"""DVC stages of study hyperparameters: `<step> [item]`, run by annstudy/studies/hyperparameters/run.py."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("hyperparameters", sys.argv[1:]))
