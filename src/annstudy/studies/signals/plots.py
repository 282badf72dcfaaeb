"""S6 signals' DVC plot (collected into dvc.yaml by annstudy/pipeline/plots.py): validation accuracy per
SGD learning rate."""

from __future__ import annotations

from typing import Any

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import ACC, overlay, record_tsv


def definitions(settings: Settings) -> list[dict[str, Any]]:
    rates = settings.studies["signals"].rates
    return [
        overlay(
            "S6 signals: validation accuracy per SGD learning rate (epoch 0 = before training)",
            {record_tsv("data/signals/train", "epochs_mean", f"lr={lr}", "val_acc"): "val_acc" for lr in rates},
            "epoch",
            ACC,
        )
    ]
