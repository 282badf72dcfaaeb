"""The training loop: one configuration, every seed, data already on the device.

Design (after airbench): the whole dataset is a tensor on the device; an epoch is one
random permutation drawn from the seed's own generator; a step indexes a batch out of
the tensor. Nothing in the loop synchronises with the host except at log steps, where
the interval's summed loss and correct counts are read back once.

Every seed owns its randomness: weights are initialised after ``torch.manual_seed(seed)``,
batches come from ``torch.Generator().manual_seed(seed)`` and dropout masks from the
seeded global generator, so a seed's run is the same whether it runs alone or in a group.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from annstudy.data.prepared import PreparedDataset
from annstudy.engine.device import seed_everything
from annstudy.engine.evaluation import evaluate, fixed_subset
from annstudy.engine.optim import make_optimizer
from annstudy.engine.settings import TrainSettings
from annstudy.models.stacked import StackedNet, build_stacked
from annstudy.models.zoo import build_model

ModelFactory = Callable[[], nn.Module]
# model (after backward) -> name -> per-seed value: a 0-d tensor alone, [S] for a stacked model
StepMetrics = Callable[[nn.Module], dict[str, torch.Tensor]]


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


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Batches per epoch; the last, smaller batch is kept (every image is seen once)."""
    return math.ceil(n_train / batch_size)


@dataclass
class TrainingData:
    """What both training loops read: the (limited) training set and the fixed validation subset."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val_sub: torch.Tensor
    y_val_sub: torch.Tensor
    per_epoch: int

    @property
    def n_train(self) -> int:
        return len(self.y_train)


def training_data(data: PreparedDataset, cfg: TrainSettings) -> TrainingData:
    n_train = len(data.train) if cfg.train_limit <= 0 else min(cfg.train_limit, len(data.train))
    val_idx = fixed_subset(len(data.val), cfg.val_subset).to(data.val.x.device)
    return TrainingData(
        data.train.x[:n_train],
        data.train.y[:n_train],
        data.val.x[val_idx],
        data.val.y[val_idx],
        steps_per_epoch(n_train, cfg.batch_size),
    )


def train_seed(
    make_model: ModelFactory,
    data: PreparedDataset,
    cfg: TrainSettings,
    seed: int,
    progress: tqdm | None = None,
    hooks: TrainHooks = TrainHooks(),
) -> SeedRun:
    """Train one fresh model for ``cfg.epochs`` epochs and record its curves."""
    device = data.train.x.device
    seed_everything(seed)
    model = make_model().to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum)
    shuffler = torch.Generator().manual_seed(seed)
    schedule = hooks.schedule() if hooks.schedule is not None else None

    td = training_data(data, cfg)
    x_train, y_train, x_val_sub, y_val_sub = td.x_train, td.y_train, td.x_val_sub, td.y_val_sub
    n_train, per_epoch = td.n_train, td.per_epoch

    run = SeedRun(seed=seed, state_dict={})
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    seen = 0
    first_bad = torch.full((), -1, dtype=torch.long, device=device)
    extra = _IntervalMeans()
    step = reported = 0
    started = time.perf_counter()

    for epoch in range(cfg.epochs):
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
                run.curve.append(row)
                loss_sum.zero_(), correct.zero_()
                seen = 0
                if progress is not None:
                    progress.update(step - reported)
                    reported = step
                    progress.set_postfix(seed=seed, loss=f"{row['train_loss']:.3f}", val=f"{val.acc:.3f}")
        if run.diverged:
            break
        full_val = evaluate(model, data.val.x, data.val.y, cfg.eval_batch_size)
        run.epochs.append(
            {"seed": seed, "epoch": epoch + 1, "step": step, "val_loss": full_val.loss, "val_acc": full_val.acc}
        )
        more = epoch + 1 < cfg.epochs  # a change after the last epoch would have no effect
        if schedule is not None and more and (lr := schedule.after_epoch(epoch + 1, full_val.acc)) is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr
            run.lr_changes.append({"epoch": epoch + 1, "step": step, "lr": lr})

    run.train_seconds = time.perf_counter() - started
    run.steps = step
    run.samples = step * cfg.batch_size
    run.state_dict = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return run


def train_seeds(
    arch: str,
    data: PreparedDataset,
    cfg: TrainSettings,
    desc: str = "train",
    activation: str = "relu",
    hooks: TrainHooks = TrainHooks(),
) -> list[SeedRun]:
    """Train every seed of ``cfg`` (stacked, or one after another), with one progress bar.

    A per-seed learning-rate schedule (``hooks.schedule``) forces one seed at a time.
    """
    total = training_data(data, cfg).per_epoch * cfg.epochs * len(cfg.seeds)
    with tqdm(total=total, desc=desc, unit="step", mininterval=2.0, dynamic_ncols=True) as bar:
        if cfg.vectorize and hooks.schedule is None:
            runs = train_stacked_chunked(arch, data, cfg, progress=bar, activation=activation, hooks=hooks)
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
    progress: tqdm | None = None,
    activation: str = "relu",
    hooks: TrainHooks = TrainHooks(),
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
        runs = train_stacked(arch, data, cfg, progress=progress, activation=activation, hooks=hooks)
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
        for run in train_stacked_chunked(arch, data, replace(cfg, seeds=tuple(part)), progress, activation, hooks)
    ]


def train_stacked(
    arch: str,
    data: PreparedDataset,
    cfg: TrainSettings,
    progress: tqdm | None = None,
    activation: str = "relu",
    hooks: TrainHooks = TrainHooks(),
) -> list[SeedRun]:
    """Train all seeds of ``cfg`` in one pass as a :class:`~annstudy.models.stacked.StackedNet`.

    Same initial weights, batch order and logging as :func:`train_seed` for each seed;
    one host sync per log interval for all seeds together. A seed whose loss turns
    non-finite is marked diverged (its later rows are dropped); the others go on.
    """
    if hooks.schedule is not None:
        raise ValueError("a per-seed learning-rate schedule needs one seed at a time (train_seeds does that)")
    model = build_stacked(arch, data.image_shape, len(data.classes), list(cfg.seeds), activation)
    return train_stacked_model(model, data, cfg, progress, hooks=hooks)


# Per-seed penalty of a stacked model: [S] tensor added to the per-seed losses (e.g. L1/L2).
Penalty = Callable[[StackedNet], torch.Tensor]


def train_stacked_model(
    model: StackedNet,
    data: PreparedDataset,
    cfg: TrainSettings,
    progress: tqdm | None = None,
    penalty: Penalty | None = None,
    hooks: TrainHooks = TrainHooks(),
) -> list[SeedRun]:
    """:func:`train_stacked` for any stacked model (one copy per seed of ``cfg.seeds``).

    ``penalty(model)`` (one value per seed) is added to each seed's mean cross-entropy
    before the backward pass; the logged training loss stays the cross-entropy alone.
    A seed's penalty must depend on its own weights only, so its gradient stays exact.
    """
    device = data.train.x.device
    seeds = list(cfg.seeds)
    S = len(seeds)
    model = model.to(device)
    if cfg.channels_last:
        model.use_channels_last()
    torch.manual_seed(seeds[0])  # dropout masks: one stream for the whole stack
    model.train()
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum)
    shufflers = [torch.Generator().manual_seed(seed) for seed in seeds]

    td = training_data(data, cfg)
    x_train, y_train, x_val_sub, y_val_sub = td.x_train, td.y_train, td.x_val_sub, td.y_val_sub
    n_train, per_epoch = td.n_train, td.per_epoch

    runs = [SeedRun(seed=seed, state_dict={}) for seed in seeds]
    loss_sum = torch.zeros(S, device=device)
    correct = torch.zeros(S, dtype=torch.long, device=device)
    first_bad = torch.full((S,), -1, dtype=torch.long, device=device)
    extra = _IntervalMeans()
    seen = step = reported = 0
    stopped: set[int] = set()
    started = time.perf_counter()

    for epoch in range(cfg.epochs):
        perms = torch.stack([torch.randperm(n_train, generator=g) for g in shufflers]).to(device)
        for b in range(per_epoch):
            idx = perms[:, b * cfg.batch_size : (b + 1) * cfg.batch_size]  # [S, B]
            xb, yb = x_train[idx], y_train[idx]  # [S, B, C, H, W], [S, B]
            logits = model(xb)  # [S, B, K]
            losses = per_seed_cross_entropy(logits, yb).mean(1)  # [S]
            objective = losses if penalty is None else losses + penalty(model)
            optimizer.zero_grad(set_to_none=True)
            objective.sum().backward()
            extra.add(hooks.step_metrics, model)
            optimizer.step()
            step += 1
            detached = losses.detach()
            loss_sum += detached * yb.shape[1]
            correct += (logits.detach().argmax(2) == yb).sum(1)
            seen += yb.shape[1]
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(detached), step, first_bad)

            last = epoch == cfg.epochs - 1 and b == per_epoch - 1
            if step % cfg.log_every == 0 or last:
                bad = first_bad.tolist()  # the one host sync of the interval
                for s, at in enumerate(bad):
                    if at >= 0 and s not in stopped:
                        runs[s].diverged_step, runs[s].steps = at, at
                        stopped.add(s)
                val_acc = _stacked_accuracy(model, x_val_sub, y_val_sub, cfg.eval_batch_size)
                losses_now, correct_now = (loss_sum / seen).tolist(), correct.tolist()
                extra_now = {k: v.tolist() for k, v in extra.take().items()}
                for s, run in enumerate(runs):
                    if s in stopped:
                        continue
                    run.curve.append(
                        {
                            "seed": run.seed,
                            "step": step,
                            "epoch": round(step / per_epoch, 4),
                            "train_loss": losses_now[s],
                            "train_acc": correct_now[s] / seen,
                            "val_acc": val_acc[s],
                            **{k: v[s] for k, v in extra_now.items()},
                        }
                    )
                loss_sum.zero_(), correct.zero_()
                seen = 0
                if progress is not None:
                    progress.update((step - reported) * S)  # seed-steps, like one at a time
                    reported = step
                    progress.set_postfix(seeds=S, loss=f"{sum(losses_now) / S:.3f}", val=f"{sum(val_acc) / S:.3f}")
        if len(stopped) == S:
            break
        full_val = _stacked_accuracy(model, data.val.x, data.val.y, cfg.eval_batch_size, with_loss=True)
        for s, run in enumerate(runs):
            if s not in stopped:
                acc, loss = full_val[s]
                run.epochs.append(
                    {"seed": run.seed, "epoch": epoch + 1, "step": step, "val_loss": loss, "val_acc": acc}
                )

    elapsed = time.perf_counter() - started
    for s, run in enumerate(runs):
        run.train_seconds = elapsed / S  # the group's wall time, shared equally
        run.steps = run.steps if s in stopped else step
        run.samples = run.steps * cfg.batch_size
        run.state_dict = model.seed_state_dict(s)
    return runs


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


def per_seed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every sample of every seed: logits [S, B, K], targets [S, B] -> [S, B]."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(targets.shape)


@torch.no_grad()
def _stacked_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, with_loss: bool = False):
    """Per-seed accuracy (and mean loss) of a stacked model on one shared split, in eval mode."""
    was_training = model.training
    model.eval()
    S = model.seeds
    correct = torch.zeros(S, dtype=torch.long, device=x.device)
    loss_sum = torch.zeros(S, dtype=torch.float64, device=x.device)
    for start in range(0, len(y), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        logits = model(xb.unsqueeze(0).expand(S, *xb.shape))  # [S, B, K]
        correct += (logits.argmax(2) == yb).sum(1)
        if with_loss:
            loss_sum += per_seed_cross_entropy(logits, yb.expand(S, -1)).sum(1).double()
    model.train(was_training)
    acc = (correct.double() / len(y)).tolist()
    if not with_loss:
        return acc
    return list(zip(acc, (loss_sum / len(y)).tolist()))
