"""DVC stages `train@<arch>` and `evaluate@<arch>` (S1): `python stages/architectures.py train|evaluate <arch>`."""

import sys

from annstudy.stage import study_step

raise SystemExit(study_step("architectures", sys.argv[1:]))
