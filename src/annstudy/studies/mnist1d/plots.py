"""S6 MNIST-1D's DVC plot (collected into dvc.yaml by annstudy/pipeline/plots.py): test accuracy per
epoch, the MLP against the 1D CNN."""

from __future__ import annotations

from typing import Any

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import ACC, overlay, record_tsv


def definitions(settings: Settings) -> list[dict[str, Any]]:
    models = settings.studies["mnist1d"].models
    return [
        overlay(
            "S6 MNIST-1D: test accuracy, MLP against 1D CNN",
            {record_tsv(f"data/mnist1d/train/{m}", "epochs_mean", "mean", "test_acc"): "test_acc" for m in models},
            "epoch",
            ACC,
        )
    ]
