"""What the training loop holds while it runs, as typed records instead of loose variables.

:func:`annstudy.engine.loop.train_stack` keeps everything that changes from step to step in
one :class:`LoopState`: the model and optimizer, each member's batch generator, the open log
interval (:class:`Interval`), which members still train and where a loss first turned
non-finite (:class:`Members`), per-member early stopping (:class:`EarlyStopping`) and the rows
recorded so far (:class:`StackRun`). Per-member values stay tensors on the device, so a step
never waits for the host; the loop reads them back once per log step.

A :class:`~annstudy.engine.checkpoint.Snapshot` is a :func:`copied` LoopState, so resuming
after a kill and continuing S3's schedule search from an earlier pass are the same operation.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import nn

from annstudy.models.stacked import StackedNet

# model (after backward) -> name -> per-member value: [S] for a stacked model, 0-d for a plain one
StepMetrics = Callable[[nn.Module], dict[str, torch.Tensor]]


class EpochSchedule(Protocol):
    """A learning-rate schedule driven by the epoch's full-validation accuracy (a stack of one)."""

    def after_epoch(self, epoch: int, val_acc: float) -> float | None:
        """The new learning rate after ``epoch`` (1-based), or None to keep the current one."""


@dataclass
class StackRun:
    """What :func:`~annstudy.engine.loop.train_stack` recorded, member by member (``member`` = row of the stack)."""

    per_epoch: int
    steps: list[int]  # steps each member trained (up to its divergence)
    diverged_step: list[int | None]
    curve: list[dict] = field(default_factory=list)  # per member and log step: step, epoch, train_loss, ...
    epochs: list[dict] = field(default_factory=list)  # per member and finished epoch: epoch, step, at_epoch
    batch_loss: np.ndarray | None = None  # [steps, S] loss of every mini-batch (NaN once a member stopped)
    stopped_epoch: list[int] = field(default_factory=list)  # last epoch trained, per member
    best_epoch: list[int] = field(default_factory=list)  # epoch of the final weights (restored best)
    lr_changes: list[dict] = field(default_factory=list)  # {epoch, step, lr} set by a schedule or a continuation
    seconds: float = 0.0
    resumed_epoch: int = 0  # the snapshot's epoch this run went on from (0: trained from the start)

    def add_rows(self, kind: str, values: dict, skip: set[int]) -> None:
        """One ``kind`` row (curve or epochs) per member not in ``skip``: [S] tensors split, anything else repeated."""
        S = len(self.steps)
        split = {k: v.tolist() if torch.is_tensor(v) else [v] * S for k, v in values.items()}
        getattr(self, kind).extend(
            {"member": s, **{k: v[s] for k, v in split.items()}} for s in range(S) if s not in skip
        )


@dataclass
class Interval:
    """The open log interval: sums since the last curve row, on the device until the row reads them."""

    loss_sum: torch.Tensor  # [S] batch losses times batch sizes
    correct: torch.Tensor  # [S] correct predictions (classification)
    seen: int = 0  # samples per member
    metric_sums: dict[str, torch.Tensor] = field(default_factory=dict)  # the step_metrics hook's values
    metric_steps: int = 0

    @classmethod
    def empty(cls, members: int, device: torch.device) -> Interval:
        return cls(torch.zeros(members, device=device), torch.zeros(members, dtype=torch.long, device=device))

    def add_batch(self, losses: torch.Tensor, out: torch.Tensor, y: torch.Tensor, classify: bool) -> None:
        """One step's detached losses ``[S]`` and outputs ``[S, B, ...]`` for targets ``y [S, B]``."""
        self.loss_sum += losses * y.shape[1]
        if classify:
            self.correct += (out.argmax(2) == y).sum(1)
        self.seen += y.shape[1]

    @torch.no_grad()
    def add_metrics(self, step_metrics: StepMetrics | None, model: nn.Module) -> None:
        if step_metrics is None:
            return
        for name, value in step_metrics(model).items():
            self.metric_sums[name] = self.metric_sums[name] + value if name in self.metric_sums else value.clone()
        self.metric_steps += 1

    def take(self, classify: bool) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The interval's training loss (and accuracy), and the hook's means; starts the next interval."""
        train = {"train_loss": self.loss_sum / self.seen}
        if classify:
            train["train_acc"] = self.correct.double() / self.seen
        means = {name: total / self.metric_steps for name, total in self.metric_sums.items()}
        self.loss_sum.zero_(), self.correct.zero_()
        self.seen, self.metric_sums, self.metric_steps = 0, {}, 0
        return train, means


@dataclass
class Members:
    """Which members still train, and where each one's loss first turned non-finite (no host read per step)."""

    active: torch.Tensor  # [S] bool: neither diverged nor stopped early
    first_bad: torch.Tensor  # [S] step of the first non-finite loss, -1 while finite
    batch_loss: torch.Tensor  # [max steps, S] loss of every mini-batch, NaN where a member rested
    diverged: set[int] = field(default_factory=set)  # members marked diverged at a host read

    @classmethod
    def start(cls, members: int, steps: int, device: torch.device) -> Members:
        return cls(
            torch.ones(members, dtype=torch.bool, device=device),
            torch.full((members,), -1, dtype=torch.long, device=device),
            torch.full((steps, members), float("nan"), device=device),
        )

    def record(self, step: int, losses: torch.Tensor) -> None:
        """The detached losses ``[S]`` of (1-based) ``step``."""
        self.batch_loss[step - 1] = torch.where(self.active, losses, torch.nan)
        fresh = self.active & (self.first_bad < 0) & ~torch.isfinite(losses)
        self.first_bad = torch.where(fresh, step, self.first_bad)

    def sync(self, run: StackRun) -> None:
        """Mark members whose loss turned non-finite as diverged: the one host read of an interval."""
        for s, at in enumerate(self.first_bad.tolist()):
            if at >= 0 and s not in self.diverged:
                run.diverged_step[s] = run.steps[s] = at
                self.diverged.add(s)
                self.active[s] = False

    def resting(self) -> set[int]:
        """Members that record nothing more (diverged or stopped early)."""
        return {s for s, on in enumerate(self.active.tolist()) if not on}


@dataclass
class EarlyStopping:
    """Per-member best validation loss, best weights and patience, kept on the device."""

    patience: int
    best: list[torch.Tensor]  # StackedNet.member_tensors() at each member's lowest val_loss
    best_loss: torch.Tensor  # [S]
    best_epoch: torch.Tensor  # [S]
    since_best: torch.Tensor  # [S] epochs since the best
    stopped_epoch: torch.Tensor  # [S] epoch a member stopped, -1 while it trains

    @classmethod
    def start(cls, model: StackedNet, patience: int, device: torch.device) -> EarlyStopping:
        S = model.seeds
        zeros = torch.zeros(S, dtype=torch.long, device=device)
        best = [t.detach().clone() for t in model.member_tensors()]
        inf, stopped = torch.full((S,), float("inf"), device=device), torch.full_like(zeros, -1)
        return cls(patience, best, inf, zeros, zeros.clone(), stopped)

    @torch.no_grad()
    def update(self, model: StackedNet, epoch: int, val_loss: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """After ``epoch``: keep improved members' weights; returns those ``patience`` epochs past their best."""
        improved = active & (val_loss < self.best_loss)
        self.best_loss = torch.where(improved, val_loss, self.best_loss)
        self.best_epoch = torch.where(improved, epoch, self.best_epoch)
        self.since_best = torch.where(improved, 0, self.since_best + active.long())
        stop_now = active & (self.since_best >= self.patience)
        self.stopped_epoch = torch.where(stop_now, epoch, self.stopped_epoch)
        for t, kept in zip(model.member_tensors(), self.best):
            kept.copy_(torch.where(improved.view(-1, *[1] * (t.dim() - 1)), t, kept))
        return stop_now

    @torch.no_grad()
    def restore(self, model: StackedNet) -> None:
        for t, kept in zip(model.member_tensors(), self.best):
            t.copy_(kept)


@dataclass
class LoopState:
    """Everything :func:`~annstudy.engine.loop.train_stack` changes while it runs."""

    model: StackedNet
    optimizer: torch.optim.Optimizer
    decay: torch.optim.lr_scheduler.StepLR | None
    shufflers: list[torch.Generator]  # one batch order per member
    schedule: EpochSchedule | None
    stopping: EarlyStopping | None
    members: Members
    interval: Interval
    run: StackRun
    epoch: int = 0  # the epoch being trained, or the last one
    step: int = 0
    reported: int = 0  # the step the progress bar shows
    started: float = field(default_factory=time.perf_counter)

    @property
    def lr(self) -> float:
        """The rate the next step trains with (one optimizer, one parameter group)."""
        return self.optimizer.param_groups[0]["lr"]

    def seconds(self) -> float:
        """Training time so far, a resumed run's earlier time included."""
        return time.perf_counter() - self.started


def copied(value: Any, device: torch.device | None = None) -> Any:
    """A deep copy of loop state (records, tensors, containers), every tensor on ``device`` (default: its own)."""
    if torch.is_tensor(value):
        return value.detach().to(device or value.device, copy=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value, **{f.name: copied(getattr(value, f.name), device) for f in dataclasses.fields(value)}
        )
    if isinstance(value, dict):
        return {k: copied(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return type(value)(copied(v, device) for v in value)
    return copy.deepcopy(value)
