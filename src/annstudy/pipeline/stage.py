"""What a DVC stage runs: ``stages/<study>.py <step>[:<item>] ...``, ``stages/prepare.py``, ``stages/report.py``.

Every stage script imports this module, so it holds only what they all share: arguments,
params validation and error handling (:func:`run_stage`), and the steps of a study
(:func:`study_step`). What a stage validates is what it imports: the stages of a study validate
the run's keys and the sections of the studies whose config they run (their own, and e.g. S1's,
whose dataset S2 and S3 read), so they depend on those configs only; ``inputs@`` validates the run's
keys and ``data`` alone; ``prepare@<dataset>``, the first stage that computes anything, and the report
validate the whole file (annstudy/params/settings.py), so a typo anywhere still stops ``dvc repro``
before any training. Each script imports the code of its own work itself (its study's
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
from typing import Callable, Mapping, Sequence

from annstudy.params import root
from annstudy.params.root import Configs, Settings
from annstudy.pipeline.errors import guarded
from annstudy.pipeline.lease import die_with_parent, exclusive
from annstudy.pipeline.numerics import pin_instruction_set
from annstudy.studies import STUDIES

PROGRESS_ENV = (
    "ANNSTUDY_PROGRESS_DIR"  # read by annstudy/engine/progress.py (not imported here: not every stage trains)
)

# The work of a stage: (settings, arguments) -> the line to print when done, if any.
Work = Callable[[Settings, argparse.Namespace], str | None]
# The items a step runs for when named alone (``run.ALL``), and one step to run: (step, item or None).
Items = Callable[[Settings], Sequence[str]]
Task = tuple[str, str | None]
# params.yaml's path -> the validated settings (annstudy.params.settings.load_settings: the whole file).
Load = Callable[[str], Settings]


def _args(argv: Sequence[str], positional: Sequence[str], options: dict[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    for name, default in options.items():
        parser.add_argument(f"--{name}", default=default, help=f"(default: {default})")
    for name in positional:
        parser.add_argument(name, nargs="*" if name == "tasks" else None, default=None)
    return parser.parse_args(list(argv))


def run_stage(argv: Sequence[str], work: Work, *positional: str, load: Load, **options: str) -> int:
    """``[--params P] [--<option> V] <positional>...``: ``load`` (validate) params.yaml, then ``work``,
    guarded (an expected failure is one ``error:`` line and exit code 2, annstudy/pipeline/errors.py)."""
    args = _args(argv, positional, options)
    command = " ".join([Path(sys.argv[0]).name, *argv])

    def guarded_work() -> int:
        settings = load(args.params)
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


def configs_run() -> Configs:
    """The study configs this process has imported (statically, so dvc.yaml lists each as a code dep):
    the sections a study's stage validates. Looked up, never imported here: an import by name would
    make every study's config a dep of every stage (annstudy/pipeline/codedeps.py)."""
    modules = {name: sys.modules.get(f"annstudy.studies.{name}.config") for name in STUDIES}
    return {name: module.CONFIG for name, module in modules.items() if module is not None}


def study_tasks(
    tokens: Sequence[str], steps: Sequence[str], every: Mapping[str, Items], settings: Settings
) -> list[Task]:
    """``<step>[:<item>]`` tokens -> (step, item) pairs, in order. A step named without an item runs
    once per item of ``every[step]`` when the study lists them there (S2's variants, S4's sweep axes:
    lists from params.yaml, which a DVC ``cmd`` cannot spell out), else once with no item. The old
    ``<step> <item>`` form (two tokens, the second no step) still reads as ``<step>:<item>``."""
    if len(tokens) == 2 and ":" not in "".join(tokens) and tokens[0] in steps and tokens[1] not in steps:
        tokens = [f"{tokens[0]}:{tokens[1]}"]
    if not tokens:
        raise ValueError(f"no step given; choose from {', '.join(steps)}")
    tasks: list[Task] = []
    for token in tokens:
        step, _, item = token.partition(":")
        if step not in steps:
            raise ValueError(f"no step {step!r}; choose from {', '.join(steps)}")
        if item or step not in every:
            tasks.append((step, item or None))
        else:
            tasks.extend((step, each) for each in every[step](settings))
    return tasks


def study_step(run: ModuleType, config: ModuleType, argv: Sequence[str]) -> int:
    """``<step>[:<item>] ...`` of a study: ``run.STEPS[step](settings, item)`` for each, in one process
    (one DVC stage may run several: S1's train and evaluate of an architecture, every step of a
    small study), ``run`` and ``config`` its modules ``annstudy.studies.<study>.run`` and ``.config``,
    which the stage script imports. The settings hold the run's keys and the sections of
    :func:`configs_run` (``config``'s study's, and those of the studies its config imports)."""
    study = run.__name__.split(".")[-2]
    if config.__name__ != f"annstudy.studies.{study}.config":
        raise ValueError(f"study_step: {config.__name__} is not the config of study {study!r}")

    def steps(settings: Settings, args: argparse.Namespace) -> str:
        tasks = study_tasks(args.tasks, list(run.STEPS), getattr(run, "ALL", {}), settings)
        return "\n".join(_study_task(run, study, settings, step, item) for step, item in tasks)

    return run_stage(argv, steps, "tasks", load=lambda path: root.load_settings(path, configs_run()))


def _study_task(run: ModuleType, study: str, settings: Settings, step: str, item: str | None) -> str:
    started = time.perf_counter()
    _log_progress_to(Path("progress", study, step, item or ""))
    out = run.STEPS[step](settings, item)
    if step == "prepare":  # the other steps record their wall time in their own records
        from annstudy.store.records import record_prepare

        record_prepare(out, f"{study} (prepare)", started)
    return f"wrote {out}"
