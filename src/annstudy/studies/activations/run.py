"""S2 activations: every architecture with ReLU and with sigmoid, plain SGD, first-layer gradients.

Step ``train:<arch>_<act>`` of stage ``activations`` trains the seeds of one variant (stacked) and
writes ``data/activations/train/<arch>_<act>/`` (see :mod:`annstudy.store.records`);
its log rows carry ``grad_norm``: the L2 norm of the gradient of the training loss with
respect to the first layer's weights, averaged over the steps of each log interval.
Step ``unscaled:<arch>_<act>`` is the input-scaling ablation (the exercise's
bonus question): the same training on inputs left in [0, 255], written to
``data/activations/unscaled/<arch>_<act>/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from annstudy.data.prepared import pixel_range
from annstudy.engine.loop import TrainHooks
from annstudy.engine.seeds import train_seeds
from annstudy.models.stacked import StackedNet
from annstudy.models.zoo import first_weighted_layer
from annstudy.params.root import Settings
from annstudy.studies.variants import load_data, write_variant

STUDY = "activations"


def variant_dir(variant: str, root: str | Path = "data", unscaled: bool = False) -> Path:
    return Path(root) / STUDY / ("unscaled" if unscaled else "train") / variant


def first_layer_grad_norm(model: nn.Module) -> dict[str, torch.Tensor]:
    """``grad_norm``: ||d loss / d W_1|| per seed ([S] for a stacked model, 0-d alone).

    In a stacked model seed s's gradient is its own slice of the stacked weight's gradient
    (the summed loss separates by seed), so the norms equal those of each seed alone.
    """
    if isinstance(model, StackedNet):
        grad = model.first_weight().grad
        return {"grad_norm": grad.reshape(model.seeds, -1).norm(dim=1)}
    return {"grad_norm": first_weighted_layer(model).weight.grad.norm()}


def train_variant(variant: str, settings: Settings, root: str | Path = "data", unscaled: bool = False) -> Path:
    """Train ``<arch>_<act>`` for every seed; log loss and first-layer gradient norm (``unscaled``: on [0, 255])."""
    started = time.perf_counter()
    study = settings.studies[STUDY]
    arch, act = study.split_variant(variant, unscaled)
    data = load_data(settings, study.dataset)
    if unscaled:
        data = pixel_range(data)
    cfg = study.train_for(arch)
    runs = train_seeds(
        arch, data, cfg, desc=f"{STUDY} {variant}", activation=act, hooks=TrainHooks(step_metrics=first_layer_grad_norm)
    )
    describe_run = {"study": STUDY, "variant": variant, "arch": arch, "inputs": "[0, 255]" if unscaled else "[-1, 1]"}
    return write_variant(variant_dir(variant, root, unscaled), runs, data, cfg, describe_run, act, started)


def _train_step(settings: Settings, item: str | None) -> Path:
    if item is None:
        raise ValueError("activations train needs a variant, e.g. cnn_4_sigmoid")
    return train_variant(item, settings)


def _unscaled_step(settings: Settings, item: str | None) -> Path:
    if item is None:
        raise ValueError("activations unscaled needs a variant, e.g. cnn_4_sigmoid")
    return train_variant(item, settings, unscaled=True)


# `annstudy stage activations train|unscaled[:<arch>_<act>]` (annstudy/pipeline/stage.py)
STEPS = {"train": _train_step, "unscaled": _unscaled_step}
# A step named without a variant (`stages/activations.py train unscaled`: the stage `activations`) runs
# each of these in turn.
ALL = {
    "train": lambda settings: settings.studies[STUDY].variants,
    "unscaled": lambda settings: settings.studies[STUDY].unscaled_variants,
}
