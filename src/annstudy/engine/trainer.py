"""The training loop: one configuration, every seed, data already on the device.

Design (after airbench): the whole dataset is a tensor on the device; an epoch is one
random permutation drawn from the seed's own generator; a step indexes a batch out of
the tensor. Nothing in the loop synchronises with the host except at log steps, where
the interval's summed loss and correct counts are read back once.

One loop, :func:`train_stack`, trains the S members of a
:class:`~annstudy.models.stacked.StackedNet` for every study with a stacked model: S1-S4 through
:func:`train_stacked_model` (shared images, log-step curves), S5/S6 through
:func:`annstudy.engine.members.fit` (members' own rows or folds, MSE or cross-entropy,
per-member early stopping, lr decay).

Every seed owns its randomness: weights are initialised after ``torch.manual_seed(seed)``,
batches come from ``torch.Generator().manual_seed(seed)`` and dropout masks from the
seeded global generator, so a seed's run is the same whether it runs alone or in a group.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from annstudy.data.prepared import PreparedDataset
from annstudy.engine.checkpoint import Checkpoint
from annstudy.engine.device import seed_everything
from annstudy.engine.evaluation import evaluate, fixed_subset, per_seed_cross_entropy, stacked_eval_batch
from annstudy.engine.optim import make_optimizer
from annstudy.engine.progress import Bar
from annstudy.engine.settings import TrainSettings
from annstudy.models.stacked import StackedNet, build_stacked
from annstudy.models.zoo import build_model

ModelFactory = Callable[[], nn.Module]
# model (after backward) -> name -> per-seed value: a 0-d tensor alone, [S] for a stacked model
StepMetrics = Callable[[nn.Module], dict[str, torch.Tensor]]
# Per-member penalty of a stacked model: [S] tensor added to the per-member losses (e.g. L1/L2).
Penalty = Callable[[StackedNet], torch.Tensor]


class EpochSchedule(Protocol):
    """A learning-rate schedule driven by the epoch's full-validation accuracy (one per seed)."""

    def after_epoch(self, epoch: int, val_acc: float) -> float | None:
        """The new learning rate after ``epoch`` (1-based), or None to keep the current one."""


@dataclass(frozen=True)
class TrainHooks:
    """Optional extras a study adds to the one training loop instead of copying it (S1 uses none).

    ``step_metrics`` runs after every backward pass (gradients present) and must return
    tensors without reading them back, so the loop still syncs with the host only at log
    steps; each value is averaged over the steps of the log interval and logged under its
    name. ``schedule`` builds a fresh :class:`EpochSchedule` for every seed; seeds then
    drop their rates at different epochs, so a scheduled configuration trains its seeds
    one at a time (one optimizer of a stacked network has one rate).
    """

    step_metrics: StepMetrics | None = None
    schedule: Callable[[], EpochSchedule] | None = None
    # Per-seed path only (train_seed): called after every epoch with the run so far and the
    # state to continue from (``SeedCheckpoint``); returning True ends the run there.
    after_epoch: Callable[[SeedRun, SeedCheckpoint], bool] | None = None


@dataclass
class SeedRun:
    """Everything one seed's training produced."""

    seed: int
    state_dict: dict[str, torch.Tensor]
    curve: list[dict] = field(default_factory=list)  # one row per log step
    epochs: list[dict] = field(default_factory=list)  # one row per finished epoch (full val set)
    steps: int = 0
    samples: int = 0
    train_seconds: float = 0.0
    diverged_step: int | None = None
    group: tuple[int, ...] = ()  # the seeds trained together with it as one stacked network
    lr_changes: list[dict] = field(default_factory=list)  # {epoch, step, lr} set by an EpochSchedule

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None


@dataclass(frozen=True)
class SeedCheckpoint:
    """Everything a per-seed run holds after an epoch, so that continuing from it is not having stopped.

    Why: S3's two-pass schedule retrains "from the same initialisation" with a rate drop at
    an epoch found on an earlier pass; up to that epoch the retrain repeats the earlier pass
    exactly (same seed, batches, rate), so :func:`train_seed` continues from this state
    instead (a test checks it equals the full retrain). ``lr`` is the rate to continue
    with: set another (``dataclasses.replace``) and the change is recorded at this epoch.
    """

    epoch: int
    step: int
    lr: float
    run: SeedRun  # the rows so far (no weights)
    model: dict[str, torch.Tensor]
    optimizer: dict
    shuffler: torch.Tensor
    rng: torch.Tensor
    cuda_rng: torch.Tensor | None
    interval: tuple  # the open log interval: loss sum, correct, images, hook sums, hook steps


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Batches per epoch; the last, smaller batch is kept (every image is seen once)."""
    return math.ceil(n_train / batch_size)


@dataclass
class TrainingData:
    """What both training loops read: the (limited) training set, the fixed validation subset and, with
    ``train_log_subset``, the fixed training subset whose eval-mode accuracy is logged (else None)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val_sub: torch.Tensor
    y_val_sub: torch.Tensor
    per_epoch: int
    x_train_sub: torch.Tensor | None = None
    y_train_sub: torch.Tensor | None = None

    @property
    def n_train(self) -> int:
        return len(self.y_train)


def training_data(data: PreparedDataset, cfg: TrainSettings) -> TrainingData:
    n_train = len(data.train) if cfg.train_limit <= 0 else min(cfg.train_limit, len(data.train))
    val_idx = fixed_subset(len(data.val), cfg.val_subset).to(data.val.x.device)
    td = TrainingData(
        data.train.x[:n_train],
        data.train.y[:n_train],
        data.val.x[val_idx],
        data.val.y[val_idx],
        steps_per_epoch(n_train, cfg.batch_size),
    )
    if cfg.train_log_subset > 0:
        idx = fixed_subset(n_train, cfg.train_log_subset).to(data.train.x.device)
        td.x_train_sub, td.y_train_sub = td.x_train[idx], td.y_train[idx]
    return td


# ---------------------------------------------------------------- the one loop

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


# model -> name -> [S] per-member values (e.g. validation loss and accuracy), evaluated without gradients
Evaluator = Callable[[StackedNet], dict[str, torch.Tensor]]


@dataclass
class StackRun:
    """What :func:`train_stack` recorded, member by member (``member`` = row of the stack)."""

    per_epoch: int
    steps: list[int]  # steps each member trained (up to its divergence)
    diverged_step: list[int | None]
    curve: list[dict] = field(default_factory=list)  # per member and log step: step, epoch, train_loss, ...
    epochs: list[dict] = field(default_factory=list)  # per member and finished epoch: epoch, step, at_epoch
    batch_loss: np.ndarray | None = None  # [steps, S] loss of every mini-batch (NaN once a member stopped)
    stopped_epoch: list[int] = field(default_factory=list)  # last epoch trained, per member
    best_epoch: list[int] = field(default_factory=list)  # epoch of the final weights (restored best)
    lr_changes: list[dict] = field(default_factory=list)  # {epoch, step, lr} set by an EpochSchedule
    seconds: float = 0.0
    resumed_epoch: int = 0  # the checkpoint's epoch this run went on from (0: trained from the start)


def member_losses(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean loss of every member: out ``[S, B, ...]``, y ``[S, B]`` -> ``[S]``."""
    if kind == "mse":
        return ((out.squeeze(-1) - y) ** 2).mean(dim=1)
    if kind == "cross_entropy":
        return per_seed_cross_entropy(out, y).mean(1)
    raise ValueError(f"unknown loss {kind!r}; choose from {', '.join(LOSSES)}")


class _EarlyStopping:
    """Per-member best validation loss, best weights and patience, kept on the device (no sync)."""

    def __init__(self, model: StackedNet, patience: int, active: torch.Tensor):
        self.model, self.patience, self.active = model, patience, active
        S, device = model.seeds, active.device
        self.best = [t.detach().clone() for t in model.member_tensors()]
        self.best_loss = torch.full((S,), float("inf"), device=device)
        self.best_epoch = torch.zeros(S, dtype=torch.long, device=device)
        self.since_best = torch.zeros(S, dtype=torch.long, device=device)
        self.stopped_epoch = torch.full((S,), -1, dtype=torch.long, device=device)

    @torch.no_grad()
    def update(self, epoch: int, val_loss: torch.Tensor) -> None:
        """After ``epoch``: keep improved members' weights; stop those ``patience`` epochs past their best."""
        improved = self.active & (val_loss < self.best_loss)
        self.best_loss = torch.where(improved, val_loss, self.best_loss)
        self.best_epoch = torch.where(improved, epoch, self.best_epoch)
        self.since_best = torch.where(improved, 0, self.since_best + self.active.long())
        stop_now = self.active & (self.since_best >= self.patience)
        self.stopped_epoch = torch.where(stop_now, epoch, self.stopped_epoch)
        for t, kept in zip(self.model.member_tensors(), self.best):
            kept.copy_(torch.where(improved.unsqueeze(1), t, kept))
        self.active &= ~stop_now

    @torch.no_grad()
    def restore(self) -> None:
        for t, kept in zip(self.model.member_tensors(), self.best):
            t.copy_(kept)


def train_stack(
    model: StackedNet,
    data: StackData,
    cfg: LoopSettings,
    shuffle_seeds: Sequence[int],
    at_log: Evaluator | None = None,
    at_epoch: Evaluator | None = None,
    penalty: Penalty | None = None,
    hooks: TrainHooks = TrainHooks(),
    progress: Bar | None = None,
    checkpoint: Checkpoint | None = None,
) -> StackRun:
    """Train the S members of ``model`` for up to ``cfg.epochs`` epochs: the one training loop.

    Member ``s`` draws its batch order from ``Generator().manual_seed(shuffle_seeds[s])`` and
    sees only its own rows, so its run is that of the member trained alone. ``penalty(model)``
    ([S]) is added to the losses before the backward pass (the logged loss stays the data loss).
    The host is read once per log step (``cfg.log_every``), or once per epoch without one: a
    member whose loss turned non-finite is then marked diverged (its step recorded, never
    raised) and records nothing more; the loop ends when every member diverged or stopped.
    ``at_log`` / ``at_epoch`` give per-member metrics for the curve / epoch rows; with
    ``cfg.patience`` the epoch's ``val_loss`` drives per-member early stopping, and every member
    ends with the weights of its lowest one (a stopped member rides along in the stacked step,
    recording nothing and keeping its best weights). ``hooks.schedule`` needs a stack of one.
    With a ``checkpoint`` the loop saves its whole state after every epoch and, when the file
    exists, goes on from it: a killed run resumed ends with the numbers of an uninterrupted one.
    """
    S = model.seeds
    device = data.x.device
    bs = data.n if cfg.batch_size <= 0 else cfg.batch_size
    per_epoch = steps_per_epoch(data.n, bs)
    torch.manual_seed(shuffle_seeds[0])  # dropout masks: one stream for the whole stack
    model.train()
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum)
    decay = torch.optim.lr_scheduler.StepLR(optimizer, cfg.lr_decay_every, cfg.lr_decay) if cfg.lr_decay_every else None
    shufflers = [torch.Generator().manual_seed(int(seed)) for seed in shuffle_seeds]
    schedule = _stack_schedule(hooks, S)
    classify = cfg.loss == "cross_entropy"

    active = torch.ones(S, dtype=torch.bool, device=device)  # neither diverged (seen) nor stopped
    stopping = _EarlyStopping(model, cfg.patience, active) if cfg.patience > 0 else None
    run = StackRun(per_epoch, steps=[0] * S, diverged_step=[None] * S)
    batch_loss = torch.full((cfg.epochs * per_epoch, S), float("nan"), device=device)
    loss_sum = torch.zeros(S, device=device)
    correct = torch.zeros(S, dtype=torch.long, device=device)
    first_bad = torch.full((S,), -1, dtype=torch.long, device=device)
    extra = _IntervalMeans()
    seen = step = reported = 0
    diverged: set[int] = set()
    started = time.perf_counter()

    def sync_divergence() -> None:
        """Mark members whose loss turned non-finite as diverged: the one host read of an interval."""
        for s, at in enumerate(first_bad.tolist()):
            if at >= 0 and s not in diverged:
                run.diverged_step[s] = run.steps[s] = at
                diverged.add(s)
                active[s] = False

    loop_tensors = {"active": active, "batch_loss": batch_loss, "loss_sum": loss_sum, "correct": correct}
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        run.resumed_epoch = saved["epoch"]
        first_bad = saved["tensors"]["first_bad"].to(device)
        seen, step, diverged = _resume_stack(saved, model, optimizer, decay, shufflers, loop_tensors, stopping, run)
        reported = _show(progress, step, 0, S, {})
        for stateful, key in ((extra, "extra"), (schedule, "schedule")):
            if stateful is not None:
                stateful.__dict__.update(saved[key])
        started -= saved["seconds"]
        print(f"resumed from the checkpoint of epoch {saved['epoch']} ({checkpoint.path})", flush=True)

    epoch = run.resumed_epoch
    for epoch in range(run.resumed_epoch + 1, cfg.epochs + 1):
        perms = torch.stack([torch.randperm(data.n, generator=g) for g in shufflers]).to(device)
        for b in range(per_epoch):
            xb, yb = data.batch(perms[:, b * bs : (b + 1) * bs])  # [S, B, ...], [S, B]
            out = model(xb)
            losses = member_losses(cfg.loss, out, yb)  # [S]
            objective = losses if penalty is None else losses + penalty(model)
            optimizer.zero_grad(set_to_none=True)
            objective.sum().backward()
            extra.add(hooks.step_metrics, model)
            optimizer.step()
            detached = losses.detach()
            batch_loss[step] = torch.where(active, detached, torch.nan)
            step += 1
            loss_sum += detached * yb.shape[1]
            if classify:
                correct += (out.detach().argmax(2) == yb).sum(1)
            seen += yb.shape[1]
            first_bad = torch.where(active & (first_bad < 0) & ~torch.isfinite(detached), step, first_bad)

            last = epoch == cfg.epochs and b == per_epoch - 1
            if cfg.log_every and (step % cfg.log_every == 0 or last):
                sync_divergence()
                metrics = at_log(model) if at_log is not None else {}
                row = {"step": step, "epoch": round(step / per_epoch, 4), "train_loss": loss_sum / seen}
                if classify:
                    row["train_acc"] = correct.double() / seen
                _append_rows(run.curve, row | metrics | extra.take(), S, diverged)
                loss_sum.zero_(), correct.zero_()
                seen = 0
                reported = _show(progress, step, reported, S, row | metrics)
        if not cfg.log_every:
            sync_divergence()
        if len(diverged) == S:
            break
        if decay is not None:
            decay.step()
        metrics = at_epoch(model) if at_epoch is not None else {}
        resting = {s for s, on in enumerate(active.tolist()) if not on}  # diverged or stopped before
        if stopping is not None:
            stopping.update(epoch, metrics["val_loss"])
        _append_rows(run.epochs, {"epoch": epoch, "step": step} | metrics, S, resting)
        if not cfg.log_every:
            reported = _show(progress, step, reported, S, metrics)
        if schedule is not None and epoch < cfg.epochs:  # a change after the last epoch would have no effect
            _apply_schedule(schedule, optimizer, run, epoch, step, float(metrics["val_acc"][0]))
        if not bool(active.any()):
            break
        if checkpoint is not None and epoch < cfg.epochs:
            tensors = loop_tensors | {"first_bad": first_bad}
            state = _snapshot_stack(
                epoch, model, optimizer, decay, shufflers, tensors, stopping, run, (seen, step, diverged)
            )
            state |= {"extra": vars(extra), "schedule": vars(schedule) if schedule is not None else {}}
            checkpoint.save(state | {"seconds": time.perf_counter() - started})

    if stopping is not None:
        stopping.restore()
        run.stopped_epoch = [epoch if v < 0 else v for v in stopping.stopped_epoch.tolist()]
        run.best_epoch = stopping.best_epoch.tolist()
    else:
        run.stopped_epoch = run.best_epoch = [epoch] * S
    run.steps = [run.steps[s] if s in diverged else step for s in range(S)]
    run.batch_loss = batch_loss[:step].cpu().numpy()
    run.seconds = time.perf_counter() - started
    return run


# ---------------------------------------------------------------- S1-S4: images, seeds


def train_seed(
    make_model: ModelFactory,
    data: PreparedDataset,
    cfg: TrainSettings,
    seed: int,
    progress: Bar | None = None,
    hooks: TrainHooks = TrainHooks(),
    start: SeedCheckpoint | None = None,
) -> SeedRun:
    """Train one fresh plain model for ``cfg.epochs`` epochs and record its curves.

    The per-seed path (``vectorize_seeds: false``, and S3's scheduled variants, whose seeds
    drop their rates at different epochs). It is not a stack of one through
    :func:`train_stack` because that would move its numbers in the last bits, and S1-S4's
    must not move: a plain Linear is ``addmm`` where the stack's is ``baddbmm`` (after two
    epochs every weight differs, tests measured), the logged loss is divided in float64
    here and in float32 there, the evaluation loss sums with ``reduction="sum"`` here, and
    dropout masks continue the init stream here where the stack reseeds it.

    ``start`` continues a run from its state after an epoch (see :class:`SeedCheckpoint`);
    ``hooks.after_epoch`` sees that state after every epoch and may end the run. With a
    schedule, a start or that hook the epoch rows carry ``lr``, the rate the epoch trained with.
    """
    device = data.train.x.device
    seed_everything(seed)
    model = make_model().to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum)
    shuffler = torch.Generator().manual_seed(seed)
    schedule = hooks.schedule() if hooks.schedule is not None else None
    record_lr = schedule is not None or start is not None or hooks.after_epoch is not None

    td = training_data(data, cfg)
    x_train, y_train, x_val_sub, y_val_sub = td.x_train, td.y_train, td.x_val_sub, td.y_val_sub
    n_train, per_epoch = td.n_train, td.per_epoch

    run = SeedRun(seed=seed, state_dict={})
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    seen = 0
    first_bad = torch.full((), -1, dtype=torch.long, device=device)
    extra = _IntervalMeans()
    step = reported = first = 0
    if start is not None:
        first, step, run, seen = _resume(start, model, optimizer, shuffler, extra)
        loss_sum, correct = start.interval[0].clone(), start.interval[1].clone()
        reported = step
    before = run.train_seconds  # a continued run's seconds before its start
    started = time.perf_counter()

    for epoch in range(first, cfg.epochs):
        epoch_lr = optimizer.param_groups[0]["lr"]
        perm = torch.randperm(n_train, generator=shuffler).to(device)
        for b in range(per_epoch):
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            extra.add(hooks.step_metrics, model)
            optimizer.step()
            step += 1
            detached = loss.detach()
            loss_sum += detached * len(yb)
            correct += (logits.detach().argmax(1) == yb).sum()
            seen += len(yb)
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(detached), step, first_bad)

            last = epoch == cfg.epochs - 1 and b == per_epoch - 1
            if step % cfg.log_every == 0 or last:
                bad = int(first_bad.item())  # the one host sync of the interval
                if bad >= 0:
                    run.diverged_step = bad
                    break
                val = evaluate(model, x_val_sub, y_val_sub, cfg.eval_batch_size)
                row = {
                    "seed": seed,
                    "step": step,
                    "epoch": round(step / per_epoch, 4),
                    "train_loss": loss_sum.item() / seen,
                    "train_acc": correct.item() / seen,
                    "val_acc": val.acc,
                    **{k: v.item() for k, v in extra.take().items()},
                }
                if td.x_train_sub is not None:
                    row["train_acc_eval"] = evaluate(model, td.x_train_sub, td.y_train_sub, cfg.eval_batch_size).acc
                run.curve.append(row)
                loss_sum.zero_(), correct.zero_()
                seen = 0
                if progress is not None:
                    progress.update(step - reported)
                    reported = step
                    shown = {"seed": seed, "loss": f"{row['train_loss']:.3f}", "val": f"{val.acc:.3f}"}
                    progress.log({k: v for k, v in row.items() if k not in ("seed", "step", "epoch")}, **shown)
        if run.diverged:
            break
        full_val = evaluate(model, data.val.x, data.val.y, cfg.eval_batch_size)
        run.epochs.append(
            {"seed": seed, "epoch": epoch + 1, "step": step, "val_loss": full_val.loss, "val_acc": full_val.acc}
            | ({"lr": epoch_lr} if record_lr else {})
        )
        more = epoch + 1 < cfg.epochs  # a change after the last epoch would have no effect
        if schedule is not None and more and (lr := schedule.after_epoch(epoch + 1, full_val.acc)) is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr
            run.lr_changes.append({"epoch": epoch + 1, "step": step, "lr": lr})
        if hooks.after_epoch is not None:
            run.train_seconds = before + time.perf_counter() - started  # the time so far travels with the state
            state = _checkpoint(epoch + 1, step, run, model, optimizer, shuffler, (loss_sum, correct, seen), extra)
            if hooks.after_epoch(run, state):
                break

    run.train_seconds = before + time.perf_counter() - started
    run.steps = step
    run.samples = step * cfg.batch_size
    run.state_dict = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return run


def _checkpoint(epoch, step, run, model, optimizer, shuffler, interval, extra) -> SeedCheckpoint:
    """The state after ``epoch`` (copies: the run goes on changing it)."""
    rows = replace(run, state_dict={}, curve=list(run.curve), epochs=list(run.epochs), lr_changes=list(run.lr_changes))
    return SeedCheckpoint(
        epoch=epoch,
        step=step,
        lr=optimizer.param_groups[0]["lr"],
        run=rows,
        model={k: v.detach().clone() for k, v in model.state_dict().items()},
        optimizer=copy.deepcopy(optimizer.state_dict()),
        shuffler=shuffler.get_state(),
        rng=torch.get_rng_state(),
        cuda_rng=torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
        interval=(
            interval[0].clone(),
            interval[1].clone(),
            interval[2],
            {k: v.clone() for k, v in extra.sums.items()},
            extra.steps,
        ),
    )


def _resume(start: SeedCheckpoint, model, optimizer, shuffler, extra) -> tuple[int, int, SeedRun, int]:
    """Load ``start`` into the fresh model, optimizer and generators; record a changed rate at its epoch."""
    model.load_state_dict(start.model)
    optimizer.load_state_dict(copy.deepcopy(start.optimizer))
    before = optimizer.param_groups[0]["lr"]
    for group in optimizer.param_groups:
        group["lr"] = start.lr
    shuffler.set_state(start.shuffler)
    torch.set_rng_state(start.rng)
    if start.cuda_rng is not None:
        torch.cuda.set_rng_state(start.cuda_rng)
    extra.sums, extra.steps = {k: v.clone() for k, v in start.interval[3].items()}, start.interval[4]
    r = start.run
    run = replace(r, curve=list(r.curve), epochs=list(r.epochs), lr_changes=list(r.lr_changes))
    if start.lr != before:
        run.lr_changes.append({"epoch": start.epoch, "step": start.step, "lr": start.lr})
    return start.epoch, start.step, run, start.interval[2]


def train_seeds(
    arch: str,
    data: PreparedDataset,
    cfg: TrainSettings,
    desc: str = "train",
    activation: str = "relu",
    hooks: TrainHooks = TrainHooks(),
    checkpoint: Checkpoint | None = None,
) -> list[SeedRun]:
    """Train every seed of ``cfg`` (stacked, or one after another), with one progress bar.

    A per-seed learning-rate schedule (``hooks.schedule``) forces one seed at a time. A
    ``checkpoint`` makes stacked training resumable epoch by epoch (the one-seed-at-a-time
    path, ``vectorize_seeds: false``, starts over).
    """
    total = training_data(data, cfg).per_epoch * cfg.epochs * len(cfg.seeds)
    with Bar(total, desc) as bar:
        if cfg.vectorize and hooks.schedule is None and hooks.after_epoch is None:
            runs = train_stacked_chunked(arch, data, cfg, bar, activation, hooks, checkpoint)
        else:
            make_model = lambda: build_model(arch, data.image_shape, len(data.classes), activation)  # noqa: E731
            runs = []
            for i, seed in enumerate(cfg.seeds):
                try:
                    runs.append(train_seed(make_model, data, cfg, seed, progress=bar, hooks=hooks))
                except RuntimeError as err:
                    if not is_out_of_memory(err):
                        raise
                    raise RuntimeError(_oom_message(arch, [seed], cfg, err)) from None
                bar.update(total * (i + 1) // len(cfg.seeds) - bar.n)  # a diverged seed stops early
        bar.update(total - bar.n)
    return runs


# How PyTorch says "out of memory": CUDA (torch.cuda.OutOfMemoryError) and the CPU allocator.
OOM_MESSAGES = ("out of memory", "not enough memory", "DefaultCPUAllocator: can't allocate")


def is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or any(m in str(err) for m in OOM_MESSAGES)


def _oom_message(arch: str, seeds: list[int], cfg: TrainSettings, err: BaseException) -> str:
    return (
        f"out of memory training {arch} (seeds {seeds}, batch {cfg.batch_size}, eval batch {cfg.eval_batch_size}) "
        "even one seed at a time: lower the study's batch_size or eval_batch_size (e.g. "
        "studies.architectures.batch_size), set vectorize_seeds: false, use a smaller train_limit, or set "
        f"device: cpu ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
    )


def train_stacked_chunked(
    arch: str,
    data: PreparedDataset,
    cfg: TrainSettings,
    progress: Bar | None = None,
    activation: str = "relu",
    hooks: TrainHooks = TrainHooks(),
    checkpoint: Checkpoint | None = None,
) -> list[SeedRun]:
    """:func:`train_stacked`, splitting the seeds in halves whenever the stack runs out of memory.

    Each seed's run depends only on its own seed (init, batch order), so a smaller group
    gives the same numbers (up to float summation order; dropout masks are drawn per
    group). A single seed that still does not fit is a clear error naming the settings
    to change. ``SeedRun.group`` records which seeds trained together (run.json).
    """
    seeds = list(cfg.seeds)
    done = progress.n if progress is not None else 0
    try:
        runs = train_stacked(
            arch, data, cfg, progress=progress, activation=activation, hooks=hooks, checkpoint=checkpoint
        )
    except RuntimeError as err:
        if not is_out_of_memory(err):
            raise
        if len(seeds) == 1:
            raise RuntimeError(_oom_message(arch, seeds, cfg, err)) from None
        runs = []  # retried below, outside the handler, so the failed group's tensors are freed first
    if runs:
        for run in runs:
            run.group = tuple(seeds)
        return runs
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if progress is not None:
        progress.n = done
    half = len(seeds) // 2
    print(
        f"{arch}: out of memory with {len(seeds)} stacked seeds; retrying as groups of "
        f"{half} and {len(seeds) - half} (vectorize_seeds)",
        flush=True,
    )
    return [
        run
        for part in (seeds[:half], seeds[half:])
        for run in train_stacked_chunked(
            arch, data, replace(cfg, seeds=tuple(part)), progress, activation, hooks, checkpoint
        )
    ]


def train_stacked(
    arch: str,
    data: PreparedDataset,
    cfg: TrainSettings,
    progress: Bar | None = None,
    activation: str = "relu",
    hooks: TrainHooks = TrainHooks(),
    checkpoint: Checkpoint | None = None,
) -> list[SeedRun]:
    """Train all seeds of ``cfg`` in one pass as a :class:`~annstudy.models.stacked.StackedNet`.

    Same initial weights, batch order and logging as :func:`train_seed` for each seed;
    one host sync per log interval for all seeds together. A seed whose loss turns
    non-finite is marked diverged (its later rows are dropped); the others go on.
    """
    if hooks.schedule is not None or hooks.after_epoch is not None:
        raise ValueError("a per-seed learning-rate schedule needs one seed at a time (train_seeds does that)")
    model = build_stacked(arch, data.image_shape, len(data.classes), list(cfg.seeds), activation)
    return train_stacked_model(model, data, cfg, progress, hooks=hooks, checkpoint=checkpoint)


def train_stacked_model(
    model: StackedNet,
    data: PreparedDataset,
    cfg: TrainSettings,
    progress: Bar | None = None,
    penalty: Penalty | None = None,
    hooks: TrainHooks = TrainHooks(),
    checkpoint: Checkpoint | None = None,
) -> list[SeedRun]:
    """:func:`train_stack` for S1-S4: the stack's seeds on the shared training images.

    Curves every ``cfg.log_every`` steps (validation accuracy on the fixed subset), the full
    validation loss and accuracy after every epoch. ``penalty(model)`` (one value per seed)
    is added to each seed's mean cross-entropy before the backward pass; the logged training
    loss stays the cross-entropy alone. A seed's penalty must depend on its own weights only.
    """
    device = data.train.x.device
    seeds = list(cfg.seeds)
    model = model.to(device)
    if cfg.channels_last:
        model.use_channels_last()
    td = training_data(data, cfg)
    loop = LoopSettings(cfg.optimizer, cfg.lr, cfg.momentum, cfg.epochs, cfg.batch_size, log_every=cfg.log_every)
    stack = train_stack(
        model,
        StackData(td.x_train, td.y_train, shared=True),
        loop,
        seeds,
        at_log=lambda m: _log_accuracies(m, td, cfg.eval_batch_size),
        at_epoch=lambda m: stacked_accuracy(m, data.val.x, data.val.y, cfg.eval_batch_size, with_loss=True),
        penalty=penalty,
        hooks=hooks,
        progress=progress,
        checkpoint=checkpoint.part(seeds) if checkpoint is not None else None,
    )
    return [_seed_run(stack, model, s, seed, cfg.batch_size) for s, seed in enumerate(seeds)]


RUN_FIELDS = ("curve", "epochs", "steps", "diverged_step", "lr_changes")


def _snapshot_stack(epoch, model, optimizer, decay, shufflers, tensors, stopping, run, counters) -> dict:
    """Everything :func:`train_stack` needs to go on after ``epoch`` as if it had never stopped."""
    seen, step, diverged = counters
    return {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "decay": decay.state_dict() if decay is not None else None,
        "shufflers": [g.get_state() for g in shufflers],
        "rng": torch.get_rng_state(),  # dropout masks
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "tensors": {name: t.detach().clone() for name, t in tensors.items()},
        "stopping": vars(stopping) | {"model": None, "active": None} if stopping is not None else None,
        "run": {name: getattr(run, name) for name in RUN_FIELDS},
        "counters": (seen, step, sorted(diverged)),
    }


def _resume_stack(state, model, optimizer, decay, shufflers, tensors, stopping, run) -> tuple[int, int, set[int]]:
    """Put a :func:`_snapshot_stack` back in place (tensors shared with the loop are copied into);
    returns the loop's counters."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if decay is not None:
        decay.load_state_dict(state["decay"])
    for g, saved in zip(shufflers, state["shufflers"]):
        g.set_state(saved)
    torch.set_rng_state(state["rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    for name, t in tensors.items():
        t.copy_(state["tensors"][name])
    if stopping is not None:  # its model and active mask are the loop's own: kept, not replaced
        kept = {k: v for k, v in state["stopping"].items() if k not in ("model", "active")}
        for t, best in zip(stopping.best, kept.pop("best")):
            t.copy_(best)
        device = stopping.active.device
        stopping.__dict__.update({k: v.to(device) if torch.is_tensor(v) else v for k, v in kept.items()})
    for name, value in state["run"].items():
        setattr(run, name, value)
    seen, step, diverged = state["counters"]
    return seen, step, set(diverged)


def _log_accuracies(model: StackedNet, td: TrainingData, batch_size: int) -> dict[str, torch.Tensor]:
    """Per seed at a log step, in eval mode: ``val_acc`` on the fixed validation subset and, when configured,
    ``train_acc_eval`` on the fixed training subset (the train-mode running mean is ``train_acc``)."""
    out = stacked_accuracy(model, td.x_val_sub, td.y_val_sub, batch_size)
    if td.x_train_sub is not None:
        out["train_acc_eval"] = stacked_accuracy(model, td.x_train_sub, td.y_train_sub, batch_size)["val_acc"]
    return out


def _seed_run(stack: StackRun, model: StackedNet, s: int, seed: int, batch_size: int) -> SeedRun:
    """Member ``s`` of a trained stack as one seed's record."""

    def mine(rows: list[dict]) -> list[dict]:
        return [{"seed": seed, **{k: v for k, v in r.items() if k != "member"}} for r in rows if r["member"] == s]

    return SeedRun(
        seed=seed,
        state_dict=model.seed_state_dict(s),
        curve=mine(stack.curve),
        epochs=mine(stack.epochs),
        steps=stack.steps[s],
        samples=stack.steps[s] * batch_size,
        train_seconds=stack.seconds / model.seeds,  # the group's wall time, shared equally
        diverged_step=stack.diverged_step[s],
        lr_changes=list(stack.lr_changes),
    )


class _IntervalMeans:
    """Running sums of the ``step_metrics`` hook's values, read back as means once per log step."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps = 0

    def add(self, step_metrics: StepMetrics | None, model: nn.Module) -> None:
        if step_metrics is None:
            return
        with torch.no_grad():
            for name, value in step_metrics(model).items():
                self.sums[name] = self.sums[name] + value if name in self.sums else value.clone()
        self.steps += 1

    def take(self) -> dict[str, torch.Tensor]:
        """Means since the last call (empty without a hook); resets the sums."""
        means = {name: total / self.steps for name, total in self.sums.items()}
        self.sums, self.steps = {}, 0
        return means


def _append_rows(rows: list[dict], values: dict, S: int, skip: set[int]) -> None:
    """One row per member not in ``skip``: [S] tensors split per member, anything else repeated."""
    split = {k: v.tolist() if torch.is_tensor(v) else [v] * S for k, v in values.items()}
    rows.extend({"member": s, **{k: v[s] for k, v in split.items()}} for s in range(S) if s not in skip)


def _show(progress: Bar | None, step: int, reported: int, S: int, values: dict) -> int:
    """Advance the bar by member-steps (like one at a time) and log the seeds' means of the
    per-member ``values`` (engine/progress.py); returns the step now reported."""
    if progress is None:
        return reported
    progress.update((step - reported) * S)
    means = {
        k: float(v.double().nanmean())
        for k, v in values.items()
        if torch.is_tensor(v) and v.dim() == 1 and v.is_floating_point()
    }
    shown = {label: f"{means[k]:.3f}" for k, label in (("train_loss", "loss"), ("val_acc", "val")) if k in means}
    progress.log(means, seeds=S, **shown)
    return step


def _stack_schedule(hooks: TrainHooks, S: int) -> EpochSchedule | None:
    if hooks.after_epoch is not None:
        raise ValueError("hooks.after_epoch (checkpoints) is for the per-seed path, train_seed")
    if hooks.schedule is None:
        return None
    if S != 1:
        raise ValueError("a per-seed learning-rate schedule needs one seed at a time (train_seeds does that)")
    return hooks.schedule()


def _apply_schedule(schedule: EpochSchedule, optimizer, run: StackRun, epoch: int, step: int, val_acc: float) -> None:
    lr = schedule.after_epoch(epoch, val_acc)
    if lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = lr
        run.lr_changes.append({"epoch": epoch, "step": step, "lr": lr})


@torch.no_grad()
def stacked_accuracy(model: StackedNet, x: torch.Tensor, y: torch.Tensor, batch_size: int, with_loss: bool = False):
    """Per-seed ``val_acc`` (and ``val_loss``) [S] of a stacked model on one shared split, in eval mode."""
    batch_size = stacked_eval_batch(model, x, batch_size)
    was_training = model.training
    model.eval()
    S = model.seeds
    correct = torch.zeros(S, dtype=torch.long, device=x.device)
    loss_sum = torch.zeros(S, dtype=torch.float64, device=x.device)
    for start in range(0, len(y), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        logits = model(xb, shared=True)  # [S, B, K]
        correct += (logits.argmax(2) == yb).sum(1)
        if with_loss:
            loss_sum += per_seed_cross_entropy(logits, yb.expand(S, -1)).sum(1).double()
    model.train(was_training)
    acc = correct.double() / len(y)
    return {"val_loss": loss_sum / len(y), "val_acc": acc} if with_loss else {"val_acc": acc}
