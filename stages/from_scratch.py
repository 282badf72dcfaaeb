"""DVC stages of study from_scratch: `<step> [item]`, run by annstudy/studies/from_scratch/run.py."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("from_scratch", sys.argv[1:]))
