"""``studies.signals`` (S6): its keys."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from annstudy.engine.optim import OPTIMIZERS
from annstudy.params.schema import (
    Fraction,
    NonNegativeInt,
    NonNegativeNumber,
    OneOf,
    PositiveInt,
    PositiveNumber,
    Seeds,
    StudyConfig,
    from_profile,
    items,
    list_of,
    positive_int,
    positive_number,
)


def at_most_two_layers(v: Any) -> str | None:
    if (msg := list_of(positive_int, unique=False)(v)) is not None:
        return msg
    return None if len(v) <= 2 else f"at most 2 hidden layers (studies.md), got {v!r}"


class SignalsSettings(StudyConfig):
    """S6: normal vs abnormal 1D signals (generator: data/synthetic.py::signal)."""

    seeds: Seeds = from_profile("seeds")
    data_seed: NonNegativeInt = Field(description="seed of the generated signals")
    n_signals: PositiveInt = Field(description="signals, half normal, half abnormal")
    length: PositiveInt = Field(description="samples per signal")
    period: PositiveNumber = Field(description="mean samples between beats")
    noise: NonNegativeNumber = Field(description="std of the white noise added to every sample")
    train_fraction: Fraction = Field(description="training share")
    val_fraction: Fraction = Field(description="validation share (the test share is what is left)")
    hidden: Annotated[tuple[int, ...], items(at_most_two_layers)] = Field(description="at most 2 hidden ReLU layers")
    optimizer: OneOf(lambda: list(OPTIMIZERS), "optimizer") = Field(description="engine/optim.py name")
    rates: Annotated[tuple[float, ...], items(list_of(positive_number))] = Field(
        description="learning rates, each trained from the same initialisation (studies.md: SGD at 0.05 and 0.005)"
    )
    batch_size: PositiveInt = Field(description="training batch")
    epochs: PositiveInt = from_profile("epochs")

    @model_validator(mode="after")
    def _test_set_left(self) -> SignalsSettings:
        if self.train_fraction + self.val_fraction >= 1:
            raise ValueError("train_fraction + val_fraction must be < 1 (the rest is the test set)")
        return self


CONFIG = SignalsSettings
