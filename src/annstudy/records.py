"""The on-disk record of one trained configuration (S2 and S3 variants), and reading it back.

``<out>/``
    ``curves.tsv``  tidy log-step rows: seed, step, epoch, train_loss, train_acc, val_acc (+ hook metrics)
    ``epochs.tsv``  end-of-epoch rows on the full validation set: seed, epoch, step, val_loss, val_acc
    ``run.json``    settings, wall time and per seed: test accuracy (eval mode, full test split),
                    divergence (with its step), learning-rate changes

Test accuracy is measured right after training, in the train stage, so no weights need
to be stored: these studies compare curves and final accuracies, not the weights.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch

from annstudy.artifacts import atomic_dir, read_json, read_tsv, write_json, write_tsv
from annstudy.data.prepared import PreparedDataset, load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.engine.device import configure, describe, resolve_device
from annstudy.engine.evaluation import evaluate
from annstudy.engine.settings import TrainSettings
from annstudy.engine.trainer import SeedRun
from annstudy.models.zoo import build_model
from annstudy.params import Settings


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


def write_record(
    out: Path,
    runs: list[SeedRun],
    data: PreparedDataset,
    cfg: TrainSettings,
    describe_run: dict,
    activation: str = "relu",
    started: float | None = None,
) -> Path:
    """Evaluate every seed on the test split and write ``out`` atomically (see module docstring)."""
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
        }
        for r in runs
    ]
    curves = _rows(runs, "curve", ["seed", "step", "epoch", "train_loss", "train_acc", "val_acc"])
    epochs = _rows(runs, "epochs", ["seed", "epoch", "step", "val_loss", "val_acc"])
    with atomic_dir(out) as tmp:
        write_tsv(tmp / "curves.tsv", curves)
        write_tsv(tmp / "epochs.tsv", epochs)
        write_json(
            tmp / "run.json",
            {
                **describe_run,
                "dataset": data.name,
                "image_shape": list(data.image_shape),
                "activation": activation,
                "train": asdict(cfg),
                "device": describe(data.train.x.device),
                "threads": torch.get_num_threads(),
                "wall_seconds": round(time.perf_counter() - started, 3) if started is not None else None,
                "torch": torch.__version__,
                "python": platform.python_version(),
                "seeds": seeds,
            },
        )
    return out


def _rows(runs: list[SeedRun], attr: str, columns: list[str]) -> pd.DataFrame:
    """All seeds' rows of ``attr`` (curve or epochs) as one frame; the bare columns when there are none."""
    frame = pd.DataFrame([row for r in runs for row in getattr(r, attr)])
    return pd.DataFrame(columns=columns) if frame.empty else frame


@dataclass
class Record:
    """One configuration read back: its run.json, per-seed log rows and end-of-epoch rows."""

    name: str
    run: dict
    curves: pd.DataFrame
    epochs: pd.DataFrame

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
        return float(self.run.get("wall_seconds") or 0.0)


def read_record(name: str, directory: Path) -> Record:
    for path in (directory / "run.json", directory / "curves.tsv", directory / "epochs.tsv"):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing (run `dvc repro` to produce it)")
    return Record(
        name, read_json(directory / "run.json"), read_tsv(directory / "curves.tsv"), read_tsv(directory / "epochs.tsv")
    )
