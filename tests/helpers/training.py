"""Small training set-ups shared by the engine tests: loop settings, a toy dataset, a model tweak.

``small_train_settings`` is the stacked-vs-alone configuration of test_stacked.py and test_cuda.py;
``LOOP`` and ``three_class_points`` are the resumable loop of test_checkpoint.py, reused by
test_progress.py to check the live log of the same run.
"""

from __future__ import annotations

import torch
from torch import nn

from annstudy.engine.loop import LoopSettings
from annstudy.engine.settings import TrainSettings

EPOCHS = 6
LOOP = LoopSettings("adam", 0.02, 0.0, EPOCHS, batch_size=16, log_every=5, patience=2, lr_decay=0.5, lr_decay_every=2)


def small_train_settings(**kw) -> TrainSettings:
    """Adam, batch 16, seeds 0-2, two epochs, a log every 3 steps; ``kw`` overrides."""
    base = dict(
        optimizer="adam",
        lr=3e-3,
        momentum=0.0,
        batch_size=16,
        eval_batch_size=50,
        seeds=(0, 1, 2),
        epochs=2,
        log_every=3,
        val_subset=0,
        train_limit=0,
        train_eval_subset=0,
    )
    base.update(kw)
    return TrainSettings(**base)


def without_dropout(model: nn.Module) -> nn.Module:
    """``model`` with every dropout's p set to 0 (stacked and alone then compute the same thing)."""
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return model


def three_class_points() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """90 points in 2-D, three classes by two thresholds: (x, y) train (60) and validation (30)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(90, 2, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return x[:60], y[:60], x[60:], y[60:]
