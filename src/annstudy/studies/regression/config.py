"""``studies.regression`` (S5): schema and effective settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annstudy.engine.optim import OPTIMIZERS
from annstudy.models.small import ARCH_PATTERN
from annstudy.params.schema import (
    Field,
    freeze,
    list_of,
    mapping_of,
    non_negative_int,
    non_negative_number,
    number,
    one_of,
    positive_int,
    positive_number,
    seed,
)


def bell_arch(v: Any) -> str | None:
    ok = isinstance(v, str) and ARCH_PATTERN.match(v) and v.startswith("2-") and v.endswith("-1")
    return None if ok else f"architecture {v!r} must look like 2-50-1 (2 inputs, 1 output)"


SCHEMA: dict[str, Field] = {
    "seeds": Field(list_of(seed), profile=True),
    "data_seed": Field(non_negative_int),
    "optimizer": Field(one_of(lambda: list(OPTIMIZERS), "optimizer")),
    "linear_a": Field(number),
    "linear_b": Field(number),
    "linear_sigma": Field(non_negative_number),
    "linear_points": Field(positive_int),
    "linear_x_max": Field(positive_number),
    "linear_lr": Field(positive_number),
    "linear_batch_size": Field(positive_int),
    "linear_epochs": Field(positive_int, profile=True),
    "nonlinear_points": Field(positive_int),
    "nonlinear_noise": Field(non_negative_number),
    "nonlinear_hidden": Field(list_of(positive_int, unique=False)),
    "nonlinear_lr": Field(positive_number),
    "nonlinear_batch_size": Field(non_negative_int),
    "nonlinear_epochs": Field(positive_int, profile=True),
    "bell_train": Field(positive_int),
    "bell_test": Field(positive_int),
    "bell_small": Field(positive_int),
    "bell_noise": Field(non_negative_number),
    "bell_archs": Field(mapping_of(bell_arch, positive_number)),
    "bell_batch_size": Field(non_negative_int),
    "bell_epochs": Field(positive_int, profile=True),
    "bell_small_epochs": Field(positive_int, profile=True),
}


@dataclass(frozen=True)
class RegressionSettings:
    seeds: tuple[int, ...]
    data_seed: int
    optimizer: str  # non-linear and bell fits (the linear neuron uses plain SGD)
    linear_a: float
    linear_b: float
    linear_sigma: float
    linear_points: int
    linear_x_max: float
    linear_lr: float
    linear_batch_size: int
    linear_epochs: int
    nonlinear_points: int
    nonlinear_noise: float
    nonlinear_hidden: tuple[int, ...]
    nonlinear_lr: float
    nonlinear_batch_size: int  # 0 = full batch
    nonlinear_epochs: int
    bell_train: int
    bell_test: int
    bell_small: int
    bell_noise: float
    bell_archs: dict[str, float]  # architecture -> Adam lr, in params order
    bell_batch_size: int
    bell_epochs: int
    bell_small_epochs: int
    regression_csv: str | None = None  # data.regression_csv: replaces the synthetic non-linear set


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> RegressionSettings:
    return RegressionSettings(
        **{k: freeze(v) for k, v in study.items()}, regression_csv=raw["data"].get("regression_csv")
    )
