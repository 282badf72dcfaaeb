"""``studies.architectures`` (S1): schema and effective settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from annstudy.data.registry import DATASETS
from annstudy.engine.optim import OPTIMIZERS
from annstudy.engine.settings import TrainSettings
from annstudy.models.zoo import ARCHITECTURES
from annstudy.params.schema import (
    Field,
    fraction,
    list_of,
    mapping_of,
    non_negative_int,
    non_negative_number,
    one_of,
    positive_int,
    positive_number,
    seed,
)
from annstudy.params.training import train_settings

architecture = one_of(lambda: list(ARCHITECTURES), "architecture")

# How the seeds of one architecture are trained: the keys S1 and S2 share
# (params/training.py turns them into the engine's TrainSettings).
TRAINING_FIELDS: dict[str, Field] = {
    "optimizer": Field(one_of(lambda: list(OPTIMIZERS), "optimizer")),
    "lr": Field(positive_number),
    "momentum": Field(non_negative_number),
    "batch_size": Field(positive_int),
    "eval_batch_size": Field(positive_int),
    # null = the active profile's value
    "seeds": Field(list_of(seed), profile=True),
    "epochs": Field(positive_int, profile=True),
    # per-architecture epochs where one value would be too costly (quick); ignored when
    # `epochs` is set explicitly in the study
    "epochs_by_arch": Field(mapping_of(architecture, positive_int), nullable=True, profile=True),
    "log_every": Field(positive_int, profile=True),
    "val_subset": Field(non_negative_int, profile=True),
    "train_limit": Field(non_negative_int, profile=True),
}

SCHEMA: dict[str, Field] = {
    "dataset": Field(one_of(lambda: sorted(DATASETS), "dataset")),
    "archs": Field(list_of(architecture)),
    **TRAINING_FIELDS,
    "train_eval_subset": Field(non_negative_int, profile=True),
    "underfit_train_acc": Field(fraction),
    "overfit_gap": Field(fraction),
    "misclassified_shown": Field(non_negative_int),
}


def epochs_per_arch(study: dict[str, Any], raw_study: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    """The profile's per-architecture epochs, unless the study sets ``epochs`` itself
    (an explicit study-level value applies to every architecture)."""
    by_arch = {} if raw_study["epochs"] is not None else (study["epochs_by_arch"] or {})
    return tuple(sorted(by_arch.items()))


def train_for(train: TrainSettings, by_arch: tuple[tuple[str, int], ...], arch: str) -> TrainSettings:
    """The training settings of one architecture: ``train`` with that architecture's epochs."""
    return replace(train, epochs=dict(by_arch).get(arch, train.epochs))


@dataclass(frozen=True)
class ArchitecturesSettings:
    dataset: str
    archs: tuple[str, ...]
    train: TrainSettings
    underfit_train_acc: float
    overfit_gap: float
    misclassified_shown: int
    epochs_by_arch: tuple[tuple[str, int], ...] = ()

    def train_for(self, arch: str) -> TrainSettings:
        """The training settings of one architecture (the profile may set its epochs)."""
        return train_for(self.train, self.epochs_by_arch, arch)


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> ArchitecturesSettings:
    """``study``: the section with profile values filled in; ``raw_study``: as written."""
    return ArchitecturesSettings(
        dataset=study["dataset"],
        archs=tuple(study["archs"]),
        train=train_settings(study, raw),
        underfit_train_acc=float(study["underfit_train_acc"]),
        overfit_gap=float(study["overfit_gap"]),
        misclassified_shown=study["misclassified_shown"],
        epochs_by_arch=epochs_per_arch(study, raw_study),
    )
