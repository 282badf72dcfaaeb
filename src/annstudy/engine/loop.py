"""The one training loop: S members of a stacked network, data already on the device.

Design (after airbench): the whole dataset is a tensor on the device; an epoch is one random
permutation per member, drawn from the member's own generator; a step indexes a batch out
of the tensor. Nothing in the loop synchronises with the host except at log steps, where
the interval's summed loss and correct counts are read back once.

:func:`train_stack` trains every study with a network: one seed is a stack of one
(:class:`~annstudy.models.stacked.StackedNet` with S = 1), so there is no second loop.
S1-S4 reach it through :func:`annstudy.engine.seeds.train_seeds` (shared images, log-step
curves, the out-of-memory fallback) and :func:`annstudy.engine.schedules.stepped_run` (S3's
schedule search); S5/S6 through :func:`annstudy.engine.members.fit` (members' own rows or
folds, MSE or cross-entropy, per-member early stopping, lr decay). What the loop holds while
it runs is engine/state.py; its snapshots (resume after a kill, continue at another rate)
are engine/checkpoint.py.

Every member owns its randomness: weights are initialised after ``torch.manual_seed(seed)``
and batches come from ``torch.Generator().manual_seed(seed)``, so a member's run is that of
the member trained alone up to float summation order. Dropout masks come from one global
stream for the whole stack, seeded with the first member's seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from annstudy.engine.checkpoint import Checkpoint, Snapshot, restore, snapshot
from annstudy.engine.evaluation import per_seed_cross_entropy
from annstudy.engine.optim import make_optimizer
from annstudy.engine.progress import Bar, show_step
from annstudy.engine.state import (
    EarlyStopping,
    EpochSchedule,
    Interval,
    LoopState,
    Members,
    StackRun,
    StepMetrics,
)
from annstudy.models.stacked import StackedNet

# model -> name -> [S] per-member values (e.g. validation loss and accuracy), evaluated without gradients
Evaluator = Callable[[StackedNet], dict[str, torch.Tensor]]
# Per-member penalty of a stacked model: [S] tensor added to the per-member losses (e.g. L1/L2).
Penalty = Callable[[StackedNet], torch.Tensor]

LOSSES = ("cross_entropy", "mse")


@dataclass(frozen=True)
class LoopSettings:
    """What :func:`train_stack` needs beyond the model and the data (one value for every member)."""

    optimizer: str
    lr: float
    momentum: float
    epochs: int  # maximum epochs (early stopping may end a member sooner)
    batch_size: int  # 0 = full batch
    loss: str = "cross_entropy"  # cross_entropy (logits [S, B, K]) | mse (outputs [S, B, 1])
    log_every: int = 0  # a curve row (and host sync) every this many steps; 0 = only at epoch ends
    patience: int = 0  # epochs without a lower val_loss before a member stops (0 = never)
    lr_decay: float = 1.0  # lr multiplied by this ...
    lr_decay_every: int = 0  # ... every this many epochs (0 = constant lr)


@dataclass(frozen=True)
class TrainHooks:
    """Optional extras a study adds to the one loop instead of copying it (S1 uses none).

    ``step_metrics`` runs after every backward pass (gradients present) and must return
    tensors without reading them back, so the loop still syncs with the host only at log
    steps; each value is averaged over the steps of the log interval and logged under its
    name. ``schedule`` builds a fresh :class:`EpochSchedule` for a stack of one: members
    would drop their rates at different epochs, and one optimizer has one rate.
    ``after_epoch`` sees the run so far and a :class:`Snapshot` to continue from after every
    epoch; returning True ends the run there. With either, epoch rows carry ``lr``, the rate
    the epoch trained with.
    """

    step_metrics: StepMetrics | None = None
    schedule: Callable[[], EpochSchedule] | None = None
    after_epoch: Callable[[StackRun, Snapshot], bool] | None = None


NO_HOOKS = TrainHooks()  # the plain loop (a shared default: the record is frozen)


@dataclass
class StackData:
    """Training rows of every member: x ``[N, ...]`` shared by all, or ``[S, N, ...]`` each its own rows
    (e.g. its cross-validation fold); y ``[N]`` or ``[S, N]`` (labels or regression targets)."""

    x: torch.Tensor
    y: torch.Tensor
    shared: bool

    @property
    def n(self) -> int:
        return self.y.shape[-1]

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``idx [S, B]`` of every member -> x ``[S, B, ...]``, y ``[S, B]``."""
        if self.shared:
            return self.x[idx], self.y[idx]
        rows = torch.arange(idx.shape[0], device=idx.device).unsqueeze(1)
        return self.x[rows, idx], self.y[rows, idx]


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Batches per epoch; the last, smaller batch is kept (every row is seen once)."""
    return math.ceil(n_train / batch_size)


def member_losses(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean loss of every member: out ``[S, B, ...]``, y ``[S, B]`` -> ``[S]``."""
    if kind == "mse":
        return ((out.squeeze(-1) - y) ** 2).mean(dim=1)
    if kind == "cross_entropy":
        return per_seed_cross_entropy(out, y).mean(1)
    raise ValueError(f"unknown loss {kind!r}; choose from {', '.join(LOSSES)}")


def train_stack(
    model: StackedNet,
    data: StackData,
    cfg: LoopSettings,
    shuffle_seeds: Sequence[int],
    at_log: Evaluator | None = None,
    at_epoch: Evaluator | None = None,
    penalty: Penalty | None = None,
    hooks: TrainHooks = NO_HOOKS,
    progress: Bar | None = None,
    checkpoint: Checkpoint | None = None,
    start: Snapshot | None = None,
) -> StackRun:
    """Train the S members of ``model`` for up to ``cfg.epochs`` epochs: the one training loop.

    Member ``s`` draws its batch order from ``Generator().manual_seed(shuffle_seeds[s])`` and sees
    only its own rows. ``penalty(model)`` ([S]) is added to the losses before the backward pass
    (the logged loss stays the data loss). The host is read once per log step (``cfg.log_every``),
    or once per epoch without one: a member whose loss turned non-finite is then marked diverged
    (its step recorded, never raised) and records nothing more; the loop ends when every member
    diverged or stopped. ``at_log`` / ``at_epoch`` give per-member metrics for the curve / epoch
    rows; with ``cfg.patience`` the epoch's ``val_loss`` drives per-member early stopping, and every
    member ends with the weights of its lowest one. With a ``checkpoint`` the loop saves a snapshot
    after every epoch and, when the file exists, goes on from it; ``start`` goes on from a snapshot
    in memory. Either way the run ends with the numbers of one that never stopped.
    """
    model.train()
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum)
    state = _fresh_state(model, optimizer, data, cfg, shuffle_seeds, hooks)
    _resume(state, start, checkpoint, progress)
    record_lr = hooks.schedule is not None or hooks.after_epoch is not None
    for epoch in range(state.epoch + 1, cfg.epochs + 1):
        state.epoch, lr = epoch, state.lr
        _train_epoch(state, data, cfg, at_log, penalty, hooks.step_metrics, progress)
        if not cfg.log_every:
            state.members.sync(state.run)
        if len(state.members.diverged) == model.seeds:
            break
        _end_epoch(state, cfg, at_epoch, progress, {"lr": lr} if record_lr else {})
        if not bool(state.members.active.any()):
            break
        if checkpoint is not None and epoch < cfg.epochs:
            checkpoint.save(snapshot(state))
        if hooks.after_epoch is not None and hooks.after_epoch(state.run, snapshot(state)):
            break
    return _finish(state)


def _fresh_state(
    model: StackedNet,
    optimizer: torch.optim.Optimizer,
    data: StackData,
    cfg: LoopSettings,
    shuffle_seeds: Sequence[int],
    hooks: TrainHooks,
) -> LoopState:
    """The state before the first step; seeds the dropout stream (one for the whole stack)."""
    S, device = model.seeds, data.x.device
    per_epoch = steps_per_epoch(data.n, _batch_size(cfg, data))
    torch.manual_seed(shuffle_seeds[0])
    decay = torch.optim.lr_scheduler.StepLR(optimizer, cfg.lr_decay_every, cfg.lr_decay) if cfg.lr_decay_every else None
    if hooks.schedule is not None and S != 1:
        raise ValueError("a per-seed learning-rate schedule needs one seed at a time (train_seeds does that)")
    return LoopState(
        model=model,
        optimizer=optimizer,
        decay=decay,
        shufflers=[torch.Generator().manual_seed(int(seed)) for seed in shuffle_seeds],
        schedule=hooks.schedule() if hooks.schedule is not None else None,
        stopping=EarlyStopping.start(model, cfg.patience, device) if cfg.patience > 0 else None,
        members=Members.start(S, cfg.epochs * per_epoch, device),
        interval=Interval.empty(S, device),
        run=StackRun(per_epoch, steps=[0] * S, diverged_step=[None] * S),
    )


def _batch_size(cfg: LoopSettings, data: StackData) -> int:
    return data.n if cfg.batch_size <= 0 else cfg.batch_size


def _resume(state: LoopState, start: Snapshot | None, checkpoint: Checkpoint | None, progress: Bar | None) -> None:
    """Go on from ``start``, else from the checkpoint's file when there is one (the bar then shows its steps)."""
    saved = start if start is not None else checkpoint.load() if checkpoint is not None else None
    if saved is None:
        return
    restore(state, saved)
    if start is None:
        state.reported = show_step(progress, state.step, 0, state.model.seeds, {})
        print(f"resumed from the checkpoint of epoch {saved.epoch} ({checkpoint.path})", flush=True)


def _train_epoch(
    state: LoopState,
    data: StackData,
    cfg: LoopSettings,
    at_log: Evaluator | None,
    penalty: Penalty | None,
    step_metrics: StepMetrics | None,
    progress: Bar | None,
) -> None:
    """One pass over every member's rows in its own order, a curve row every ``cfg.log_every`` steps."""
    bs, per_epoch = _batch_size(cfg, data), state.run.per_epoch
    perms = torch.stack([torch.randperm(data.n, generator=g) for g in state.shufflers]).to(data.x.device)
    for b in range(per_epoch):
        xb, yb = data.batch(perms[:, b * bs : (b + 1) * bs])  # [S, B, ...], [S, B]
        _step(state, xb, yb, cfg.loss, penalty, step_metrics)
        last = state.epoch == cfg.epochs and b == per_epoch - 1
        if cfg.log_every and (state.step % cfg.log_every == 0 or last):
            _log_row(state, cfg.loss == "cross_entropy", at_log, progress)


def _step(
    state: LoopState,
    xb: torch.Tensor,
    yb: torch.Tensor,
    loss: str,
    penalty: Penalty | None,
    step_metrics: StepMetrics | None,
) -> None:
    """One optimizer step of every member on its batch; nothing is read back to the host."""
    out = state.model(xb)
    losses = member_losses(loss, out, yb)  # [S]
    objective = losses if penalty is None else losses + penalty(state.model)
    state.optimizer.zero_grad(set_to_none=True)
    objective.sum().backward()
    state.interval.add_metrics(step_metrics, state.model)
    state.optimizer.step()
    state.step += 1
    state.members.record(state.step, losses.detach())
    state.interval.add_batch(losses.detach(), out.detach(), yb, loss == "cross_entropy")


def _log_row(state: LoopState, classify: bool, at_log: Evaluator | None, progress: Bar | None) -> None:
    """A curve row per member still training: the interval's means and ``at_log``'s metrics. A member
    that stopped early goes on stepping with the stack (its best weights are kept aside), so it records
    no more rows: its curve ends where it stopped, as when trained alone."""
    state.members.sync(state.run)
    metrics = at_log(state.model) if at_log is not None else {}
    train, means = state.interval.take(classify)
    row = {"step": state.step, "epoch": round(state.step / state.run.per_epoch, 4)} | train
    state.run.add_rows("curve", row | metrics | means, state.members.resting())
    state.reported = show_step(progress, state.step, state.reported, state.model.seeds, row | metrics)


def _end_epoch(
    state: LoopState, cfg: LoopSettings, at_epoch: Evaluator | None, progress: Bar | None, extra: dict
) -> None:
    """After an epoch: lr decay, ``at_epoch``'s metrics, early stopping, the epoch rows, the schedule."""
    if state.decay is not None:
        state.decay.step()
    metrics = at_epoch(state.model) if at_epoch is not None else {}
    resting = state.members.resting()  # diverged or stopped before this epoch
    if state.stopping is not None:
        stop_now = state.stopping.update(state.model, state.epoch, metrics["val_loss"], state.members.active)
        state.members.active &= ~stop_now
    state.run.add_rows("epochs", {"epoch": state.epoch, "step": state.step} | metrics | extra, resting)
    if not cfg.log_every:
        state.reported = show_step(progress, state.step, state.reported, state.model.seeds, metrics)
    if state.schedule is not None and state.epoch < cfg.epochs:  # a change after the last epoch does nothing
        lr = state.schedule.after_epoch(state.epoch, float(metrics["val_acc"][0]))
        if lr is not None:
            for group in state.optimizer.param_groups:
                group["lr"] = lr
            state.run.lr_changes.append({"epoch": state.epoch, "step": state.step, "lr": lr})


def _finish(state: LoopState) -> StackRun:
    """The run's record: best weights restored, per-member steps and epochs, the batch losses.

    A member that stopped early trained ``stopped_epoch`` epochs of steps (the stack went on without it)."""
    run, members, S = state.run, state.members, state.model.seeds
    if state.stopping is not None:
        state.stopping.restore(state.model)
        run.stopped_epoch = [state.epoch if v < 0 else v for v in state.stopping.stopped_epoch.tolist()]
        run.best_epoch = state.stopping.best_epoch.tolist()
    else:
        run.stopped_epoch, run.best_epoch = [state.epoch] * S, [state.epoch] * S
    own = [min(state.step, epochs * run.per_epoch) for epochs in run.stopped_epoch]
    run.steps = [run.steps[s] if s in members.diverged else own[s] for s in range(S)]
    run.batch_loss = members.batch_loss[: state.step].cpu().numpy()
    run.seconds = state.seconds()
    return run
