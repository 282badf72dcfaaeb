"""S3's DVC plots (collected into dvc.yaml by annstudy/pipeline/plots.py): the training loss and the
validation accuracy, one line per rate, from each variant's record."""

from __future__ import annotations

from typing import Any

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import ACC, LOSS, overlay, record_tsv


def _files(variants: tuple[str, ...], column: str) -> dict[str, str]:
    return {record_tsv(f"data/learning_rates/train/{v}", "curves_mean", "mean", column): column for v in variants}


def definitions(settings: Settings) -> list[dict[str, Any]]:
    variants = settings.studies["learning_rates"].variants
    return [
        overlay("S3 training loss per learning rate", _files(variants, "train_loss"), "step", LOSS),
        overlay("S3 validation accuracy per rate", _files(variants, "val_acc"), "step", ACC),
    ]
