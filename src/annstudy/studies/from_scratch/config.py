"""``studies.from_scratch`` (S7): schema and effective settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annstudy.data.registry import DATASETS
from annstudy.params.schema import Field, list_of, non_negative_int, one_of, positive_int, positive_number, seed
from annstudy.scratch.conv2d import KERNELS

SCHEMA: dict[str, Field] = {
    "dataset": Field(one_of(lambda: sorted(DATASETS), "dataset")),
    "hidden": Field(positive_int),
    "lr": Field(positive_number),
    "batch_size": Field(positive_int),
    "grad_check_batch": Field(positive_int),
    "kernels": Field(list_of(one_of(list(KERNELS), "kernel"))),
    "images_shown": Field(positive_int),
    # null = the active profile's value
    "seeds": Field(list_of(seed), profile=True),
    "epochs": Field(positive_int, profile=True),
    "log_every": Field(positive_int, profile=True),
    "train_limit": Field(non_negative_int, profile=True),
}


@dataclass(frozen=True)
class FromScratchSettings:
    dataset: str
    hidden: int  # hidden ReLU units of the 784-hidden-10 MLP
    lr: float  # plain mini-batch gradient descent, no momentum
    batch_size: int
    epochs: int
    seeds: tuple[int, ...]
    log_every: int  # steps between curve points
    train_limit: int  # 0 = all training images, else the first N
    grad_check_batch: int  # training images in the float64 gradient check
    kernels: tuple[str, ...]  # names in annstudy.scratch.conv2d.KERNELS
    images_shown: int  # test images (rows) of the feature-map figure


def build(study: dict[str, Any], raw_study: dict[str, Any], raw: dict[str, Any]) -> FromScratchSettings:
    """``study``: the section with profile values filled in; ``raw_study``: as written."""
    return FromScratchSettings(
        dataset=study["dataset"],
        hidden=study["hidden"],
        lr=float(study["lr"]),
        batch_size=study["batch_size"],
        epochs=study["epochs"],
        seeds=tuple(study["seeds"]),
        log_every=study["log_every"],
        train_limit=study["train_limit"],
        grad_check_batch=study["grad_check_batch"],
        kernels=tuple(study["kernels"]),
        images_shown=study["images_shown"],
    )
