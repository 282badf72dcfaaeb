"""Learning-rate schedules driven by validation accuracy (the trainer's ``EpochSchedule``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PlateauSteps:
    """Step down through ``lrs`` whenever validation accuracy stops improving.

    The rule, checked after every epoch but the last (the trainer's call) on the full
    validation set: an epoch *improves* when its accuracy exceeds the best so far by more
    than ``min_delta``. After
    ``patience`` consecutive epochs without improvement (the best is then unchanged, as in
    PyTorch's ``ReduceLROnPlateau``) the rate drops to the next value
    of ``lrs`` and the count restarts (the best accuracy is kept). Once at the last rate
    nothing changes any more. The rate to start with is ``lrs[0]``.
    """

    lrs: tuple[float, ...]
    patience: int
    min_delta: float
    level: int = 0
    best: float = float("-inf")
    stale: int = 0
    drops: list[int] = field(default_factory=list)  # epochs after which the rate dropped

    def after_epoch(self, epoch: int, val_acc: float) -> float | None:
        if val_acc > self.best + self.min_delta:
            self.best, self.stale = val_acc, 0
            return None
        self.stale += 1
        if self.stale < self.patience or self.level + 1 >= len(self.lrs):
            return None
        self.level += 1
        self.stale = 0
        self.drops.append(epoch)
        return self.lrs[self.level]

    @staticmethod
    def describe(lrs: tuple[float, ...], patience: int, min_delta: float) -> str:
        """The rule in words, for the report."""
        steps = " → ".join(f"{lr:g}" for lr in lrs)
        return (
            f"start at {lrs[0]:g}; after every epoch but the last, compare the full-validation accuracy "
            f"with the best so far: it improves when it beats the best by more than {min_delta:g}; "
            f"after {patience} consecutive epoch(s) without improvement, drop to the next rate ({steps}) "
            "and restart the count (the best accuracy is kept); no drop after the last rate"
        )
