"""Studies runnable as `annstudy stage <study> <step> [item]` (add a study here: one line).

Each module exposes ``STEPS: dict[str, Callable[[Settings, str | None], Path]]``: step
name (``prepare``, ``train``, ``evaluate``, ...) -> function writing the stage's outs
atomically and returning their path. ``stages/<study>.py`` is the thin DVC entry point.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

STUDIES: dict[str, str] = {
    "architectures": "annstudy.studies.architectures",
    "activations": "annstudy.studies.activations",
    "learning_rates": "annstudy.studies.learning_rates",
    "hyperparameters": "annstudy.studies.hyperparameters",
    "regression": "annstudy.studies.regression",
    "spiral": "annstudy.studies.spiral",
    "signals": "annstudy.studies.signals",
    "mnist1d": "annstudy.studies.mnist1d",
    "from_scratch": "annstudy.studies.from_scratch",
}


def study_steps(study: str) -> dict[str, Callable[..., Path]]:
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose from {', '.join(STUDIES)}")
    return importlib.import_module(STUDIES[study]).STEPS
