"""DVC stage `report`: `python stages/report.py` (annstudy/report/render.py and each study's report.py)."""

import sys

from annstudy.stage import report

raise SystemExit(report(sys.argv[1:]))
