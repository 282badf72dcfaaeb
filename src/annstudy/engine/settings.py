"""How one configuration is trained: the engine's view of the settings, shared by studies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainSettings:
    """Everything the engine (engine/trainer.py) needs to train the seeds of one model."""

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
    vectorize: bool = False  # all seeds as one stacked network (models/stacked.py)
    channels_last: bool = False  # NHWC memory layout for convolutions
