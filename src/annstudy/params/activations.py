"""``studies.activations`` (S2): schema and effective settings.

The dataset is S1's (``studies.architectures.dataset``): one switch moves S1-S3.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from annstudy.engine.optim import OPTIMIZERS
from annstudy.models.zoo import ACTIVATIONS
from annstudy.params.architectures import architecture
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
from annstudy.params.training import TrainSettings, train_settings

SCHEMA: dict[str, Field] = {
    "archs": Field(list_of(architecture)),
    "activations": Field(list_of(one_of(lambda: list(ACTIVATIONS), "activation"))),
    "optimizer": Field(one_of(lambda: list(OPTIMIZERS), "optimizer")),
    "lr": Field(positive_number),
    "momentum": Field(non_negative_number),
    "batch_size": Field(positive_int),
    "eval_batch_size": Field(positive_int),
    # null = the active profile's value
    "seeds": Field(list_of(seed), profile=True),
    "epochs": Field(positive_int, profile=True),
    "epochs_by_arch": Field(mapping_of(architecture, positive_int), nullable=True, profile=True),
    "log_every": Field(positive_int, profile=True),
    "val_subset": Field(non_negative_int, profile=True),
    "train_limit": Field(non_negative_int, profile=True),
    "vanish_ratio": Field(fraction),
}


@dataclass(frozen=True)
class ActivationsSettings:
    dataset: str  # studies.architectures.dataset
    archs: tuple[str, ...]
    activations: tuple[str, ...]
    train: TrainSettings
    vanish_ratio: float  # report rule: sigmoid gradients "vanish" below this share of ReLU's
    epochs_by_arch: tuple[tuple[str, int], ...] = ()

    @property
    def variants(self) -> tuple[str, ...]:
        """``<arch>_<activation>`` for every pair, architectures first (the stage items)."""
        return tuple(f"{arch}_{act}" for arch in self.archs for act in self.activations)

    def split_variant(self, variant: str) -> tuple[str, str]:
        """``cnn_4_sigmoid`` -> (``cnn_4``, ``sigmoid``); ValueError for a variant not configured."""
        arch, _, act = variant.rpartition("_")
        if variant not in self.variants:
            raise ValueError(f"variant {variant!r} is not in studies.activations (archs x activations): "
                             f"choose from {', '.join(self.variants)}")  # fmt: skip
        return arch, act

    def train_for(self, arch: str) -> TrainSettings:
        return replace(self.train, epochs=dict(self.epochs_by_arch).get(arch, self.train.epochs))


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> ActivationsSettings:
    by_arch = {} if raw_study["epochs"] is not None else (study["epochs_by_arch"] or {})
    return ActivationsSettings(
        dataset=raw["studies"]["architectures"]["dataset"],
        archs=tuple(study["archs"]),
        activations=tuple(study["activations"]),
        train=train_settings(study, raw),
        vanish_ratio=float(study["vanish_ratio"]),
        epochs_by_arch=tuple(sorted(by_arch.items())),
    )
