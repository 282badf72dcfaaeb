"""What a DVC stage runs: ``stages/<study>.py <step> [item]``, ``stages/prepare.py``, ``stages/report.py``.

A stage imports only what its work needs: params validation, its own study's ``run``
module and the shared packages that module imports (so dvc.yaml can list exactly those
as the stage's code dependencies; tests/test_code_deps.py keeps them in sync).
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path
from typing import Sequence

from annstudy.errors import guarded
from annstudy.params import load_settings


def _args(argv: Sequence[str], *positional: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    for name in positional:
        parser.add_argument(name, nargs="?" if name == "item" else None, default=None)
    return parser.parse_args(list(argv))


def study_step(study: str, argv: Sequence[str]) -> int:
    """``<step> [item]`` of ``study``: ``annstudy.studies.<study>.run.STEPS[step](settings, item)``."""
    args = _args(argv, "step", "item")

    def work() -> int:
        settings = load_settings(args.params)
        steps = importlib.import_module(f"annstudy.studies.{study}.run").STEPS
        if args.step not in steps:
            raise ValueError(f"study {study!r} has no step {args.step!r}; choose from {', '.join(steps)}")
        started = time.perf_counter()
        out = steps[args.step](settings, args.item)
        if args.step == "prepare":  # the other steps record their wall time in their own records
            from annstudy.records import record_prepare

            record_prepare(out, f"{study}_prepare", started)
        print(f"wrote {out}")
        return 0

    return guarded(work)


def prepare(argv: Sequence[str]) -> int:
    """``prepare@<dataset>``: raw files -> data/prepared/<dataset>/ (annstudy.data)."""
    args = _args(argv, "dataset")

    def work() -> int:
        from annstudy.data.prepare import prepare_dataset

        prepare_dataset(args.dataset, load_settings(args.params).data)
        return 0

    return guarded(work)


def report(argv: Sequence[str]) -> int:
    """``report``: every study's section -> reports/ (annstudy.report.render)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="reports")
    args = parser.parse_args(list(argv))

    def work() -> int:
        from annstudy.report.render import build_report

        path = build_report(load_settings(args.params), Path(args.out))
        print(f"report: {path.resolve()}")
        return 0

    return guarded(work)
