"""``studies.activations`` (S2): schema and effective settings.

The dataset is S1's (``studies.architectures.dataset``): one switch moves S1-S3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annstudy.engine.settings import TrainSettings
from annstudy.models.zoo import ACTIVATIONS
from annstudy.params.schema import Field, fraction, list_of, one_of
from annstudy.params.training import train_settings
from annstudy.studies.architectures.config import TRAINING_FIELDS, architecture, epochs_per_arch, train_for

SCHEMA: dict[str, Field] = {
    "archs": Field(list_of(architecture)),
    "activations": Field(list_of(one_of(lambda: list(ACTIVATIONS), "activation"))),
    **TRAINING_FIELDS,
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
            raise ValueError(
                f"variant {variant!r} is not in studies.activations (archs x activations): "
                f"choose from {', '.join(self.variants)}"
            )
        return arch, act

    def train_for(self, arch: str) -> TrainSettings:
        return train_for(self.train, self.epochs_by_arch, arch)


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> ActivationsSettings:
    return ActivationsSettings(
        dataset=raw["studies"]["architectures"]["dataset"],
        archs=tuple(study["archs"]),
        activations=tuple(study["activations"]),
        train=train_settings(study, raw),
        vanish_ratio=float(study["vanish_ratio"]),
        epochs_by_arch=epochs_per_arch(study, raw_study),
    )
