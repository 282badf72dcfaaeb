"""S3 learning_rates: constant SGD rates, the exercise's multi-pass step schedule, and Adam.

Stages ``learning_rates_sgd@<rate>`` (variant ``lr_<rate>``), ``learning_rates_scheduled``
and ``learning_rates_adam`` write ``data/learning_rates/train/<variant>/`` (see
:mod:`annstudy.store.records`). A run whose loss turns non-finite is recorded as
diverged at that step; the other seeds and variants go on. The scheduled variant trains
its seeds one at a time through the passes of :func:`annstudy.engine.schedules.stepped_run`
(each seed finds its own plateaus; one stacked optimizer has one rate), and records every
pass's validation curve and plateau epoch per seed (summary ``passes``); the others train stacked.
"""

from __future__ import annotations

import time
from pathlib import Path

from annstudy.data.prepared import PreparedDataset
from annstudy.engine.progress import Bar
from annstudy.engine.schedules import stepped_run
from annstudy.engine.seeds import SeedRun, train_seeds
from annstudy.engine.settings import TrainSettings
from annstudy.models.zoo import build_model
from annstudy.params.root import Settings
from annstudy.studies.learning_rates.config import SCHEDULED
from annstudy.studies.variants import load_data, write_variant

STUDY = "learning_rates"


def variant_dir(variant: str, root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "train" / variant


def train_variant(variant: str, settings: Settings, root: str | Path = "data") -> Path:
    started = time.perf_counter()
    study = settings.studies[STUDY]
    cfg = study.train_for(variant)
    data = load_data(settings, study.dataset)
    extra = {}
    if variant == SCHEDULED:
        runs, passes = scheduled_runs(study, data, cfg)
        extra = {"passes": passes, "schedule_lrs": list(study.schedule_lrs)}
    else:
        runs = train_seeds(study.arch, data, cfg, desc=f"{STUDY} {variant}")
    for run in runs:
        if run.diverged:
            print(f"{STUDY} {variant}: seed {run.seed} diverged at step {run.diverged_step}", flush=True)
    return write_variant(
        variant_dir(variant, root),
        runs,
        data,
        cfg,
        {"study": STUDY, "variant": variant, "arch": study.arch, **extra},
        started=started,
    )


def scheduled_runs(study, data: PreparedDataset, cfg: TrainSettings) -> tuple[list[SeedRun], dict[str, list[dict]]]:
    """Every seed through the passes of the schedule: final runs, and per seed (as a string key) its passes."""
    make_model = lambda: build_model(study.arch, data.image_shape, len(data.classes))  # noqa: E731
    runs, passes = [], {}
    with Bar(desc=f"{STUDY} {SCHEDULED}") as bar:
        for seed in cfg.seeds:
            run, seed_passes = stepped_run(
                make_model, data, cfg, seed, study.schedule_lrs, study.patience, study.min_delta, bar
            )
            runs.append(run)
            passes[str(seed)] = [p.as_dict() for p in seed_passes]
            found = [p.plateau for p in seed_passes if p.plateau is not None]
            print(f"{STUDY} {SCHEDULED}: seed {seed}: plateaus after epochs {found or 'none'}", flush=True)
    return runs, passes


def _train_step(settings: Settings, item: str | None) -> Path:
    if item is None:
        raise ValueError("learning_rates train needs a variant, e.g. lr_0.01")
    return train_variant(item, settings)


# `annstudy stage learning_rates train <variant>` (annstudy/pipeline/stage.py)
STEPS = {"train": _train_step}
