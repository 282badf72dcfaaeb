"""Snapshots of the training loop: the one format for resuming a killed run and for continuing a run.

A :class:`Snapshot` is everything :func:`~annstudy.engine.loop.train_stack` holds after an
epoch (engine/state.py): weights, optimizer and lr-decay state, every random generator, the
early-stopping records, the open log interval and the rows so far. Going on from it is not
having stopped: the numbers are bit-identical. Two uses, one format:

- a killed `dvc repro` (a laptop lid, a pre-empted node, Ctrl-C) should not cost the epochs
  already trained: with a :class:`Checkpoint` the loop writes a snapshot to disk after every
  epoch, and a rerun of the same stage with the same settings resumes from it;
- S3's schedule search retrains "from the same initialisation" with a rate drop at an epoch
  found on an earlier pass; up to that epoch the retrain repeats the earlier pass exactly, so
  it continues from that pass's in-memory snapshot with another ``lr`` (engine/schedules.py).

Checkpoint files are scratch, not DVC outs: under ``data/checkpoints/`` (git-ignored), named
by a fingerprint of what they were trained with so a rerun with other params never resumes
from them, and removed when the stage finishes. (A ``persist: true`` out would keep DVC from
using its run cache for the stage, and a ``cache: false`` one would leave every fresh clone
with a "changed" stage; docs/experiments.md.)
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from annstudy.engine.state import EarlyStopping, Interval, LoopState, Members, StackRun, copied


@dataclass(frozen=True)
class Snapshot:
    """The loop's state after ``epoch``, copied (the run goes on changing its own).

    ``lr`` is the rate to continue with: ``dataclasses.replace`` it by another and the change
    is recorded in ``lr_changes`` at this epoch when the loop goes on from here.
    """

    epoch: int
    step: int
    lr: float
    seconds: float  # training time so far: it travels with the state
    model: dict[str, torch.Tensor]
    optimizer: dict
    decay: dict | None
    shufflers: list[torch.Tensor]
    rng: torch.Tensor  # the global generator: dropout masks
    cuda_rng: list[torch.Tensor]
    members: Members
    interval: Interval
    stopping: EarlyStopping | None
    schedule: dict[str, Any]  # the EpochSchedule's attributes
    rows: StackRun  # the rows so far (no batch losses: those are in members)


def snapshot(state: LoopState) -> Snapshot:
    """A copy of ``state`` after its epoch ``state.epoch``."""
    return Snapshot(
        epoch=state.epoch,
        step=state.step,
        lr=state.lr,
        seconds=state.seconds(),
        model={k: v.detach().clone() for k, v in state.model.state_dict().items()},
        optimizer=copy.deepcopy(state.optimizer.state_dict()),
        decay=copy.deepcopy(state.decay.state_dict()) if state.decay is not None else None,
        shufflers=[g.get_state() for g in state.shufflers],
        rng=torch.get_rng_state(),
        cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        members=copied(state.members),
        interval=copied(state.interval),
        stopping=copied(state.stopping),
        schedule=copy.deepcopy(vars(state.schedule)) if state.schedule is not None else {},
        rows=copied(state.run),
    )


def restore(state: LoopState, saved: Snapshot) -> None:
    """Put ``saved`` in place in a freshly started ``state`` (same model, optimizer and settings)."""
    device = state.members.active.device
    state.model.load_state_dict(saved.model)
    state.optimizer.load_state_dict(copy.deepcopy(saved.optimizer))  # a copy: the steps update it in place
    if state.decay is not None:
        state.decay.load_state_dict(copy.deepcopy(saved.decay))
    for g, kept in zip(state.shufflers, saved.shufflers):
        g.set_state(kept)
    torch.set_rng_state(saved.rng)
    if saved.cuda_rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved.cuda_rng)
    if state.schedule is not None:
        state.schedule.__dict__.update(copy.deepcopy(saved.schedule))
    state.members, state.interval = copied(saved.members, device), copied(saved.interval, device)
    state.stopping, state.run = copied(saved.stopping, device), copied(saved.rows)
    state.run.resumed_epoch = state.epoch = saved.epoch
    state.step = state.reported = saved.step
    state.started -= saved.seconds
    if saved.lr != state.lr:  # a continuation at another rate
        for group in state.optimizer.param_groups:
            group["lr"] = saved.lr
        state.run.lr_changes.append({"epoch": saved.epoch, "step": saved.step, "lr": saved.lr})


@dataclass(frozen=True)
class Checkpoint:
    """One training run's checkpoint file; :meth:`part` names the file of one seed group."""

    directory: Path
    fingerprint: str
    name: str = "stack"

    @classmethod
    def for_run(cls, directory: Path, settings: Any) -> Checkpoint:
        """The checkpoint of a run trained with ``settings`` (anything JSON can print): a rerun
        with other settings gets another file and starts from scratch."""
        text = json.dumps(settings, sort_keys=True, default=str)
        return cls(Path(directory), hashlib.sha256(text.encode()).hexdigest()[:16])

    def part(self, seeds: list[int]) -> Checkpoint:
        """The file of the seed group ``seeds`` (a stack split after running out of memory has several)."""
        return Checkpoint(self.directory, self.fingerprint, "seeds-" + "-".join(map(str, seeds)))

    @property
    def path(self) -> Path:
        return self.directory / f"{self.fingerprint}-{self.name}.pt"

    def load(self) -> Snapshot | None:
        """The saved snapshot, or None when there is none (or it cannot be read: then start over)."""
        if not self.path.exists():
            return None
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as err:  # a file cut short by the kill itself: training restarts, nothing is lost
            print(f"checkpoint {self.path} unreadable ({type(err).__name__}); starting from epoch 1", flush=True)
            return None
        if not isinstance(saved, Snapshot):  # written by another version of the loop
            print(f"checkpoint {self.path} is no Snapshot; starting from epoch 1", flush=True)
            return None
        return saved

    def save(self, state: Snapshot) -> None:
        """Write atomically: a kill during the write leaves the previous epoch's checkpoint intact."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)

    def clear(self) -> None:
        """Remove this run's checkpoints (every seed group), once its outputs are written."""
        shutil.rmtree(self.directory, ignore_errors=True)
