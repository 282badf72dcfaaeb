"""DVC stages of study activations: `<step> [item]`, run by annstudy/studies/activations/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.activations import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
