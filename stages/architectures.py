"""DVC stage `architectures@<arch>` (S1): `python stages/architectures.py train:<arch> evaluate:<arch>`."""

import sys

from annstudy.pipeline.stage import study_step
from annstudy.studies.architectures import config, run

raise SystemExit(study_step(run, config, sys.argv[1:]))
