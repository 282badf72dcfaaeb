"""Progress while a stage trains: the terminal bar, and the same numbers as a live dvclive log.

`dvc repro` and `dvc exp run` show a stage's outputs only when it ends, and they are written
atomically then (artifacts.atomic_dir): a long training stage is otherwise a black box. So
every :class:`Bar` a stage opens also logs its numbers at each log step (means over the
seeds it trains) with dvclive, into ``progress/<study>/<step>[/<item>]/<bar>/`` (the stage
runner, annstudy/pipeline/stage.py, names the directory in ``$ANNSTUDY_PROGRESS_DIR``): outside
every DVC out and git-ignored, so nothing DVC hashes changes. While the stage runs,
``dvc plots show progress/...`` draws the curves so far, ``dvc metrics show`` reads the
latest values, and dvclive's ``report.html`` there reloads itself every 5 seconds. The
stage's next run starts its progress directory afresh.

The x value of a progress log is the bar's count: training steps summed over the seeds
(:func:`show_step` advances it by the loop's member-steps, as if one at a time).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from annstudy.store.records import open_live

ENV = "ANNSTUDY_PROGRESS_DIR"  # set by annstudy/pipeline/stage.py for the stage it runs; unset or empty: bars only
SYNC_SECONDS = 2.0  # rewrite the summary and report.html at most this often (the TSVs grow every log step)


def _stage_dir() -> Path | None:
    return Path(os.environ[ENV]) if os.environ.get(ENV) else None


def _slug(desc: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", desc).strip("-") or "train"


class Bar(tqdm):
    """The terminal progress bar of a training loop; :meth:`log` also writes one dvclive step."""

    def __init__(self, total: int | None = None, desc: str = "train") -> None:
        super().__init__(total=total, desc=desc, unit="step", mininterval=2.0, dynamic_ncols=True)
        where = _stage_dir()
        self._live = None if where is None else open_live(where / _slug(desc), report="html")
        self._synced = time.monotonic()

    def log(self, values: dict[str, float], **postfix: object) -> None:
        """Show ``postfix`` on the bar and log ``values`` at the bar's count (when the stage logs progress)."""
        self.set_postfix(**postfix)
        if self._live is None:
            return
        self._live.step = self.n
        for name, value in values.items():
            self._live.log_metric(name, value)
        if time.monotonic() - self._synced >= SYNC_SECONDS:
            self._live.sync()
            self._synced = time.monotonic()

    def close(self) -> None:
        """End the bar; the progress log gets its last summary and report."""
        if getattr(self, "_live", None) is not None:
            self._live.sync()
            self._live = None
        super().close()


def show_step(progress: Bar | None, step: int, reported: int, members: int, values: dict) -> int:
    """Advance the bar to ``step`` of every member and log the members' means of the ``[S]``
    float ``values``; returns the step now reported (``reported`` when there is no bar)."""
    if progress is None:
        return reported
    progress.update((step - reported) * members)
    means = {
        k: float(v.double().nanmean())
        for k, v in values.items()
        if torch.is_tensor(v) and v.dim() == 1 and v.is_floating_point()
    }
    shown = {label: f"{means[k]:.3f}" for k, label in (("train_loss", "loss"), ("val_acc", "val")) if k in means}
    progress.log(means, seeds=members, **shown)
    return step
