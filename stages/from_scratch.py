"""DVC stages of study from_scratch: `<step> [item]`, run by annstudy/studies/from_scratch/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.from_scratch import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
