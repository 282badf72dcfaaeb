"""S5's DVC plots (collected into dvc.yaml by annstudy/pipeline/plots.py): the training MSE of the linear
neuron and the 1D fit, and of each 2D-bell architecture on the full data."""

from __future__ import annotations

from typing import Any

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import overlay, record_tsv


def definitions(settings: Settings) -> list[dict[str, Any]]:
    bell = [f"arch={a}/data=full" for a in settings.studies["regression"].bell_archs]  # small data: 2 of them
    fits = ("linear", "nonlinear")
    return [
        overlay(
            "S5 regression: training MSE of the linear neuron and the 1D fit",
            {record_tsv(f"data/regression/train/{p}", "epochs_mean", "mean", "train_loss"): "train_loss" for p in fits},
            "epoch",
            "MSE",
        ),
        overlay(
            "S5 2D bell: training MSE per architecture (full data)",
            {record_tsv("data/regression/train/bell", "epochs_mean", g, "train_loss"): "train_loss" for g in bell},
            "epoch",
            "MSE",
        ),
    ]
