"""S7's DVC plot (collected into dvc.yaml by annstudy/pipeline/plots.py): validation accuracy of the
NumPy MLP against the same network in PyTorch."""

from __future__ import annotations

from typing import Any

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import ACC, overlay, record_tsv


def definitions(settings: Settings) -> list[dict[str, Any]]:
    impls = ("numpy", "torch")
    return [
        overlay(
            "S7 NumPy MLP against PyTorch: validation accuracy",
            {record_tsv("data/from_scratch/mlp", "curves_mean", f"impl={i}", "val_acc"): "val_acc" for i in impls},
            "epoch",
            ACC,
        )
    ]
