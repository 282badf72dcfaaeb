"""The studies of ../shared/studies.md: one package each, listed here once.

A study package ``annstudy.studies.<name>`` holds everything about that study:

- ``config.py``: its section ``studies.<name>`` of params.yaml, the pydantic model ``CONFIG``,
- ``run.py``: the work of its DVC stages, ``STEPS: {step: fn(settings, item) -> Path}``,
- ``report.py``: its report section, ``build(settings, out) -> StudySection``.

``stages/<name>.py`` is the thin DVC entry point. Adding a study: its package, its
stage script, its stages in dvc.yaml, its section in params.yaml and one name below.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# In report order; the name is the key in params.yaml `studies` and in metrics.json.
STUDIES: tuple[str, ...] = (
    "architectures",
    "activations",
    "learning_rates",
    "hyperparameters",
    "regression",
    "spiral",
    "signals",
    "mnist1d",
    "from_scratch",
)


def study_part(study: str, part: str) -> ModuleType:
    """``annstudy.studies.<study>.<part>`` (part: config, run or report), imported on demand
    so that a stage imports only its own study's work.

    annstudy's only import by name, which reading the imports cannot see: annstudy/pipeline/codedeps.py
    (dvc.yaml's code deps) reads the calls instead. ``part`` must be a literal there; a literal
    ``study`` imports that study's part, any other that part of every study."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose from {', '.join(STUDIES)}")
    return importlib.import_module(f"annstudy.studies.{study}.{part}")
