"""``studies.mnist1d`` (S6): schema and effective settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annstudy.engine.optim import OPTIMIZERS
from annstudy.params.schema import (
    Field,
    fraction,
    freeze,
    list_of,
    mapping_of,
    non_negative_int,
    one_of,
    positive_int,
    positive_number,
    seed,
)

MODELS = ("mlp", "cnn")

SCHEMA: dict[str, Field] = {
    "seeds": Field(list_of(seed), profile=True),
    "data_seed": Field(non_negative_int),
    "num_samples": Field(positive_int),
    "train_split": Field(fraction),
    "models": Field(list_of(one_of(list(MODELS), "model"))),
    "mlp_hidden": Field(list_of(positive_int, unique=False)),
    "cnn_channels": Field(positive_int),
    "optimizer": Field(one_of(lambda: list(OPTIMIZERS), "optimizer")),
    "lr": Field(positive_number),
    "batch_size": Field(positive_int),
    "epochs": Field(positive_int, profile=True),
    "published_acc": Field(mapping_of(one_of(list(MODELS), "model"), fraction)),
    "tolerance": Field(fraction),
}


@dataclass(frozen=True)
class Mnist1dSettings:
    seeds: tuple[int, ...]
    data_seed: int  # mnist1d's own generator seed (its default, 42, is the published set)
    num_samples: int
    train_split: float
    models: tuple[str, ...]
    mlp_hidden: tuple[int, ...]
    cnn_channels: int
    optimizer: str
    lr: float
    batch_size: int
    epochs: int  # the paper: 6,000 steps of 100 = 150 epochs of the 4,000 training series
    published_acc: dict[str, float]
    tolerance: float  # |ours - published| allowed for the full profile


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> Mnist1dSettings:
    return Mnist1dSettings(**{k: freeze(v) for k, v in study.items()})
