"""``studies.from_scratch`` (S7): its keys."""

from __future__ import annotations

from pydantic import Field

from annstudy.data.registry import DATASETS
from annstudy.params.schema import (
    ListOf,
    NonNegativeInt,
    OneOf,
    PositiveInt,
    PositiveNumber,
    Seeds,
    StudyConfig,
    from_profile,
    one_of,
)
from annstudy.scratch.conv2d import KERNELS


class FromScratchSettings(StudyConfig):
    """S7: an MLP and a conv2d written in NumPy (annstudy/scratch), checked against PyTorch."""

    dataset: OneOf(lambda: sorted(DATASETS), "dataset") = Field(description="prepared split, flattened to 784")
    hidden: PositiveInt = Field(description="hidden ReLU units of the 784-hidden-10 MLP")
    lr: PositiveNumber = Field(description="plain mini-batch gradient descent, no momentum")
    batch_size: PositiveInt = Field(description="training batch")
    epochs: PositiveInt = from_profile("epochs")
    seeds: Seeds = from_profile("seeds")
    log_every: PositiveInt = from_profile("steps between curve points")
    train_limit: NonNegativeInt = from_profile("first N training images (0: all)")
    grad_check_batch: PositiveInt = Field(description="training images in the float64 gradient check")
    kernels: ListOf(one_of(list(KERNELS), "kernel")) = Field(description="names in scratch/conv2d.py KERNELS")
    images_shown: PositiveInt = Field(description="test images (rows) of the feature-map figure")


CONFIG = FromScratchSettings
