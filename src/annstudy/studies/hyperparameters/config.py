"""``studies.hyperparameters`` (S4): its keys, the base configuration and its sweep variants.

A *variant* is the base configuration with one knob changed (one axis of
``studies.hyperparameters.sweeps`` set to one of its values). Variant names are stable
and readable, because they key the metrics and the report: ``base``, ``lr_0.01``,
``hidden_128``, ``optimizer_sgd_momentum``, ``l1``, ``l2``, ``complex``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

from pydantic import Field

from annstudy.engine.optim import OPTIMIZERS
from annstudy.engine.settings import TrainSettings
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
    checked,
    from_profile,
    list_of,
    one_of,
    positive_int,
    positive_number,
)

SGD_MOMENTUM = "sgd_momentum"  # SGD with `studies.hyperparameters.momentum`
PENALTIES = ["none", "l1", "l2"]
MODELS = ["complex"]  # the Dropout + BatchNorm MLP (complex_hidden, complex_dropout)
FULL_BATCH = 1 << 30  # evaluation in one batch: digits splits are a few hundred images

optimizer_name = one_of(lambda: [*OPTIMIZERS, SGD_MOMENTUM], "optimizer")

# axis -> check of one value
AXES: dict[str, Any] = {
    "lr": positive_number,
    "hidden": positive_int,
    "optimizer": optimizer_name,
    "penalty": one_of(PENALTIES, "penalty"),
    "model": one_of(MODELS, "model"),
}


def check_sweeps(v: Any) -> str | None:
    if not isinstance(v, dict) or not v:
        return f"must be a mapping axis -> list of values (axes: {', '.join(AXES)}), got {v!r}"
    for axis, values in v.items():
        if axis not in AXES:
            return one_of(list(AXES), "sweep axis")(axis)
        if (msg := list_of(AXES[axis])(values)) is not None:
            return f"{axis}: {msg}"
    return None


# (axis, values) in params order
Sweeps = Annotated[tuple, checked(check_sweeps, lambda v: tuple((axis, tuple(x)) for axis, x in v.items()))]


@dataclass(frozen=True)
class Variant:
    """One trained configuration: the base with (at most) one knob changed."""

    name: str
    axis: str  # "base" or the sweep axis
    value: Any  # the swept value (the base's own value for "base")
    hidden: tuple[int, ...]
    dropout: float
    batchnorm: bool
    optimizer: str  # the params name (sgd_momentum included)
    lr: float
    momentum: float  # used by sgd_momentum only
    penalty: str
    penalty_lambda: float

    @property
    def engine_optimizer(self) -> tuple[str, float]:
        """(OPTIMIZERS name, momentum): SGD+momentum is SGD with the study's momentum."""
        if self.optimizer == SGD_MOMENTUM:
            return "sgd", self.momentum
        return self.optimizer, 0.0


def variant_name(axis: str, value: Any) -> str:
    """``lr_0.01``, ``hidden_128``, ``optimizer_adam``; penalties and models by their own name."""
    if axis in ("penalty", "model"):
        return str(value)
    return f"{axis}_{value:g}" if isinstance(value, float) else f"{axis}_{value}"


class HyperparametersSettings(StudyConfig):
    """S4: MLPs on sklearn digits, one sweep per axis around a base model."""

    split_seed: NonNegativeInt = Field(description="seed of the stratified val/test draws")
    val_fraction: Fraction = Field(description="validation share of all images")
    test_fraction: Fraction = Field(description="test share of all images (drawn first)")
    hidden: PositiveInt = Field(description="hidden units of the base MLP 64-<hidden>-10")
    optimizer: OneOf(lambda: [*OPTIMIZERS, SGD_MOMENTUM], "optimizer") = Field(description="the base's optimizer")
    lr: PositiveNumber = Field(description="the base's learning rate")
    momentum: NonNegativeNumber = Field(description="of sgd_momentum only")
    batch_size: PositiveInt = Field(description="training batch")
    penalty: OneOf(PENALTIES, "penalty") = Field(description="none, l1 or l2: lambda x sum of |w| or w^2")
    penalty_lambda: PositiveNumber = Field(description="weight of the penalty")
    complex_hidden: Sizes = Field(description='hidden layers of the "complex" model')
    complex_dropout: Fraction = Field(description='dropout of the "complex" model')
    sweeps: Sweeps = Field(description="axis -> values, each trained with the rest at base")
    numpy_lr: PositiveNumber = Field(description="learning rate of the lab's Exercise 1 in NumPy (sigmoid, MSE)")
    numpy_steps: PositiveInt = Field(description="full-batch gradient steps of Exercise 1 in NumPy")
    seeds: Seeds = from_profile("seeds, trained together as one stacked network")
    epochs: PositiveInt = from_profile("epochs of every variant")

    @property
    def base(self) -> Variant:
        return Variant(
            name="base",
            axis="base",
            value=None,
            hidden=(self.hidden,),
            dropout=0.0,
            batchnorm=False,
            optimizer=self.optimizer,
            lr=float(self.lr),
            momentum=float(self.momentum),
            penalty=self.penalty,
            penalty_lambda=float(self.penalty_lambda),
        )

    @property
    def train(self) -> TrainSettings:
        """Of the base variant."""
        optimizer, momentum = self.base.engine_optimizer
        return TrainSettings(
            optimizer=optimizer,
            lr=self.base.lr,
            momentum=momentum,
            batch_size=self.batch_size,
            eval_batch_size=FULL_BATCH,
            seeds=self.seeds,
            epochs=self.epochs,
            log_every=1,  # replaced by the steps of one epoch at training time (one curve row per epoch)
            val_subset=0,
            train_limit=0,
            train_eval_subset=0,
            vectorize=True,  # always stacked: the penalties are per seed of a stacked model
        )

    def settings_rows(self) -> list[str]:
        return [
            "split_seed",
            "val_fraction",
            "test_fraction",
            "base",
            "sweeps",
            "complex_hidden",
            "complex_dropout",
            "train",
        ]

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(axis for axis, _ in self.sweeps)

    def variants(self, axis: str) -> list[Variant]:
        """The base alone for ``base``, else one variant per value of the sweep axis."""
        if axis == "base":
            return [self.base]
        values = dict(self.sweeps).get(axis)
        if values is None:
            raise ValueError(
                f"sweep axis {axis!r} is not in studies.hyperparameters.sweeps (axes: base, {', '.join(self.axes)})"
            )
        return [self._variant(axis, v) for v in values]

    def _variant(self, axis: str, value: Any) -> Variant:
        name = variant_name(axis, value)
        if axis == "lr":
            return replace(self.base, name=name, axis=axis, value=value, lr=float(value))
        if axis == "hidden":
            return replace(self.base, name=name, axis=axis, value=value, hidden=(int(value),))
        if axis == "optimizer":
            return replace(self.base, name=name, axis=axis, value=value, optimizer=value)
        if axis == "penalty":
            return replace(self.base, name=name, axis=axis, value=value, penalty=value)
        return replace(
            self.base,
            name=name,
            axis=axis,
            value=value,
            hidden=self.complex_hidden,
            dropout=self.complex_dropout,
            batchnorm=True,
        )

    def train_for(self, variant: Variant) -> TrainSettings:
        optimizer, momentum = variant.engine_optimizer
        return replace(self.train, optimizer=optimizer, lr=variant.lr, momentum=momentum)


CONFIG = HyperparametersSettings
