"""DVC stages of study signals: `<step> [item]`, run by annstudy/studies/signals/run.py."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("signals", sys.argv[1:]))
