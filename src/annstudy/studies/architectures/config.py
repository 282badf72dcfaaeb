"""``studies.architectures`` (S1): its keys, and the training settings of each architecture."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, model_validator

from annstudy.data.registry import DATASETS
from annstudy.engine.optim import OPTIMIZERS
from annstudy.engine.settings import TrainSettings, train_settings
from annstudy.models.zoo import ARCHITECTURES
from annstudy.params.schema import (
    Fraction,
    ListOf,
    MappingOf,
    NonNegativeInt,
    NonNegativeNumber,
    OneOf,
    PositiveInt,
    PositiveNumber,
    Seeds,
    StudyConfig,
    from_profile,
    one_of,
    positive_int,
    written,
)

architecture = one_of(lambda: list(ARCHITECTURES), "architecture")
Optimizer = OneOf(lambda: list(OPTIMIZERS), "optimizer")
EpochsByArch = MappingOf(architecture, positive_int)


class TrainingKeys(StudyConfig):
    """How the seeds of one architecture are trained: the keys S1 and S2 share."""

    STUDY: ClassVar[str]

    archs: ListOf(architecture) = Field(description="architectures (models/zoo.py), one stage each")
    optimizer: Optimizer = Field(description="engine/optim.py name")
    lr: PositiveNumber = Field(description="learning rate")
    momentum: NonNegativeNumber = Field(description="used by sgd/rmsprop only")
    batch_size: PositiveInt = Field(description="training batch")
    eval_batch_size: PositiveInt = Field(description="evaluation batch (memory only; results identical)")
    seeds: Seeds = from_profile("seeds, each trained from its own initialisation")
    epochs: PositiveInt = from_profile("epochs of every architecture (the most, with stop_patience)")
    epochs_by_arch: EpochsByArch | None = from_profile(
        "per-architecture epochs; ignored when `epochs` is set in the study", nullable=True
    )
    log_every: PositiveInt = from_profile("steps between curve points")
    val_subset: NonNegativeInt = from_profile("validation images at log steps (0: all)")
    train_limit: NonNegativeInt = from_profile("a stratified subset of N training images, N / classes of each (0: all)")
    stop_patience: NonNegativeInt = from_profile(
        "early stopping: epochs without a lower full-validation loss before a seed stops, evaluated at its "
        "best epoch (0: every seed trains all its epochs)"
    )

    @model_validator(mode="before")
    @classmethod
    def _explicit_epochs_win(cls, data: Any, info: ValidationInfo) -> Any:
        """An ``epochs`` written in the study applies to every architecture: the profile's
        per-architecture epochs are then ignored."""
        study = cls.STUDY
        if isinstance(data, dict) and written(info, study, "epochs") is not None:
            return {**data, "epochs_by_arch": None}
        return data

    @property
    def train(self) -> TrainSettings:
        return train_settings(self)

    def train_for(self, arch: str) -> TrainSettings:
        """The training settings of one architecture (the profile may set its epochs)."""
        return replace(self.train, epochs=(self.epochs_by_arch or {}).get(arch, self.epochs))


class ArchitecturesSettings(TrainingKeys):
    """S1: every architecture on one dataset, one optimizer."""

    STUDY: ClassVar[str] = "architectures"

    dataset: OneOf(lambda: sorted(DATASETS), "dataset") = Field(description="S1-S3's dataset (data/registry.py)")
    train_eval_subset: NonNegativeInt = from_profile("training images of the final train accuracy (0: all)")
    train_log_subset: PositiveInt = from_profile(
        "fixed training images of the eval-mode train accuracy logged at every log step (beside the running mean)"
    )
    underfit_train_acc: Fraction = Field(description="verdict: underfitting below this final train accuracy")
    overfit_gap: Fraction = Field(description="verdict: overfitting above this train - val gap")
    misclassified_shown: NonNegativeInt = Field(description="images in the misclassified grid")

    def settings_rows(self) -> list[str]:
        return [
            "dataset",
            "archs",
            "train",
            "underfit_train_acc",
            "overfit_gap",
            "misclassified_shown",
            "epochs_by_arch",
        ]


CONFIG = ArchitecturesSettings
