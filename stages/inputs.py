"""DVC stage `inputs@<dataset>`: `python stages/inputs.py <dataset>` (annstudy/data/inputs.py).

It reads the run's keys and `data` only, so it validates those (annstudy/params/root.py) and depends on
no study's config; the whole file is validated by `prepare@<dataset>`, before any training."""

import sys
from argparse import Namespace

from annstudy.data.inputs import fingerprint, inputs_path
from annstudy.params import root
from annstudy.params.root import Settings
from annstudy.pipeline.stage import run_stage
from annstudy.store.artifacts import write_json


def inputs(settings: Settings, args: Namespace) -> str:
    out = inputs_path(args.dataset)
    write_json(out, {"dataset": args.dataset, **fingerprint(args.dataset, settings.data)})
    return f"wrote {out}"


raise SystemExit(run_stage(sys.argv[1:], inputs, "dataset", load=lambda path: root.load_settings(path, {})))
