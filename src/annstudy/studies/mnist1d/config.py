"""``studies.mnist1d`` (S6): its keys."""

from __future__ import annotations

from pydantic import Field

from annstudy.engine.optim import OPTIMIZERS
from annstudy.params.schema import (
    Fraction,
    ListOf,
    MappingOf,
    NonNegativeInt,
    OneOf,
    PositiveInt,
    PositiveNumber,
    Seeds,
    Sizes,
    StudyConfig,
    fraction,
    from_profile,
    one_of,
)

MODELS = ("mlp", "cnn")


class Mnist1dSettings(StudyConfig):
    """S6: MNIST-1D (built locally by the mnist1d package) with an MLP and a 1D CNN."""

    seeds: Seeds = from_profile("seeds")
    data_seed: NonNegativeInt = Field(description="mnist1d's own generator seed (42: the published set)")
    num_samples: PositiveInt = Field(description="series generated")
    train_split: Fraction = Field(description="training share")
    models: ListOf(one_of(list(MODELS), "model")) = Field(description="mlp and/or cnn")
    mlp_hidden: Sizes = Field(description="hidden layers of the MLP")
    cnn_channels: PositiveInt = Field(description="channels of the 3 Conv1d layers")
    optimizer: OneOf(lambda: list(OPTIMIZERS), "optimizer") = Field(description="engine/optim.py name")
    lr: PositiveNumber = Field(description="learning rate")
    batch_size: PositiveInt = Field(description="training batch")
    epochs: PositiveInt = from_profile("epochs (the paper: 150, 6,000 steps of 100)")
    published_acc: MappingOf(one_of(list(MODELS), "model"), fraction) = Field(
        description="model -> the published test accuracy"
    )
    tolerance: Fraction = Field(description="|ours - published| allowed for the full profile")


CONFIG = Mnist1dSettings
