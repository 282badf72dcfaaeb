"""DVC stage `report`: `python stages/report.py [--out reports]` (annstudy/report/render.py, which
reads each study's report.py; a section also writes the files behind its study's DVC plots
into reports/plots). The only stage that imports the report code, so the only one a report
change reruns."""

import sys
from argparse import Namespace
from pathlib import Path

from annstudy.params.settings import Settings, load_settings
from annstudy.pipeline.stage import run_stage
from annstudy.report.render import build_report


def report(settings: Settings, args: Namespace) -> str:
    report = build_report(settings, Path(args.out))
    return f"report: {report.resolve()}"


raise SystemExit(run_stage(sys.argv[1:], report, load=load_settings, out="reports"))
