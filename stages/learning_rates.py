"""DVC stages of study learning_rates: `<step> [item]`, run by annstudy/studies/learning_rates/run.py."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("learning_rates", sys.argv[1:]))
