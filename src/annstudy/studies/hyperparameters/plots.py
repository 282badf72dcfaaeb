"""S4's DVC plots (collected into dvc.yaml by annstudy/pipeline/plots.py): one validation-accuracy plot
per sweep axis, the base model in each."""

from __future__ import annotations

from typing import Any

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import ACC, overlay, record_tsv


def definitions(settings: Settings) -> list[dict[str, Any]]:
    hp = settings.studies["hyperparameters"]
    base = {record_tsv("data/hyperparameters/train/base", "epochs_mean", "variant=base", "val_acc"): "val_acc"}
    return [
        overlay(
            f"S4 validation accuracy, sweep of {axis}",
            base
            | {
                record_tsv(
                    f"data/hyperparameters/train/{axis}", "epochs_mean", f"variant={v.name}", "val_acc"
                ): "val_acc"
                for v in hp.variants(axis)
            },
            "epoch",
            ACC,
        )
        for axis in hp.axes
    ]
