"""DVC stage `prepare@<dataset>`: `python stages/prepare.py <dataset>` (annstudy/data/prepare.py)."""

import sys

from annstudy.stage import prepare

raise SystemExit(prepare(sys.argv[1:]))
