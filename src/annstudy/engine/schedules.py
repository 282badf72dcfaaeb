"""Step schedules whose drop epochs are read off validation curves (the exercise's multi-pass procedure).

The exercise trains at a constant rate, looks at the validation curve "by eye" for the
epoch where accuracy stops increasing, retrains from the same initialisation with the rate
dropped there, looks for the next plateau on that run, and retrains with both drops.
:func:`plateau_epoch` replaces the eye by a stated rule; :func:`stepped_run` runs the passes
for one seed, a stack of one through the one loop (:func:`annstudy.engine.loop.train_stack`);
each retrain continues from a :class:`~annstudy.engine.checkpoint.Snapshot` of the pass before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from annstudy.data.prepared import PreparedDataset
from annstudy.engine.checkpoint import Snapshot
from annstudy.engine.loop import TrainHooks, train_stack
from annstudy.engine.progress import Bar
from annstudy.engine.seeds import ModelFactory, SeedRun, image_training, seed_runs, stacked_seeds
from annstudy.engine.settings import TrainSettings
from annstudy.engine.state import StackRun


def plateau_epoch(val_acc: Sequence[float], after: int, patience: int, min_delta: float, last: int) -> int | None:
    """The first epoch ``e`` in ``after+1 .. last`` (1-based) where validation accuracy stops increasing.

    Rule: none of the ``patience`` epochs after ``e`` beats the best accuracy of epochs
    ``after+1 .. e`` by more than ``min_delta``. Epochs up to ``after`` (an earlier phase,
    at another rate) do not count. None when no epoch qualifies, or when the epochs needed
    to confirm one (``e + patience``) have not been trained. ``last`` bounds ``e`` so a drop
    leaves epochs to train at the new rate.
    """
    best = float("-inf")
    for e in range(after + 1, last + 1):
        best = max(best, val_acc[e - 1])
        window = val_acc[e : e + patience]
        if len(window) < patience:
            return None
        if max(window) <= best + min_delta:
            return e
    return None


def describe_rule(lrs: Sequence[float], epochs: int, patience: int, min_delta: float) -> str:
    """The rule and the passes in words, for the report."""
    steps = " → ".join(f"{lr:g}" for lr in lrs)
    return (
        f"pass 1 trains at {lrs[0]:g}; its plateau epoch is the first epoch e whose best full-validation "
        f"accuracy so far is not beaten by more than {min_delta:g} in any of the next {patience} epoch(s). "
        "Each next pass retrains from the same initialisation with the rate dropped after every plateau found "
        f"so far ({steps}) and looks for the next plateau after the last drop, with the same rule; the last pass "
        f"runs {epochs} epochs in all. A plateau must leave at least one epoch at the new rate (e ≤ {epochs - 1}); "
        "a pass that finds none keeps its rate to the end, and the report says so"
    )


@dataclass
class Pass:
    """One pass of the procedure for one seed: its rate, the curve it saw and the plateau found on it."""

    lr: float
    val_acc: list[float]  # full-validation accuracy per epoch, from epoch 1 (earlier phases included)
    plateau: int | None
    diverged: bool = False

    def as_dict(self) -> dict:
        return {"lr": self.lr, "val_acc": self.val_acc, "plateau": self.plateau, "diverged": self.diverged}


def stepped_run(
    make_model: ModelFactory,
    data: PreparedDataset,
    cfg: TrainSettings,
    seed: int,
    lrs: Sequence[float],
    patience: int,
    min_delta: float,
    progress: Bar | None = None,
) -> tuple[SeedRun, list[Pass]]:
    """One seed through the passes: train at ``lrs[0]``; while a plateau is found and a rate is left, retrain with
    the next drop there; the final run (``cfg.epochs`` epochs) and every pass are returned.

    A retrain from the same initialisation repeats the previous pass exactly up to the
    plateau epoch (same seed, batch order, rates), so it continues from the previous pass's
    :class:`Snapshot` at that epoch rather than recomputing it; a pass that will drop its
    rate stops as soon as its plateau is confirmed (``patience`` epochs later).
    """
    cfg = replace(cfg, lr=float(lrs[0]), seeds=(seed,))
    setup = image_training(data, cfg)
    passes: list[Pass] = []
    start: Snapshot | None = None
    after = 0
    for level, lr in enumerate(lrs):
        more = level + 1 < len(lrs)
        states: dict[int, Snapshot] = {}

        def search(run: StackRun, state: Snapshot, after: int = after, more: bool = more, states=states) -> bool:
            states[state.epoch] = state
            accs = [r["val_acc"] for r in run.epochs]
            return more and plateau_epoch(accs, after, patience, min_delta, cfg.epochs - 1) is not None

        model = stacked_seeds(make_model, [seed], data, cfg)
        hooks = TrainHooks(after_epoch=search)
        stack = train_stack(
            model, setup.rows, setup.loop, [seed], setup.at_log, setup.at_epoch, None, hooks, progress, start=start
        )
        (run,) = seed_runs(stack, model, [seed], cfg.batch_size)
        accs = [r["val_acc"] for r in run.epochs]
        found = plateau_epoch(accs, after, patience, min_delta, cfg.epochs - 1) if more and not run.diverged else None
        passes.append(Pass(float(lr), accs, found, run.diverged))
        if found is None:
            return run, passes
        start, after = replace(states[found], lr=float(lrs[level + 1])), found
    raise AssertionError("unreachable: the last rate never drops")
