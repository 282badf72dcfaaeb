"""DVC stages of study signals: `<step> [item]`, run by annstudy/studies/signals/run.py."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.signals import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
