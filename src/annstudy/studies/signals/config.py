"""``studies.signals`` (S6): schema and effective settings."""

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


def at_most_two_layers(v: Any) -> str | None:
    if (msg := list_of(positive_int, unique=False)(v)) is not None:
        return msg
    return None if len(v) <= 2 else f"at most 2 hidden layers (studies.md), got {v!r}"


SCHEMA: dict[str, Field] = {
    "seeds": Field(list_of(seed), profile=True),
    "data_seed": Field(non_negative_int),
    "n_signals": Field(positive_int),
    "length": Field(positive_int),
    "period": Field(positive_number),
    "noise": Field(non_negative_number),
    "train_fraction": Field(fraction),
    "val_fraction": Field(fraction),
    "hidden": Field(at_most_two_layers),
    "optimizer": Field(one_of(lambda: list(OPTIMIZERS), "optimizer")),
    "lr": Field(positive_number),
    "batch_size": Field(positive_int),
    "epochs": Field(positive_int, profile=True),
}


@dataclass(frozen=True)
class SignalsSettings:
    seeds: tuple[int, ...]
    data_seed: int
    n_signals: int
    length: int
    period: float  # mean samples between beats
    noise: float  # std of the white noise added to every sample
    train_fraction: float
    val_fraction: float  # the test share is what is left
    hidden: tuple[int, ...]
    optimizer: str
    lr: float
    batch_size: int
    epochs: int


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> SignalsSettings:
    settings = SignalsSettings(**{k: freeze(v) for k, v in study.items()})
    if settings.train_fraction + settings.val_fraction >= 1:
        raise ValueError("studies.signals: train_fraction + val_fraction must be < 1 (the rest is the test set)")
    return settings
