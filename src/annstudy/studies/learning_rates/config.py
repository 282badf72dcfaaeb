"""``studies.learning_rates`` (S3): schema and effective settings.

Variants: ``lr_<rate>`` for each of ``rates`` (constant-rate SGD, stage
``learning_rates_sgd@<rate>``), ``scheduled`` (SGD whose rate steps down through
``schedule_lrs`` at validation plateaus, stage ``learning_rates_scheduled``) and ``adam``
(S1's optimizer, stage ``learning_rates_adam``). Three stage kinds rather than one
foreach over all variants, so each lists only the keys it reads: changing ``adam_lr``
reruns the Adam stage alone. The dataset is S1's (``studies.architectures.dataset``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from annstudy.engine.settings import TrainSettings
from annstudy.params.schema import (
    Field,
    _is_num,
    list_of,
    non_negative_int,
    non_negative_number,
    positive_int,
    positive_number,
    seed,
)
from annstudy.params.training import train_settings
from annstudy.studies.architectures.config import architecture

SCHEDULED, ADAM, CONSTANT_PREFIX = "scheduled", "adam", "lr_"


def constant_lr(variant: str) -> float | None:
    """The rate of an ``lr_<rate>`` variant (``lr_0.01`` -> 0.01), else None."""
    if not variant.startswith(CONSTANT_PREFIX):
        return None
    try:
        lr = float(variant[len(CONSTANT_PREFIX) :])
    except ValueError:
        return None
    return lr if _is_num(lr) and lr > 0 else None


def constant_variant(rate: float) -> str:
    """``0.01`` -> ``lr_0.01``: Python's ``str`` of the YAML number, as DVC writes ``lr_${item}``."""
    return f"{CONSTANT_PREFIX}{rate}"


SCHEMA: dict[str, Field] = {
    "arch": Field(architecture),
    "rates": Field(list_of(positive_number)),
    "momentum": Field(non_negative_number),
    "batch_size": Field(positive_int),
    "eval_batch_size": Field(positive_int),
    "schedule_lrs": Field(list_of(positive_number)),
    "min_delta": Field(non_negative_number),
    "adam_lr": Field(positive_number),
    # null = the active profile's value
    "seeds": Field(list_of(seed), profile=True),
    "epochs": Field(positive_int, profile=True),
    "schedule_epochs": Field(positive_int, profile=True),
    "adam_epochs": Field(positive_int, profile=True),
    "patience": Field(positive_int, profile=True),
    "log_every": Field(positive_int, profile=True),
    "val_subset": Field(non_negative_int, profile=True),
    "train_limit": Field(non_negative_int, profile=True),
}


@dataclass(frozen=True)
class LearningRatesSettings:
    dataset: str  # studies.architectures.dataset
    arch: str
    rates: tuple[float, ...]
    train: TrainSettings  # constant-rate SGD (lr set per variant)
    schedule_lrs: tuple[float, ...]
    patience: int
    min_delta: float
    schedule_epochs: int
    adam_lr: float
    adam_epochs: int

    @property
    def variants(self) -> tuple[str, ...]:
        """``lr_<rate>`` per constant rate, then ``scheduled`` and ``adam`` (report order)."""
        return (*(constant_variant(r) for r in self.rates), SCHEDULED, ADAM)

    def train_for(self, name: str) -> TrainSettings:
        """The engine settings of one variant; ValueError for a variant not configured."""
        if name not in self.variants:
            raise ValueError(
                f"variant {name!r} is not one of {', '.join(self.variants)} "
                "(lr_<rate> for each of studies.learning_rates.rates)"
            )
        if name == SCHEDULED:
            return replace(self.train, lr=self.schedule_lrs[0], epochs=self.schedule_epochs)
        if name == ADAM:
            return replace(self.train, optimizer="adam", lr=self.adam_lr, momentum=0.0, epochs=self.adam_epochs)
        return replace(self.train, lr=constant_lr(name))


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> LearningRatesSettings:
    return LearningRatesSettings(
        dataset=raw["studies"]["architectures"]["dataset"],
        arch=study["arch"],
        rates=tuple(study["rates"]),
        train=train_settings({**study, "optimizer": "sgd", "lr": study["schedule_lrs"][0]}, raw),
        schedule_lrs=tuple(float(x) for x in study["schedule_lrs"]),
        patience=study["patience"],
        min_delta=float(study["min_delta"]),
        schedule_epochs=study["schedule_epochs"],
        adam_lr=float(study["adam_lr"]),
        adam_epochs=study["adam_epochs"],
    )
