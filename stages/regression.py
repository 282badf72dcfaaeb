"""DVC stages of study regression: `<step> [item]`, run by annstudy/studies/regression/run.py."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("regression", sys.argv[1:]))
