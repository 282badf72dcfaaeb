"""S1-S4's entry to the one loop: train the seeds of one configuration on shared images.

:func:`train_seeds` is what a study's run.py calls. It trains the seeds of ``cfg`` as one
:class:`~annstudy.models.stacked.StackedNet` (``cfg.vectorize``) or as stacks of one, a seed
at a time; either way through :func:`annstudy.engine.loop.train_stack`, which builds the
optimizer from ``cfg``. A stack that runs out of memory is trained as two halves instead
(engine/memory.py). :func:`image_training` is what the loop needs for images: the training
rows, the loop settings, a curve row every ``log_every`` steps (validation accuracy on the
fixed subset) and the full validation loss and accuracy after every epoch; with
``stop_patience`` that full-validation loss drives each seed's early stopping, and a seed ends
with the weights of its lowest one (``SeedRun.best_epoch``).
:class:`SeedRun` is one seed's record, which the studies write.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Sequence

import torch
from torch import nn

from annstudy.data.prepared import PreparedDataset, Split
from annstudy.data.splits import stratified_head
from annstudy.engine.checkpoint import Checkpoint
from annstudy.engine.evaluation import fixed_subset, stacked_accuracy
from annstudy.engine.loop import (
    NO_HOOKS,
    Evaluator,
    LoopSettings,
    Penalty,
    StackData,
    TrainHooks,
    steps_per_epoch,
    train_stack,
)
from annstudy.engine.memory import halves, release_cached_memory
from annstudy.engine.progress import Bar
from annstudy.engine.settings import TrainSettings
from annstudy.engine.state import StackRun
from annstudy.models.stacked import StackedNet, stack_seeds
from annstudy.models.zoo import build_model

ModelFactory = Callable[[], nn.Sequential]  # one plain copy, initialised from torch's current RNG state


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
    lr_changes: list[dict] = field(default_factory=list)  # {epoch, step, lr} set by a schedule
    epochs_trained: int = 0  # epochs it trained: ``epochs``, or fewer when early stopping ended it
    best_epoch: int = 0  # the epoch of its final weights: its lowest validation loss under early stopping

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None


@dataclass
class TrainingData:
    """The (limited) training set, the fixed validation subset and, with ``train_log_subset``, the
    fixed training subset whose eval-mode accuracy is logged (else None)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val_sub: torch.Tensor
    y_val_sub: torch.Tensor
    per_epoch: int
    x_train_sub: torch.Tensor | None = None
    y_train_sub: torch.Tensor | None = None


def training_data(data: PreparedDataset, cfg: TrainSettings) -> TrainingData:
    """``train_limit`` > 0 trains on a stratified subset of that size (data/splits.py)."""
    x_train, y_train = data.train.x, data.train.y
    if 0 < cfg.train_limit < len(data.train):  # labels to the host only when a subset is asked for
        x_train, y_train = _rows(data.train, torch.from_numpy(stratified_head(y_train.cpu().numpy(), cfg.train_limit)))
    n_train = len(y_train)
    val_idx = fixed_subset(len(data.val), cfg.val_subset).to(data.val.x.device)
    td = TrainingData(
        x_train,
        y_train,
        data.val.x[val_idx],
        data.val.y[val_idx],
        steps_per_epoch(n_train, cfg.batch_size),
    )
    if cfg.train_log_subset > 0:
        idx = fixed_subset(n_train, cfg.train_log_subset).to(data.train.x.device)
        td.x_train_sub, td.y_train_sub = td.x_train[idx], td.y_train[idx]
    return td


def _rows(split: Split, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    index = index.to(split.y.device)
    return split.x[index], split.y[index]


@dataclass(frozen=True)
class ImageTraining:
    """What :func:`train_stack` needs to train S1-S4 seeds on the shared training images."""

    rows: StackData
    loop: LoopSettings
    at_log: Evaluator  # val_acc on the fixed subset (and train_acc_eval), per seed
    at_epoch: Evaluator  # full-validation val_loss and val_acc, per seed
    per_epoch: int


def image_training(data: PreparedDataset, cfg: TrainSettings) -> ImageTraining:
    td = training_data(data, cfg)
    return ImageTraining(
        rows=StackData(td.x_train, td.y_train, shared=True),
        loop=LoopSettings(
            cfg.optimizer,
            cfg.lr,
            cfg.momentum,
            cfg.epochs,
            cfg.batch_size,
            log_every=cfg.log_every,
            patience=cfg.stop_patience,
        ),
        at_log=lambda m: _log_accuracies(m, td, cfg.eval_batch_size),
        at_epoch=lambda m: stacked_accuracy(m, data.val.x, data.val.y, cfg.eval_batch_size, with_loss=True),
        per_epoch=td.per_epoch,
    )


def _log_accuracies(model: StackedNet, td: TrainingData, batch_size: int) -> dict[str, torch.Tensor]:
    """Per seed at a log step, in eval mode: ``val_acc`` on the fixed validation subset and, when configured,
    ``train_acc_eval`` on the fixed training subset (the train-mode running mean is ``train_acc``)."""
    out = stacked_accuracy(model, td.x_val_sub, td.y_val_sub, batch_size)
    if td.x_train_sub is not None:
        out["train_acc_eval"] = stacked_accuracy(model, td.x_train_sub, td.y_train_sub, batch_size)["val_acc"]
    return out


def stacked_seeds(
    make_model: ModelFactory, seeds: Sequence[int], data: PreparedDataset, cfg: TrainSettings
) -> StackedNet:
    """One copy per seed (each built after ``torch.manual_seed(seed)``) as a stack on the data's device."""
    model = stack_seeds(make_model, seeds).to(data.train.x.device)
    return model.use_channels_last() if cfg.channels_last else model


def train_seeds(
    arch: str,
    data: PreparedDataset,
    cfg: TrainSettings,
    desc: str = "train",
    activation: str = "relu",
    hooks: TrainHooks = NO_HOOKS,
    checkpoint: Checkpoint | None = None,
    penalty: Penalty | None = None,
    make_model: ModelFactory | None = None,
    bar: bool = True,
) -> list[SeedRun]:
    """Train every seed of ``cfg``: one stack of all (``cfg.vectorize``), else a stack of one per seed.

    ``make_model`` builds one plain copy (default: the zoo's ``arch`` with ``activation``; ``arch``
    names the run in messages). A per-seed schedule (``hooks.schedule``) trains a seed at a time.
    A group that runs out of memory is trained as its two halves instead, down to one seed
    (engine/memory.py); ``SeedRun.group`` records which seeds trained together. ``penalty(model)``
    (per seed, of its own weights only) is added to each seed's loss. A ``checkpoint`` makes every
    group resumable epoch by epoch (one file per group). ``bar`` shows one progress bar for all.
    """
    make_model = make_model or partial(build_model, arch, data.image_shape, len(data.classes), activation)
    setup = image_training(data, cfg)
    groups = [tuple(cfg.seeds)] if cfg.vectorize and hooks.schedule is None else [(s,) for s in cfg.seeds]
    runs: list[SeedRun] = []
    with Bar(setup.per_epoch * cfg.epochs * len(cfg.seeds), desc) if bar else nullcontext() as progress:
        while groups:
            group, done = groups.pop(0), progress.n if progress is not None else 0
            model = stacked_seeds(make_model, group, data, cfg)
            part = checkpoint.part(list(group)) if checkpoint is not None else None
            try:
                stack = train_stack(
                    model, setup.rows, setup.loop, group, setup.at_log, setup.at_epoch, penalty, hooks, progress, part
                )
            except RuntimeError as err:
                groups[:0], stack, model = halves(err, arch, group, cfg), None, None  # the halves go first
            if stack is None:  # out of memory: the failed stack is freed by now
                release_cached_memory()
                if progress is not None:
                    progress.n = done
                continue
            runs += seed_runs(stack, model, group, cfg.batch_size)
            if progress is not None:  # a diverged seed stops early
                progress.update(done + len(group) * setup.per_epoch * cfg.epochs - progress.n)
    return runs


def seed_runs(stack: StackRun, model: StackedNet, seeds: Sequence[int], batch_size: int) -> list[SeedRun]:
    """Every member of a trained stack as its seed's record (weights in the plain model's layout)."""

    def mine(rows: list[dict], s: int) -> list[dict]:
        return [{"seed": seeds[s], **{k: v for k, v in r.items() if k != "member"}} for r in rows if r["member"] == s]

    return [
        SeedRun(
            seed=seed,
            state_dict=model.seed_state_dict(s),
            curve=mine(stack.curve, s),
            epochs=mine(stack.epochs, s),
            steps=stack.steps[s],
            samples=stack.steps[s] * batch_size,
            train_seconds=stack.seconds / model.seeds,  # the group's wall time, shared equally
            diverged_step=stack.diverged_step[s],
            group=tuple(seeds),
            lr_changes=list(stack.lr_changes),
            epochs_trained=stack.stopped_epoch[s],
            best_epoch=stack.best_epoch[s],
        )
        for s, seed in enumerate(seeds)
    ]
