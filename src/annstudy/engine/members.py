"""S5/S6 small networks on the one training loop: members with their own rows, MSE or cross-entropy.

A member is one (seed, fold, ...) copy of a :class:`~annstudy.models.stacked.StackedNet`. Its
data are rows of ``[S, N, ...]`` tensors on the device (members may see different rows, e.g.
their cross-validation fold; shared data are an expanded view), its batch order comes from its
own generator and its weights from its own init seed, so a member's run is the same alone or in
the stack (tests/unit/test_small_networks.py checks this). :func:`fit` is
:func:`annstudy.engine.loop.train_stack` with the full training (and validation) loss, and
accuracy, evaluated after every epoch: one host sync per epoch, none per step. Early stopping
is exact per member (``patience``): see :func:`~annstudy.engine.loop.train_stack`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from annstudy.engine.loop import LoopSettings, StackData, member_losses, train_stack
from annstudy.engine.progress import Bar
from annstudy.models.stacked import StackedNet

TASKS = {"regression": "mse", "classification": "cross_entropy"}  # task -> loss


@dataclass(frozen=True)
class FitSettings:
    task: str  # regression (MSE) | classification (cross-entropy)
    optimizer: str
    lr: float
    epochs: int  # maximum epochs (early stopping may end a member sooner)
    batch_size: int  # 0 = full batch
    momentum: float = 0.0
    lr_decay: float = 1.0  # lr multiplied by this ...
    lr_decay_every: int = 0  # ... every this many epochs (0 = constant lr)
    patience: int = 0  # epochs without a lower validation loss before a member stops (0 = never)
    eval_before: bool = False  # also evaluate before the first step (an "epoch 0" row: the untrained network)


@dataclass
class MemberData:
    """Per-member tensors: x ``[S, N, ...]``, y ``[S, N]`` (targets or labels)."""

    x: torch.Tensor
    y: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None

    @staticmethod
    def shared(x: torch.Tensor, y: torch.Tensor, members: int, x_val=None, y_val=None) -> "MemberData":
        """The same data for every member (an expanded view: no copy)."""

        def rep(t):
            return None if t is None else t.unsqueeze(0).expand(members, *t.shape)

        return MemberData(rep(x), rep(y), rep(x_val), rep(y_val))

    @staticmethod
    def folds(x: torch.Tensor, y: torch.Tensor, folds: int, seeds: Sequence[int]) -> tuple["MemberData", list]:
        """K-fold cross-validation members: member (seed, k) trains on every fold but k and validates on fold k.

        Fold k is the k-th contiguous block of ``len(y) // folds`` rows (the rows are already in
        random order), so every fold has the same size and a member's split depends only on k.
        """
        n_val = len(y) // folds
        idx = torch.arange(len(y), device=x.device)
        train_idx, val_idx, members = [], [], []
        for seed in seeds:
            for k in range(folds):
                val = (idx >= k * n_val) & (idx < (k + 1) * n_val)
                train_idx.append(idx[~val]), val_idx.append(idx[val]), members.append((seed, k))
        t, v = torch.stack(train_idx), torch.stack(val_idx)
        return MemberData(x[t], y[t], x[v], y[v]), members


@dataclass
class FitResult:
    batch_loss: np.ndarray  # [steps, S] cost of every mini-batch
    epochs: list[dict] = field(default_factory=list)  # member, epoch, train/val loss (and acc)
    stopped_epoch: list[int] = field(default_factory=list)  # last epoch trained, per member
    best_epoch: list[int] = field(default_factory=list)  # epoch of the restored weights (early stopping)
    diverged_step: list[int | None] = field(default_factory=list)

    def epochs_frame(self, labels: pd.DataFrame) -> pd.DataFrame:
        """Per-epoch rows joined with ``labels`` (one row per member: seed, fold, ...)."""
        frame = pd.DataFrame(self.epochs, columns=None if self.epochs else ["member", "epoch"])
        return labels.join(frame.set_index("member"), how="inner").reset_index(drop=True)  # none: every member diverged

    def batch_frame(self, labels: pd.DataFrame, every: int = 1) -> pd.DataFrame:
        """Tidy mini-batch costs (every ``every``-th step) joined with ``labels``."""
        steps = np.arange(0, len(self.batch_loss), every)
        frame = pd.DataFrame(self.batch_loss[steps], index=steps + 1).rename_axis("step").reset_index()
        tidy = frame.melt(id_vars="step", var_name="member", value_name="batch_loss").dropna()
        return labels.join(tidy.set_index("member"), how="inner").reset_index(drop=True)


def _member_rows(values: dict) -> list[dict]:
    """One row per member from ``[S]`` tensors (anything else repeated), as the training loop writes them."""
    split = {k: v.tolist() if torch.is_tensor(v) else v for k, v in values.items()}
    S = max(len(v) for v in split.values() if isinstance(v, list))
    return [{"member": s, **{k: v[s] if isinstance(v, list) else v for k, v in split.items()}} for s in range(S)]


def _loss(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    return TASKS[task]


@torch.no_grad()
def evaluate_members(
    model: StackedNet, task: str, x: torch.Tensor, y: torch.Tensor, shared: bool = False
) -> dict[str, torch.Tensor]:
    """Per-member loss (and accuracy) ``[S]`` on x ``[S, N, ...]`` (or ``[N, ...]`` when shared), in eval mode."""
    was_training = model.training
    model.eval()
    out = model(x, shared=shared)
    model.train(was_training)
    target = y.unsqueeze(0).expand(out.shape[0], *y.shape) if shared else y
    result = {"loss": member_losses(_loss(task), out, target)}
    if task == "classification":
        result["acc"] = (out.argmax(-1) == target).double().mean(dim=1)
    return result


def fit(
    model: StackedNet, data: MemberData, cfg: FitSettings, shuffle_seeds: Sequence[int], desc: str = "fit"
) -> FitResult:
    """Train every member for up to ``cfg.epochs`` epochs; see the module docstring."""
    loop = LoopSettings(
        cfg.optimizer,
        cfg.lr,
        cfg.momentum,
        cfg.epochs,
        cfg.batch_size,
        loss=_loss(cfg.task),
        patience=cfg.patience if data.x_val is not None else 0,
        lr_decay=cfg.lr_decay,
        lr_decay_every=cfg.lr_decay_every,
    )

    def at_epoch(m: StackedNet) -> dict[str, torch.Tensor]:
        train = evaluate_members(m, cfg.task, data.x, data.y)
        metrics = {f"train_{k}": v for k, v in train.items()}
        if data.x_val is not None:
            metrics |= {f"val_{k}": v for k, v in evaluate_members(m, cfg.task, data.x_val, data.y_val).items()}
        return metrics

    # epoch 0: the untrained network (evaluation draws no random numbers, so training is unchanged)
    before = _member_rows({"epoch": 0} | at_epoch(model)) if cfg.eval_before else []
    S, n = data.y.shape
    per_epoch = 1 if cfg.batch_size <= 0 else -(-n // cfg.batch_size)
    with Bar(cfg.epochs * per_epoch * S, desc) as bar:
        run = train_stack(
            model, StackData(data.x, data.y, shared=False), loop, shuffle_seeds, at_epoch=at_epoch, progress=bar
        )
        bar.update(bar.total - bar.n)  # members that stopped early
    return FitResult(
        batch_loss=run.batch_loss,
        epochs=before + [{k: v for k, v in row.items() if k != "step"} for row in run.epochs],
        stopped_epoch=run.stopped_epoch,
        best_epoch=run.best_epoch,
        diverged_step=run.diverged_step,
    )
