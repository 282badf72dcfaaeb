"""``studies.activations`` (S2): its keys and variants.

The dataset is S1's (``studies.architectures.dataset``): one switch moves S1-S3.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from annstudy.models.zoo import ACTIVATIONS
from annstudy.params.schema import Fraction, ListOf, one_of
from annstudy.studies.architectures.config import TrainingKeys, architecture


class ActivationsSettings(TrainingKeys):
    """S2: every architecture with each activation, plain SGD."""

    STUDY: ClassVar[str] = "activations"

    activations: ListOf(one_of(lambda: list(ACTIVATIONS), "activation")) = Field(
        description="activation functions (models/zoo.py), each replacing every ReLU"
    )
    vanish_ratio: Fraction = Field(description='report rule: sigmoid gradients "vanish" below this share of ReLU\'s')
    unscaled_archs: ListOf(architecture) = Field(
        description="input-scaling ablation: these architectures with every activation on inputs left in [0, 255]"
    )

    @property
    def dataset(self) -> str:
        """S1's dataset (``studies.architectures.dataset``)."""
        return self.params["studies"]["architectures"]["dataset"]

    @property
    def variants(self) -> tuple[str, ...]:
        """``<arch>_<activation>`` for every pair, architectures first (the stage items)."""
        return tuple(f"{arch}_{act}" for arch in self.archs for act in self.activations)

    @property
    def unscaled_variants(self) -> tuple[str, ...]:
        """``<arch>_<activation>`` of the input-scaling ablation (step ``unscaled`` of stage ``activations``)."""
        return tuple(f"{arch}_{act}" for arch in self.unscaled_archs for act in self.activations)

    def split_variant(self, variant: str, unscaled: bool = False) -> tuple[str, str]:
        """``cnn_4_sigmoid`` -> (``cnn_4``, ``sigmoid``); ValueError for a variant not configured."""
        arch, _, act = variant.rpartition("_")
        known, keys = (self.unscaled_variants, "unscaled_archs") if unscaled else (self.variants, "archs")
        if variant not in known:
            raise ValueError(
                f"variant {variant!r} is not in studies.activations ({keys} x activations): "
                f"choose from {', '.join(known)}"
            )
        return arch, act

    def settings_rows(self) -> list[str]:
        return ["dataset", "archs", "activations", "train", "vanish_ratio", "epochs_by_arch", "unscaled_archs"]


CONFIG = ActivationsSettings
