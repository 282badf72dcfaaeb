"""What a DVC stage runs: ``stages/<study>.py <step> [item]``, ``stages/prepare.py``, ``stages/report.py``.

Every stage script imports this module, so it holds only what they all share: arguments,
params validation and error handling (:func:`run_stage`), and the steps of a study
(:func:`study_step`). Each script imports the code of its own work itself (its study's
``run`` module, ``annstudy.data.prepare``, ``annstudy.report.render``): a stage's imports
are its code dependencies in dvc.yaml (annstudy/pipeline/codedeps.py), so a training stage must not
import the report code, even inside a function it never calls.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence

from annstudy.engine.device import pin_instruction_set
from annstudy.params.settings import Settings, load_settings
from annstudy.pipeline.errors import guarded
from annstudy.pipeline.lease import die_with_parent, exclusive

PROGRESS_ENV = (
    "ANNSTUDY_PROGRESS_DIR"  # read by annstudy/engine/progress.py (not imported here: not every stage trains)
)

# The work of a stage: (settings, arguments) -> the line to print when done, if any.
Work = Callable[[Settings, argparse.Namespace], str | None]


def _args(argv: Sequence[str], positional: Sequence[str], options: dict[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    for name, default in options.items():
        parser.add_argument(f"--{name}", default=default, help=f"(default: {default})")
    for name in positional:
        parser.add_argument(name, nargs="?" if name == "item" else None, default=None)
    return parser.parse_args(list(argv))


def run_stage(argv: Sequence[str], work: Work, *positional: str, **options: str) -> int:
    """``[--params P] [--<option> V] <positional>...``: validate params.yaml, then ``work``, guarded
    (an expected failure is one ``error:`` line and exit code 2, annstudy/pipeline/errors.py)."""
    args = _args(argv, positional, options)
    command = " ".join([Path(sys.argv[0]).name, *argv])

    def guarded_work() -> int:
        settings = load_settings(args.params)
        pin_instruction_set(settings.numerics)  # before the work computes anything
        die_with_parent()  # a killed `dvc` takes its stage along (pipeline/lease.py)
        with exclusive(command):  # and a second `dvc repro` cannot start the same stage twice
            done = work(settings, args)
        if done:
            print(done)
        return 0

    return guarded(guarded_work)


def _log_progress_to(directory: Path) -> None:
    """The live progress of this stage's training bars (engine/progress.py) goes to ``directory``,
    emptied first; ``ANNSTUDY_PROGRESS_DIR=`` (empty) in the environment turns it off."""
    if os.environ.get(PROGRESS_ENV) == "":
        return
    shutil.rmtree(directory, ignore_errors=True)
    os.environ[PROGRESS_ENV] = str(directory)


def study_step(run: ModuleType, argv: Sequence[str]) -> int:
    """``<step> [item]`` of a study: ``run.STEPS[step](settings, item)``, ``run`` its module
    ``annstudy.studies.<study>.run``, which the stage script imports."""
    study = run.__name__.split(".")[-2]

    def step(settings: Settings, args: argparse.Namespace) -> str:
        if args.step not in run.STEPS:
            raise ValueError(f"study {study!r} has no step {args.step!r}; choose from {', '.join(run.STEPS)}")
        started = time.perf_counter()
        _log_progress_to(Path("progress", study, args.step, args.item or ""))
        out = run.STEPS[args.step](settings, args.item)
        if args.step == "prepare":  # the other steps record their wall time in their own records
            from annstudy.store.records import record_prepare

            record_prepare(out, f"{study}_prepare", started)
        return f"wrote {out}"

    return run_stage(argv, step, "step", "item")
