"""``studies.learning_rates`` (S3): schema and effective settings.

Variants (the stage items): ``lr_<rate>`` (constant-rate SGD), ``scheduled`` (SGD whose
rate steps down through ``schedule_lrs`` at validation plateaus) and ``adam`` (S1's
optimizer). The dataset is S1's (``studies.architectures.dataset``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from annstudy.params.architectures import architecture
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
from annstudy.params.training import TrainSettings, train_settings

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


def variant(v: Any) -> str | None:
    if isinstance(v, str) and (v in (SCHEDULED, ADAM) or constant_lr(v) is not None):
        return None
    return f"must be lr_<rate> (e.g. lr_0.01), {SCHEDULED} or {ADAM}, got {v!r}"


SCHEMA: dict[str, Field] = {
    "arch": Field(architecture),
    "variants": Field(list_of(variant)),
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
    variants: tuple[str, ...]
    train: TrainSettings  # constant-rate SGD (lr set per variant)
    schedule_lrs: tuple[float, ...]
    patience: int
    min_delta: float
    schedule_epochs: int
    adam_lr: float
    adam_epochs: int

    def train_for(self, name: str) -> TrainSettings:
        """The engine settings of one variant; ValueError for a variant not configured."""
        if name not in self.variants:
            raise ValueError(f"variant {name!r} is not in studies.learning_rates.variants "
                             f"({', '.join(self.variants)})")  # fmt: skip
        if name == SCHEDULED:
            return replace(self.train, lr=self.schedule_lrs[0], epochs=self.schedule_epochs)
        if name == ADAM:
            return replace(self.train, optimizer="adam", lr=self.adam_lr, momentum=0.0, epochs=self.adam_epochs)
        return replace(self.train, lr=constant_lr(name))


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> LearningRatesSettings:
    return LearningRatesSettings(
        dataset=raw["studies"]["architectures"]["dataset"],
        arch=study["arch"],
        variants=tuple(study["variants"]),
        train=train_settings({**study, "optimizer": "sgd", "lr": study["schedule_lrs"][0]}, raw),
        schedule_lrs=tuple(float(x) for x in study["schedule_lrs"]),
        patience=study["patience"],
        min_delta=float(study["min_delta"]),
        schedule_epochs=study["schedule_epochs"],
        adam_lr=float(study["adam_lr"]),
        adam_epochs=study["adam_epochs"],
    )
