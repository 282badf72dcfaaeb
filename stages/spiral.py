"""DVC stages of study spiral: `<step> [item]`, run by annstudy/studies/spiral/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.spiral import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
