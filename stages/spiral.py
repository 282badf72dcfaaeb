"""DVC stages of study spiral: `<step> [item]`, run by annstudy/studies/spiral/run.py."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("spiral", sys.argv[1:]))
