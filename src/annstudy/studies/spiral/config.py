"""``studies.spiral`` (S6): its keys."""

from __future__ import annotations

from pydantic import Field

from annstudy.engine.optim import OPTIMIZERS
from annstudy.params.schema import (
    Fraction,
    NonNegativeInt,
    NonNegativeNumber,
    OneOf,
    PositiveInt,
    PositiveNumber,
    Seeds,
    Sizes,
    StudyConfig,
    from_profile,
)


class SpiralSettings(StudyConfig):
    """S6: 5-arm spiral, k-fold cross-validation with early stopping."""

    seeds: Seeds = from_profile("seeds (x folds = models)")
    data_seed: NonNegativeInt = Field(description="seed of the generated points")
    arms: PositiveInt = Field(description="spiral arms (classes)")
    points_per_arm: PositiveInt = Field(description="points per arm")
    turns: PositiveNumber = Field(description="revolutions of each arm from the centre to the rim")
    noise: NonNegativeNumber = Field(description="Gaussian jitter of each coordinate")
    test_fraction: Fraction = Field(description="held-out test points")
    hidden: Sizes = Field(description="hidden layers of the MLP")
    folds: PositiveInt = Field(description="cross-validation folds")
    optimizer: OneOf(lambda: list(OPTIMIZERS), "optimizer") = Field(description="engine/optim.py name")
    lr: PositiveNumber = Field(description="learning rate")
    lr_decay: Fraction = Field(description="lr x this ...")
    lr_decay_every: PositiveInt = Field(description="... every this many epochs")
    patience: PositiveInt = Field(description="epochs without a lower validation loss; best weights restored")
    batch_size: NonNegativeInt = Field(description="training batch (0: full batch)")
    max_epochs: PositiveInt = from_profile("epochs at most (early stopping)")
    target_acc: Fraction = Field(description="the test accuracy the study must reach")
    grid: PositiveInt = Field(description="decision-region grid points per axis")


CONFIG = SpiralSettings
