"""Training loop of the S5/S6 small networks: every member of an :class:`Ensemble` at once.

A member is one (seed, fold, ...) run. Its data are rows of ``[S, N, ...]`` tensors on
the device (members may see different rows, e.g. their cross-validation fold), its batch
order comes from its own generator and its weights from its own init seed, so a member's
run is the same alone or in the stack (tests/test_small_networks.py checks this).

Early stopping is exact per member: each keeps its best weights (lowest validation
loss) and stops after ``patience`` epochs without improvement; from then on its best
weights, stop epoch and records are final, and they are restored at the end. A stopped
member still rides along in the stacked step until every member has stopped (freezing
it would cost a copy per step and change nothing: members never interact), but its
later steps are neither recorded nor able to change its result. One host sync per
epoch, none per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from annstudy.engine.optim import make_optimizer
from annstudy.models.ensemble import Ensemble

TASKS = ("regression", "classification")


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


@dataclass
class FitResult:
    batch_loss: np.ndarray  # [steps, S] cost of every mini-batch
    epochs: list[dict] = field(default_factory=list)  # member, epoch, train/val loss (and acc)
    stopped_epoch: list[int] = field(default_factory=list)  # last epoch trained, per member
    best_epoch: list[int] = field(default_factory=list)  # epoch of the restored weights (early stopping)
    diverged_step: list[int | None] = field(default_factory=list)

    def epochs_frame(self, labels: pd.DataFrame) -> pd.DataFrame:
        """Per-epoch rows joined with ``labels`` (one row per member: seed, fold, ...)."""
        frame = pd.DataFrame(self.epochs)
        return labels.join(frame.set_index("member"), how="inner").reset_index(drop=True)

    def batch_frame(self, labels: pd.DataFrame, every: int = 1) -> pd.DataFrame:
        """Tidy mini-batch costs (every ``every``-th step) joined with ``labels``."""
        steps = np.arange(0, len(self.batch_loss), every)
        frame = pd.DataFrame(self.batch_loss[steps], index=steps + 1).rename_axis("step").reset_index()
        tidy = frame.melt(id_vars="step", var_name="member", value_name="batch_loss").dropna()
        return labels.join(tidy.set_index("member"), how="inner").reset_index(drop=True)


def member_loss(task: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean loss of each member: out ``[S, B, ...]``, y ``[S, B]`` -> ``[S]``."""
    if task == "regression":
        return ((out.squeeze(-1) - y) ** 2).mean(dim=1)
    s, b = y.shape
    return F.cross_entropy(out.reshape(s * b, -1), y.reshape(-1), reduction="none").view(s, b).mean(dim=1)


@torch.no_grad()
def evaluate_members(
    model: Ensemble, task: str, x: torch.Tensor, y: torch.Tensor, shared: bool = False
) -> dict[str, torch.Tensor]:
    """Per-member loss (and accuracy) ``[S]`` on x ``[S, N, ...]`` (or ``[N, ...]`` when shared)."""
    out = model(x, shared=shared)
    target = y.unsqueeze(0).expand(out.shape[0], *y.shape) if shared else y
    result = {"loss": member_loss(task, out, target)}
    if task == "classification":
        result["acc"] = (out.argmax(-1) == target).double().mean(dim=1)
    return result


def _batches(n: int, batch_size: int) -> int:
    return 1 if batch_size <= 0 else math.ceil(n / batch_size)


def fit(
    model: Ensemble, data: MemberData, cfg: FitSettings, shuffle_seeds: Sequence[int], desc: str = "fit"
) -> FitResult:
    """Train every member for up to ``cfg.epochs`` epochs; see the module docstring."""
    if cfg.task not in TASKS:
        raise ValueError(f"unknown task {cfg.task!r}; choose from {', '.join(TASKS)}")
    S, n = data.y.shape
    device = data.x.device
    per_epoch = _batches(n, cfg.batch_size)
    bs = n if cfg.batch_size <= 0 else cfg.batch_size
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum)
    scheduler = (
        torch.optim.lr_scheduler.StepLR(optimizer, cfg.lr_decay_every, cfg.lr_decay) if cfg.lr_decay_every > 0 else None
    )
    generators = [torch.Generator().manual_seed(int(s)) for s in shuffle_seeds]
    rows = torch.arange(S, device=device).unsqueeze(1)
    has_val = data.x_val is not None
    stopping = cfg.patience > 0 and has_val

    batch_loss = torch.full((cfg.epochs * per_epoch, S), float("nan"), device=device)
    active = torch.ones(S, dtype=torch.bool, device=device)
    best = [w.detach().clone() for w in model.weights]
    best_loss = torch.full((S,), float("inf"), device=device)
    best_epoch = torch.zeros(S, dtype=torch.long, device=device)
    since_best = torch.zeros(S, dtype=torch.long, device=device)
    stopped_epoch = torch.full((S,), cfg.epochs, dtype=torch.long, device=device)
    first_bad = torch.full((S,), -1, dtype=torch.long, device=device)
    result = FitResult(batch_loss=np.zeros((0, S)))
    step = 0

    for epoch in tqdm(range(1, cfg.epochs + 1), desc=desc, unit="epoch", mininterval=2.0, dynamic_ncols=True):
        perms = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)
        for b in range(per_epoch):
            idx = perms[:, b * bs : (b + 1) * bs]
            losses = member_loss(cfg.task, model(data.x[rows, idx]), data.y[rows, idx])
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            detached = losses.detach()
            batch_loss[step] = torch.where(active, detached, torch.nan)
            step += 1
            first_bad = torch.where(active & (first_bad < 0) & ~torch.isfinite(detached), step, first_bad)
        if scheduler is not None:
            scheduler.step()

        train = evaluate_members(model, cfg.task, data.x, data.y)
        epoch_row = {"epoch": epoch, **{f"train_{k}": v for k, v in train.items()}}
        if has_val:
            val = evaluate_members(model, cfg.task, data.x_val, data.y_val)
            epoch_row |= {f"val_{k}": v for k, v in val.items()}
        if stopping:
            with torch.no_grad():
                improved = active & (val["loss"] < best_loss)
                best_loss = torch.where(improved, val["loss"], best_loss)
                best_epoch = torch.where(improved, epoch, best_epoch)
                since_best = torch.where(improved, 0, since_best + active.long())
                stop_now = active & (since_best >= cfg.patience)
                stopped_epoch = torch.where(stop_now, epoch, stopped_epoch)
                for w, bw in zip(model.weights, best):
                    bw.copy_(torch.where(improved.view(-1, *[1] * (w.dim() - 1)), w, bw))
                was_active = active.clone()
                active = active & ~stop_now
            epoch_row["active"] = was_active
        host = {k: v.cpu().numpy() for k, v in epoch_row.items() if torch.is_tensor(v)}  # one sync per epoch
        for s in range(S):
            if stopping and not host["active"][s]:
                continue
            result.epochs.append(
                {"member": s, "epoch": epoch, **{k: float(v[s]) for k, v in host.items() if k != "active"}}
            )
        if stopping and not bool(active.any()):
            break

    if stopping:
        with torch.no_grad():
            for w, bw in zip(model.weights, best):
                w.copy_(bw)
    result.batch_loss = batch_loss[:step].cpu().numpy()
    result.stopped_epoch = [int(v) if stopping else epoch for v in stopped_epoch.cpu()]
    result.best_epoch = [int(v) for v in best_epoch.cpu()] if stopping else [epoch] * S
    result.diverged_step = [None if v < 0 else int(v) for v in first_bad.cpu().tolist()]
    return result
