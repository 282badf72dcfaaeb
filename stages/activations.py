"""DVC stages of study activations: `<step> [item]`, run by annstudy/studies/activations/run.py."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("activations", sys.argv[1:]))
