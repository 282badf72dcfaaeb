"""DVC stage `prepare@<dataset>`: `python stages/prepare.py <dataset>` (annstudy/data/prepare.py)."""

import sys
from argparse import Namespace

from annstudy.data.prepare import prepare_dataset
from annstudy.params.settings import Settings, load_settings
from annstudy.pipeline.stage import run_stage


def prepare(settings: Settings, args: Namespace) -> None:
    prepare_dataset(args.dataset, settings.data)


raise SystemExit(run_stage(sys.argv[1:], prepare, "dataset", load=load_settings))
