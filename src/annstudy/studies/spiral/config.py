"""``studies.spiral`` (S6): schema and effective settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annstudy.engine.optim import OPTIMIZERS
from annstudy.params.schema import (
    Field,
    fraction,
    freeze,
    list_of,
    non_negative_int,
    non_negative_number,
    one_of,
    positive_int,
    positive_number,
    seed,
)

SCHEMA: dict[str, Field] = {
    "seeds": Field(list_of(seed), profile=True),
    "data_seed": Field(non_negative_int),
    "arms": Field(positive_int),
    "points_per_arm": Field(positive_int),
    "turns": Field(positive_number),
    "noise": Field(non_negative_number),
    "test_fraction": Field(fraction),
    "hidden": Field(list_of(positive_int, unique=False)),
    "folds": Field(positive_int),
    "optimizer": Field(one_of(lambda: list(OPTIMIZERS), "optimizer")),
    "lr": Field(positive_number),
    "lr_decay": Field(fraction),
    "lr_decay_every": Field(positive_int),
    "patience": Field(positive_int),
    "batch_size": Field(non_negative_int),
    "max_epochs": Field(positive_int, profile=True),
    "target_acc": Field(fraction),
    "grid": Field(positive_int),
}


@dataclass(frozen=True)
class SpiralSettings:
    seeds: tuple[int, ...]
    data_seed: int
    arms: int
    points_per_arm: int
    turns: float
    noise: float
    test_fraction: float
    hidden: tuple[int, ...]
    folds: int
    optimizer: str
    lr: float
    lr_decay: float
    lr_decay_every: int
    patience: int
    batch_size: int
    max_epochs: int
    target_acc: float
    grid: int


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> SpiralSettings:
    return SpiralSettings(**{k: freeze(v) for k, v in study.items()})
