"""How one configuration is trained: the engine's view of the settings, shared by studies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainSettings:
    """Everything the engine (engine/seeds.py) needs to train the seeds of one model."""

    optimizer: str
    lr: float
    momentum: float
    batch_size: int
    eval_batch_size: int
    seeds: tuple[int, ...]
    epochs: int
    log_every: int
    val_subset: int
    train_limit: int
    train_eval_subset: int
    train_log_subset: int = 0  # fixed training images for the eval-mode train accuracy at log steps (0: none)
    stop_patience: int = 0  # early stopping: epochs without a lower full-validation loss (0: all `epochs`)
    vectorize: bool = False  # all seeds as one stacked network (models/stacked.py)
    channels_last: bool = False  # NHWC memory layout for convolutions


def train_settings(study: Any, **overrides: Any) -> TrainSettings:
    """The engine settings of a study model using the shared key names (profile values resolved).

    Keys a study does not have take the engine's neutral value (no momentum, all training
    images, the whole train split for the final train accuracy, no early stopping); ``overrides``
    replace keys. Early stopping is ``stop_patience``, not ``patience``: S3's ``patience`` is its
    schedule's plateau rule.
    """
    value = {
        "momentum": 0.0,
        "train_limit": 0,
        "train_eval_subset": 0,
        "train_log_subset": 0,
        "stop_patience": 0,
        **{k: getattr(study, k) for k in TrainSettings.__dataclass_fields__ if hasattr(study, k)},
        **overrides,
    }
    return TrainSettings(
        optimizer=value["optimizer"],
        lr=float(value["lr"]),
        momentum=float(value["momentum"]),
        batch_size=value["batch_size"],
        eval_batch_size=value["eval_batch_size"],
        seeds=tuple(value["seeds"]),
        epochs=value["epochs"],
        log_every=value["log_every"],
        val_subset=value["val_subset"],
        train_limit=value["train_limit"],
        train_eval_subset=value["train_eval_subset"],
        train_log_subset=value["train_log_subset"],
        stop_patience=value["stop_patience"],
        vectorize=study.params["vectorize_seeds"],
        channels_last=study.params["channels_last"],
    )
