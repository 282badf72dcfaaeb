"""The engine settings of a study section that uses the shared training key names."""

from __future__ import annotations

from typing import Any

from annstudy.engine.settings import TrainSettings


def train_settings(study: dict[str, Any], raw: dict[str, Any]) -> TrainSettings:
    """The engine settings from a study section using the shared key names (profile values resolved).

    Keys a study does not have take the engine's neutral value (no momentum, all training
    images, the whole train split for the final train accuracy).
    """
    return TrainSettings(
        optimizer=study["optimizer"],
        lr=float(study["lr"]),
        momentum=float(study.get("momentum", 0.0)),
        batch_size=study["batch_size"],
        eval_batch_size=study["eval_batch_size"],
        seeds=tuple(study["seeds"]),
        epochs=study["epochs"],
        log_every=study["log_every"],
        val_subset=study["val_subset"],
        train_limit=study.get("train_limit", 0),
        train_eval_subset=study.get("train_eval_subset", 0),
        vectorize=raw["vectorize_seeds"],
        channels_last=raw["channels_last"],
    )
