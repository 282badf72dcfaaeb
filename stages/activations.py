"""DVC stages of study activations: `<step> [item]`, run by annstudy/studies/activations/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.activations import run

raise SystemExit(study_step(run, sys.argv[1:]))
