"""S3 learning_rates: constant SGD rates, a plateau-driven step schedule, and Adam.

Stages ``learning_rates_sgd@<rate>`` (variant ``lr_<rate>``), ``learning_rates_scheduled``
and ``learning_rates_adam`` write ``data/learning_rates/train/<variant>/`` (see
:mod:`annstudy.records`). A run whose loss turns non-finite is recorded as
diverged at that step; the other seeds and variants go on. The scheduled variant trains
its seeds one at a time, since each seed finds its own plateaus (one stacked optimizer
has one rate); the others train stacked.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from annstudy.engine.schedules import PlateauSteps
from annstudy.engine.trainer import TrainHooks, train_seeds
from annstudy.params import Settings
from annstudy.studies.learning_rates.config import SCHEDULED
from annstudy.variants import load_data, write_variant

STUDY = "learning_rates"


def variant_dir(variant: str, root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "train" / variant


def train_variant(variant: str, settings: Settings, root: str | Path = "data") -> Path:
    started = time.perf_counter()
    study = settings.studies[STUDY]
    cfg = study.train_for(variant)
    data = load_data(settings, study.dataset)
    hooks = TrainHooks()
    if variant == SCHEDULED:
        hooks = TrainHooks(schedule=partial(PlateauSteps, study.schedule_lrs, study.patience, study.min_delta))
    runs = train_seeds(study.arch, data, cfg, desc=f"{STUDY} {variant}", hooks=hooks)
    for run in runs:
        if run.diverged:
            print(f"{STUDY} {variant}: seed {run.seed} diverged at step {run.diverged_step}", flush=True)
    return write_variant(
        variant_dir(variant, root),
        runs,
        data,
        cfg,
        {"study": STUDY, "variant": variant, "arch": study.arch},
        started=started,
    )


def _train_step(settings: Settings, item: str | None) -> Path:
    if item is None:
        raise ValueError("learning_rates train needs a variant, e.g. lr_0.01")
    return train_variant(item, settings)


# `annstudy stage learning_rates train <variant>` (annstudy/stage.py)
STEPS = {"train": _train_step}
