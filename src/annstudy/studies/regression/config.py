"""``studies.regression`` (S5): its keys."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from annstudy.engine.optim import OPTIMIZERS
from annstudy.models.small import ARCH_PATTERN
from annstudy.params.schema import (
    MappingOf,
    NonNegativeInt,
    NonNegativeNumber,
    Number,
    OneOf,
    PositiveInt,
    PositiveNumber,
    Seeds,
    Sizes,
    StudyConfig,
    checked,
    from_profile,
    positive_number,
)


def bell_arch(v: Any) -> str | None:
    ok = isinstance(v, str) and ARCH_PATTERN.match(v) and v.startswith("2-") and v.endswith("-1")
    return None if ok else f"architecture {v!r} must look like 2-50-1 (2 inputs, 1 output)"


def at_least_two(v: Any) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) and v >= 2 else f"must be an integer >= 2, got {v!r}"


class RegressionSettings(StudyConfig):
    """S5: small fully connected networks on regression problems (docs/small_networks.md)."""

    seeds: Seeds = from_profile("seeds")
    data_seed: NonNegativeInt = Field(description="every data set is generated from this seed (+0, +1, ...)")
    optimizer: OneOf(lambda: list(OPTIMIZERS), "optimizer") = Field(
        description="the bell fits (the linear neuron uses plain SGD, the non-linear fit nonlinear_optimizer)"
    )
    linear_a: Number = Field(description="y = a*x + b + N(0, sigma^2)")
    linear_b: Number = Field(description="y = a*x + b + N(0, sigma^2)")
    linear_sigma: NonNegativeNumber = Field(description="noise std of the linear data")
    linear_points: PositiveInt = Field(description="points of the linear data")
    linear_x_max: PositiveNumber = Field(description="x ~ U(0, x_max)")
    linear_lr: PositiveNumber = Field(description="SGD rate of the linear neuron")
    linear_batch_size: PositiveInt = Field(description="batch of the linear neuron")
    linear_epochs: PositiveInt = from_profile("epochs of the linear neuron")
    nonlinear_points: PositiveInt = Field(description="points of the non-linear data")
    nonlinear_noise: NonNegativeNumber = Field(description="noise std of the non-linear data")
    nonlinear_hidden: Sizes = Field(description="hidden layers of the non-linear MLP")
    nonlinear_optimizer: OneOf(lambda: list(OPTIMIZERS), "optimizer") = Field(
        description="optimizer of the non-linear fit (studies.md: mini-batch SGD)"
    )
    nonlinear_lr: PositiveNumber = Field(description="rate of the non-linear fit")
    nonlinear_batch_size: NonNegativeInt = Field(description="batch of the non-linear fit (0: full batch)")
    nonlinear_epochs: PositiveInt = from_profile("epochs of the non-linear fit")
    bell_train: PositiveInt = Field(description="training points of the 2D bell")
    bell_test: PositiveInt = Field(description="test points of the 2D bell")
    bell_small: PositiveInt = Field(description="training points of the small-data run")
    bell_noise: NonNegativeNumber = Field(description="noise std of the bell data")
    bell_archs: MappingOf(bell_arch, positive_number) = Field(description="architecture -> Adam lr, in params order")
    bell_batch_size: NonNegativeInt = Field(description="batch of the bell fits (0: full batch)")
    bell_epochs: PositiveInt = from_profile("epochs of the bell fits")
    bell_small_epochs: PositiveInt = from_profile("epochs of the small-data run")
    bell_small_folds: Annotated[int, checked(at_least_two)] = Field(
        description="folds of the cross-validation on the small set that picks a network from the data alone"
    )

    @property
    def regression_csv(self) -> str | None:
        """``data.regression_csv``: replaces the synthetic non-linear set."""
        return self.params["data"].get("regression_csv")

    def settings_rows(self) -> list[str]:
        return [*type(self).model_fields, "regression_csv"]


CONFIG = RegressionSettings
