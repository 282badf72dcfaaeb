"""S2's DVC plots (collected into dvc.yaml by annstudy/pipeline/plots.py): the training loss and the
first layer's gradient norm, one line per variant, from each variant's record."""

from __future__ import annotations

from typing import Any

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import LOSS, overlay, record_tsv


def _files(variants: tuple[str, ...], column: str) -> dict[str, str]:
    return {record_tsv(f"data/activations/train/{v}", "curves_mean", "mean", column): column for v in variants}


def definitions(settings: Settings) -> list[dict[str, Any]]:
    variants = settings.studies["activations"].variants
    return [
        overlay("S2 training loss per activation", _files(variants, "train_loss"), "step", LOSS),
        overlay(
            "S2 first-layer gradient norm",
            _files(variants, "grad_norm"),
            "step",
            "L2 norm of the first layer's gradient",
        ),
    ]
