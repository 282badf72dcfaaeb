"""``studies.learning_rates`` (S3): its keys and variants.

Variants: ``lr_<rate>`` for each of ``rates`` (constant-rate SGD, stage
``learning_rates_sgd@<rate>``), ``scheduled`` (SGD whose rate steps down through
``schedule_lrs`` at the plateau epochs found by the exercise's passes, stage
``learning_rates_scheduled``, :func:`annstudy.engine.schedules.stepped_run`) and ``adam``
(S1's optimizer, stage ``learning_rates_adam``). Three stage kinds rather than one
foreach over all variants, so each lists only the keys it reads: changing ``adam_lr``
reruns the Adam stage alone. The dataset is S1's (``studies.architectures.dataset``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from pydantic import Field

from annstudy.engine.settings import TrainSettings, train_settings
from annstudy.params.schema import (
    ListOf,
    NonNegativeInt,
    NonNegativeNumber,
    PositiveInt,
    PositiveNumber,
    Seeds,
    StudyConfig,
    checked,
    from_profile,
    is_number,
    list_of,
    positive_number,
)
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
    return lr if is_number(lr) and lr > 0 else None


def constant_variant(rate: float) -> str:
    """``0.01`` -> ``lr_0.01``: Python's ``str`` of the YAML number, as DVC writes ``lr_${item}``."""
    return f"{CONSTANT_PREFIX}{rate}"


class LearningRatesSettings(StudyConfig):
    """S3: one architecture, SGD at constant rates, the multi-pass step schedule, and Adam."""

    arch: Annotated[str, checked(architecture)] = Field(description="the architecture (models/zoo.py)")
    rates: ListOf(positive_number) = Field(description="constant-rate SGD variants lr_<rate>")
    momentum: NonNegativeNumber = Field(description="SGD momentum (constant and scheduled)")
    batch_size: PositiveInt = Field(description="training batch")
    eval_batch_size: PositiveInt = Field(description="evaluation batch (memory only)")
    schedule_lrs: Annotated[tuple[float, ...], checked(list_of(positive_number), lambda v: tuple(map(float, v)))] = (
        Field(description="the scheduled variant's rates: pass 1 at the first, one drop per plateau found")
    )
    min_delta: NonNegativeNumber = Field(
        description="plateau rule: epoch e is a plateau if no later epoch of the window beats the best so far by more"
    )
    adam_lr: PositiveNumber = Field(description="the adam variant's rate")
    seeds: Seeds = from_profile("seeds of every variant")
    epochs: PositiveInt = from_profile("epochs of the constant-rate variants")
    schedule_epochs: PositiveInt = from_profile("epochs of the scheduled variant's last pass (the schedule length)")
    adam_epochs: PositiveInt = from_profile("epochs of the adam variant")
    patience: PositiveInt = from_profile("plateau rule: epochs after e that must not improve (the window)")
    log_every: PositiveInt = from_profile("steps between curve points")
    val_subset: NonNegativeInt = from_profile("validation images at log steps (0: all)")
    train_limit: NonNegativeInt = from_profile("a stratified subset of N training images, N / classes of each (0: all)")
    stop_patience: NonNegativeInt = from_profile(
        "early stopping of every variant (the schedule too): epochs without a lower full-validation loss "
        "before a seed stops, evaluated at its best epoch (0: every seed trains all its epochs)"
    )

    @property
    def dataset(self) -> str:
        """S1's dataset (``studies.architectures.dataset``)."""
        return self.params["studies"]["architectures"]["dataset"]

    @property
    def train(self) -> TrainSettings:
        """Constant-rate SGD (lr set per variant)."""
        return train_settings(self, optimizer="sgd", lr=self.schedule_lrs[0])

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

    def settings_rows(self) -> list[str]:
        return [
            "dataset",
            "arch",
            "rates",
            "train",
            "schedule_lrs",
            "patience",
            "min_delta",
            "schedule_epochs",
            "adam_lr",
            "adam_epochs",
        ]


CONFIG = LearningRatesSettings
