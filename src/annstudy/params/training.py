"""The engine settings of a study section that uses the shared training key names."""

from __future__ import annotations

from typing import Any

from annstudy.engine.settings import TrainSettings


def train_settings(study: Any, **overrides: Any) -> TrainSettings:
    """The engine settings of a study model using the shared key names (profile values resolved).

    Keys a study does not have take the engine's neutral value (no momentum, all training
    images, the whole train split for the final train accuracy); ``overrides`` replace keys.
    """
    value = {
        "momentum": 0.0,
        "train_limit": 0,
        "train_eval_subset": 0,
        **{k: getattr(study, k) for k in TrainSettings.__dataclass_fields__ if hasattr(study, k)},
        **overrides,
    }
    return TrainSettings(
        optimizer=value["optimizer"],
        lr=float(value["lr"]),
        momentum=float(value["momentum"]),
        batch_size=value["batch_size"],
        eval_batch_size=value["eval_batch_size"],
        seeds=tuple(value["seeds"]),
        epochs=value["epochs"],
        log_every=value["log_every"],
        val_subset=value["val_subset"],
        train_limit=value["train_limit"],
        train_eval_subset=value["train_eval_subset"],
        vectorize=study.params["vectorize_seeds"],
        channels_last=study.params["channels_last"],
    )
