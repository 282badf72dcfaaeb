"""The record of one trained configuration of S2 and S3 (a "variant"), written and read back.

Both studies train one configuration per stage over all seeds and compare curves and
final test accuracies, so they share one record (annstudy.store.records, ``<out>/live/``):

``curves``       table, per seed (``seed=<s>``) and step: epoch, train_loss, train_acc, val_acc
                 (+ hook metrics such as S2's grad_norm)
``curves_mean``  the same averaged over seeds at each logged step
``epochs``       table, per seed and end-of-epoch step: epoch, val_loss, val_acc (full validation set)
summary          settings, wall time and per seed: test accuracy (eval mode, full test split),
                 divergence (with its step), learning-rate changes, the epochs trained and the
                 best epoch (early stopping: the weights evaluated are the best epoch's)

Test accuracy is measured right after training, in the train stage, so no weights need
to be stored: these studies compare curves and final accuracies, not the weights.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch

from annstudy.data.prepared import PreparedDataset, load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.engine.device import configure, describe, resolve_device
from annstudy.engine.evaluation import evaluate
from annstudy.engine.seeds import SeedRun
from annstudy.engine.settings import TrainSettings
from annstudy.models.zoo import build_model
from annstudy.params.root import Settings
from annstudy.store.artifacts import atomic_dir
from annstudy.store.records import Record, log_summary, log_table, read_record, recording

CURVE_COLUMNS = ["seed", "step", "epoch", "train_loss", "train_acc", "val_acc"]
EPOCH_COLUMNS = ["seed", "epoch", "step", "val_loss", "val_acc"]


def load_data(settings: Settings, dataset: str) -> PreparedDataset:
    """Configure torch (determinism, threads) and load the prepared dataset onto the device."""
    configure(settings.deterministic, settings.num_threads)
    return load_prepared(prepared_dir(dataset), resolve_device(settings.device))


def seed_test_accuracy(
    run: SeedRun, arch: str, activation: str, data: PreparedDataset, batch_size: int
) -> float | None:
    """Eval-mode accuracy of the seed's final weights on the full test split (None if it diverged)."""
    if run.diverged:
        return None
    model = build_model(arch, data.image_shape, len(data.classes), activation).to(data.test.x.device)
    model.load_state_dict(run.state_dict)
    return evaluate(model, data.test.x, data.test.y, batch_size).acc


def mean_curve(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds at each logged step (diverged seeds count while they lasted)."""
    metrics = [c for c in curves.columns if c not in ("seed", "step")]
    return curves.groupby("step", as_index=False)[metrics].mean()


def rows(runs: list[SeedRun], attr: str, columns: list[str]) -> pd.DataFrame:
    """All seeds' rows of ``attr`` (curve or epochs) as one frame; the bare columns when there are none."""
    frame = pd.DataFrame([row for r in runs for row in getattr(r, attr)])
    return pd.DataFrame(columns=columns) if frame.empty else frame


def write_variant(
    out: Path,
    runs: list[SeedRun],
    data: PreparedDataset,
    cfg: TrainSettings,
    describe_run: dict,
    activation: str = "relu",
    started: float | None = None,
) -> Path:
    """Evaluate every seed on the test split and write the record of ``out`` atomically (see module docstring)."""
    arch = describe_run["arch"]
    seeds = [
        {
            "seed": r.seed,
            "test_acc": seed_test_accuracy(r, arch, activation, data, cfg.eval_batch_size),
            "steps": r.steps,
            "train_seconds": round(r.train_seconds, 3),
            "diverged": r.diverged,
            "diverged_step": r.diverged_step,
            "lr_changes": r.lr_changes,
            "epochs_trained": r.epochs_trained,  # fewer than train.epochs when early stopping ended it
            "best_epoch": r.best_epoch,  # the epoch of the evaluated weights
        }
        for r in runs
    ]
    curves = rows(runs, "curve", CURVE_COLUMNS)
    with atomic_dir(out) as tmp, recording(tmp, started) as live:
        log_table(live, "curves", curves, keys=["seed"])
        log_table(live, "curves_mean", mean_curve(curves))
        log_table(live, "epochs", rows(runs, "epochs", EPOCH_COLUMNS), keys=["seed"])
        log_summary(
            live,
            {
                **describe_run,
                "dataset": data.name,
                "image_shape": list(data.image_shape),
                "activation": activation,
                "train": asdict(cfg),
                "device": describe(data.train.x.device),
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "seeds": seeds,
            },
        )
    return out


@dataclass
class Variant:
    """One configuration read back: its summary, per-seed log rows and end-of-epoch rows."""

    name: str
    record: Record

    @property
    def run(self) -> dict:
        return self.record.summary

    @cached_property
    def curves(self) -> pd.DataFrame:
        return self.record.table("curves")

    @cached_property
    def epochs(self) -> pd.DataFrame:
        return self.record.table("epochs")

    @property
    def test_accs(self) -> list[float]:
        """Test accuracies of the seeds that did not diverge."""
        return [s["test_acc"] for s in self.run["seeds"] if not s["diverged"]]

    @property
    def diverged(self) -> list[tuple[int, int]]:
        """(seed, step) of every diverged seed."""
        return [(s["seed"], s["diverged_step"]) for s in self.run["seeds"] if s["diverged"]]

    @property
    def wall_seconds(self) -> float:
        return self.record.wall_seconds


def read_variant(name: str, directory: Path) -> Variant:
    return Variant(name, read_record(directory))
