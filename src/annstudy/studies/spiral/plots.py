"""S6 spiral's DVC plot (collected into dvc.yaml by annstudy/pipeline/plots.py): training and validation
accuracy per epoch."""

from __future__ import annotations

from typing import Any

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import ACC, overlay, record_tsv


def definitions(settings: Settings) -> list[dict[str, Any]]:
    return [
        overlay(
            "S6 spiral: training and validation accuracy",
            {record_tsv("data/spiral/train", "epochs_mean", "mean", c): c for c in ("train_acc", "val_acc")},
            "epoch",
            ACC,
        )
    ]
