"""``studies.hyperparameters`` (S4): schema, the base configuration and its sweep variants.

A *variant* is the base configuration with one knob changed (one axis of
``studies.hyperparameters.sweeps`` set to one of its values). Variant names are stable
and readable, because they key the metrics and the report: ``base``, ``lr_0.01``,
``hidden_128``, ``optimizer_sgd_momentum``, ``l1``, ``l2``, ``complex``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from annstudy.engine.optim import OPTIMIZERS
from annstudy.engine.settings import TrainSettings
from annstudy.params.schema import (
    Field,
    fraction,
    list_of,
    non_negative_int,
    non_negative_number,
    one_of,
    positive_int,
    positive_number,
    seed,
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


SCHEMA: dict[str, Field] = {
    "split_seed": Field(non_negative_int),
    "val_fraction": Field(fraction),
    "test_fraction": Field(fraction),
    "hidden": Field(positive_int),
    "optimizer": Field(optimizer_name),
    "lr": Field(positive_number),
    "momentum": Field(non_negative_number),
    "batch_size": Field(positive_int),
    "penalty": Field(one_of(PENALTIES, "penalty")),
    "penalty_lambda": Field(positive_number),
    "complex_hidden": Field(list_of(positive_int, unique=False)),
    "complex_dropout": Field(fraction),
    "sweeps": Field(check_sweeps),
    # null = the active profile's value
    "seeds": Field(list_of(seed), profile=True),
    "epochs": Field(positive_int, profile=True),
}


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


@dataclass(frozen=True)
class HyperparametersSettings:
    split_seed: int
    val_fraction: float
    test_fraction: float
    base: Variant
    sweeps: tuple[tuple[str, tuple], ...]  # (axis, values) in params order
    complex_hidden: tuple[int, ...]
    complex_dropout: float
    train: TrainSettings  # of the base variant

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


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> HyperparametersSettings:
    """``study``: the section with profile values filled in; ``raw_study``: as written."""
    base = Variant(
        name="base",
        axis="base",
        value=None,
        hidden=(study["hidden"],),
        dropout=0.0,
        batchnorm=False,
        optimizer=study["optimizer"],
        lr=float(study["lr"]),
        momentum=float(study["momentum"]),
        penalty=study["penalty"],
        penalty_lambda=float(study["penalty_lambda"]),
    )
    optimizer, momentum = base.engine_optimizer
    train = TrainSettings(
        optimizer=optimizer,
        lr=base.lr,
        momentum=momentum,
        batch_size=study["batch_size"],
        eval_batch_size=FULL_BATCH,
        seeds=tuple(study["seeds"]),
        epochs=study["epochs"],
        log_every=1,  # replaced by the steps of one epoch at training time (one curve row per epoch)
        val_subset=0,
        train_limit=0,
        train_eval_subset=0,
        vectorize=True,  # always stacked: the penalties are per seed of a stacked model
    )
    return HyperparametersSettings(
        split_seed=study["split_seed"],
        val_fraction=float(study["val_fraction"]),
        test_fraction=float(study["test_fraction"]),
        base=base,
        sweeps=tuple((axis, tuple(values)) for axis, values in study["sweeps"].items()),
        complex_hidden=tuple(study["complex_hidden"]),
        complex_dropout=float(study["complex_dropout"]),
        train=train,
    )
