"""DVC stages `learning_rates_*` (S3): a thin entry point; the work is in src/annstudy/studies/learning_rates.py."""

import sys

from annstudy.cli import main

raise SystemExit(main(["stage", "learning_rates", *sys.argv[1:]]))
