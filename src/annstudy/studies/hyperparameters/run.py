"""S4 hyperparameters: MLPs on sklearn digits, one sweep per axis around a base model.

Stages (``annstudy stage hyperparameters <step> [axis]``):

``prepare``            sklearn digits -> ``data/prepared/digits`` (stratified train/val/test)
``train <axis>``       every variant of one axis (``base`` = the base model alone), all seeds
                       stacked, evaluated on the full splits -> ``data/hyperparameters/train/<axis>/``:
    ``live/``          the record (annstudy.store.records): table ``epochs`` per variant, seed and
                       epoch: train_loss, train_acc (train mode, averaged over the epoch's
                       batches), val_loss, val_acc (eval mode, full split), and ``epochs_mean``
                       per variant; summary: per variant its configuration and per-seed final
                       train/val/test loss and accuracy (eval mode), divergence; wall time
    ``predictions.pt`` (base only) seeds and ``test_pred`` [seeds, N test]: the predicted classes

Digits is tiny (1,797 images): the splits live on the device as tensors, evaluation is one
full batch, and a variant's seeds train as one stacked network (exact per seed). The variants
of an axis are independent: with ``ANNSTUDY_RAY_ADDRESS`` set each is a Ray task (annstudy/scale/fanout.py),
same numbers; each variant's record says where it ran (``ran_on``: node, device).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch

from annstudy.data import digits
from annstudy.data.prepared import PreparedDataset, Split, load_prepared, save_prepared
from annstudy.data.registry import prepared_dir
from annstudy.engine.device import configure, describe, resolve_device
from annstudy.engine.evaluation import evaluate
from annstudy.engine.loop import steps_per_epoch
from annstudy.engine.penalty import weight_penalty
from annstudy.engine.seeds import SeedRun, train_seeds
from annstudy.models.mlp import build_mlp
from annstudy.params.root import Settings
from annstudy.scale.fanout import fan_out, ran_on
from annstudy.scratch import sigmoid_net
from annstudy.store.artifacts import atomic_dir, save_torch
from annstudy.store.records import log_mean, log_summary, log_table, recording
from annstudy.studies.hyperparameters.config import HyperparametersSettings, Variant

STUDY = "hyperparameters"
EPOCH_COLUMNS = ["variant", "seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc"]


def train_dir(axis: str, root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "train" / axis


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def prepare(settings: Settings, root: str | Path = "data") -> Path:
    """Write the stratified digits splits."""
    study: HyperparametersSettings = settings.studies[STUDY]
    tensors, meta = digits.prepare(study.split_seed, study.val_fraction, study.test_fraction)
    out = Path(prepared_dir(digits.NAME, f"{root}/prepared"))
    save_prepared(out, tensors, meta)
    print(f"prepared {digits.NAME}: {meta['sizes']} -> {out}", flush=True)
    return out


@dataclass
class VariantResult:
    variant: Variant
    runs: list[SeedRun]
    per_seed: list[dict]  # seed, diverged, diverged_step, {train,val,test}_{loss,acc}
    seconds: float
    ran_on: dict = field(default_factory=dict)  # node and device (annstudy/scale/fanout.py)
    test_pred: torch.Tensor | None = None  # [seeds, N test] predicted classes of the final weights

    def epoch_rows(self) -> pd.DataFrame:
        """Per seed and epoch: the epoch's training loss/accuracy and the full-split validation numbers."""
        curve = pd.DataFrame([row for run in self.runs for row in run.curve])
        epochs = pd.DataFrame([row for run in self.runs for row in run.epochs])
        if epochs.empty:
            return pd.DataFrame(columns=EPOCH_COLUMNS)
        frame = epochs.merge(curve[["seed", "step", "train_loss", "train_acc"]], on=["seed", "step"], how="left")
        return frame.assign(variant=self.variant.name)[EPOCH_COLUMNS]

    def record(self) -> dict:
        return {
            "name": self.variant.name,
            "axis": self.variant.axis,
            "value": self.variant.value,
            "config": asdict(self.variant),
            "seconds": round(self.seconds, 3),
            "ran_on": self.ran_on,
            "per_seed": self.per_seed,
        }


def _final_numbers(run: SeedRun, model: torch.nn.Module, data: PreparedDataset) -> dict:
    row: dict = {"seed": run.seed, "diverged": run.diverged, "diverged_step": run.diverged_step}
    for split in ("train", "val", "test"):
        part = getattr(data, split)
        result = evaluate(model, part.x, part.y, len(part))
        row[f"{split}_loss"] = _finite_or_none(result.loss)
        row[f"{split}_acc"] = result.acc
    return row


def train_variant(variant: Variant, study: HyperparametersSettings, data: PreparedDataset) -> VariantResult:
    """Train the seeds of one variant stacked, then evaluate each seed's final weights on every split."""
    started = time.perf_counter()
    cfg = study.train_for(variant)
    per_epoch = steps_per_epoch(len(data.train), cfg.batch_size)
    cfg = replace(cfg, log_every=per_epoch)  # one curve row per epoch

    def make_model() -> torch.nn.Sequential:
        return build_mlp(data.image_shape, len(data.classes), variant.hidden, variant.dropout, variant.batchnorm)

    penalty = weight_penalty(variant.penalty, variant.penalty_lambda)
    runs = train_seeds(variant.name, data, cfg, f"train {variant.name}", penalty=penalty, make_model=make_model)
    per_seed, test_pred = [], []
    for run in runs:
        plain = make_model().to(data.train.x.device)
        plain.load_state_dict(run.state_dict)
        per_seed.append(_final_numbers(run, plain, data))
        plain.eval()
        with torch.no_grad():
            test_pred.append(plain(data.test.x).argmax(1).cpu())
    result = VariantResult(variant, runs, per_seed, time.perf_counter() - started, test_pred=torch.stack(test_pred))
    accs = [r["test_acc"] for r in per_seed]
    print(
        f"{variant.name}: test acc {sum(accs) / len(accs):.4f} over {len(accs)} seeds ({result.seconds:.1f} s)",
        flush=True,
    )
    return result


def on_device(data: PreparedDataset, device: str | torch.device) -> PreparedDataset:
    """The same tensors on ``device`` (an exact copy): a Ray task gets them on the CPU, trains on its own device."""
    splits = [Split(s.x.to(device), s.y.to(device)) for s in (data.train, data.val, data.test)]
    return PreparedDataset(data.name, *splits, data.meta)


def variant_unit(variant: Variant, study: HyperparametersSettings, data: PreparedDataset, device: str) -> VariantResult:
    """One variant where it runs (here, or a Ray task: annstudy/scale/fanout.py); weights back on the CPU."""
    where = resolve_device(device)
    result = train_variant(variant, study, on_device(data, where))
    for run in result.runs:
        run.state_dict = {k: v.cpu() for k, v in run.state_dict.items()}
    return replace(result, ran_on=ran_on(where))


def train_axis(axis: str, settings: Settings, root: str | Path = "data") -> Path:
    """Every variant of one sweep axis (or ``base``): write its train directory atomically."""
    study: HyperparametersSettings = settings.studies[STUDY]
    variants = study.variants(axis)  # raises on an unknown axis before any work
    started = time.perf_counter()
    configure(settings.deterministic, settings.num_threads)
    device = resolve_device(settings.device)
    data = load_prepared(prepared_dir(digits.NAME, f"{root}/prepared"), device)
    results = fan_out(variant_unit, variants, study, on_device(data, "cpu"), settings.device)
    out = train_dir(axis, root)
    with atomic_dir(out) as tmp, recording(tmp, started) as live:
        epochs = pd.concat([r.epoch_rows() for r in results], ignore_index=True)
        if axis == "base":  # the classification-result grid of the report (test images, predicted vs true)
            seeds = [row["seed"] for row in results[0].per_seed]
            save_torch(tmp / "predictions.pt", {"seeds": seeds, "test_pred": results[0].test_pred})
        log_table(live, "epochs", epochs, keys=["variant", "seed"], step="epoch")
        log_mean(live, "epochs", epochs, by=["variant"], step="epoch")
        log_summary(
            live,
            {
                "study": STUDY,
                "axis": axis,
                "dataset": digits.NAME,
                "device": describe(device),
                "train": asdict(study.train),
                "variants": [r.record() for r in results],
            },
        )
    return out


def numpy_exercise(settings: Settings, root: str | Path = "data") -> Path:
    """The lab's Exercise 1 in NumPy, one run per seed: curves, test accuracy, autograd check."""
    started = time.perf_counter()
    study: HyperparametersSettings = settings.studies[STUDY]
    data = load_prepared(prepared_dir(digits.NAME, f"{root}/prepared"), torch.device("cpu"))
    x, y = data.train.x.numpy(), data.train.y.numpy()
    x_test, y_test = data.test.x.numpy(), data.test.y.numpy()
    rows, per_seed = [], []
    for seed in study.seeds:
        run = sigmoid_net.train(x, y, x_test, y_test, study.numpy_lr, study.numpy_steps, seed)
        diff = sigmoid_net.autograd_difference(run.weights, x, y, len(data.classes))
        last = len(run.losses) - 1  # the curve every 10 steps and at the end
        rows += [
            {"seed": seed, "step": i, "train_mse": v} for i, v in enumerate(run.losses) if i % 10 == 0 or i == last
        ]
        per_seed.append({"seed": seed, "test_acc": run.test_acc, "final_mse": run.losses[-1], "autograd_diff": diff})
        print(f"{STUDY} numpy: seed {seed} test acc {run.test_acc:.4f}, autograd diff {diff:.1e}", flush=True)
    out = train_dir("numpy", root)
    with atomic_dir(out) as tmp, recording(tmp, started) as live:
        curves = pd.DataFrame(rows)
        log_table(live, "curves", curves, keys=["seed"])
        log_mean(live, "curves", curves, by=[])
        log_summary(
            live,
            {"study": STUDY, "lr": study.numpy_lr, "steps": study.numpy_steps, "per_seed": per_seed},
        )
    return out


def _numpy_step(settings: Settings, item: str | None) -> Path:
    return numpy_exercise(settings)


def _prepare_step(settings: Settings, item: str | None) -> Path:
    return prepare(settings)


def _train_step(settings: Settings, axis: str | None) -> Path:
    if axis is None:
        raise ValueError("hyperparameters train needs an axis: base or one of studies.hyperparameters.sweeps")
    return train_axis(axis, settings)


# `annstudy stage hyperparameters <step>[:<axis>]` (annstudy/pipeline/stage.py)
STEPS = {"prepare": _prepare_step, "train": _train_step, "numpy": _numpy_step}
# `train` without an axis (the stage `hyperparameters`): the base, then every sweep axis.
ALL = {"train": lambda settings: ("base", *settings.studies[STUDY].axes)}
