"""S6 signals: an MLP (at most two hidden ReLU layers) tells normal from abnormal 1D signals.

The generator (:func:`annstudy.data.synthetic.signal`) makes beat trains; abnormal ones
turn irregular in timing and shape from a random beat on. Split 70/20/10
(train/validation/test) in file order of the shuffled set.

Outputs: ``data/signals/prepared/data.pt`` (train/val/test tensors);
``data/signals/train/``: ``live/``, the record (annstudy.store.records): summary per seed: test
accuracy and loss per learning rate; tables ``epochs`` (per rate, seed and epoch: train/val cost
and accuracy; epoch 0 = before the first step), ``epochs_mean`` (per rate), ``batches`` (cost of
every mini-batch, per rate and seed).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import torch

from annstudy.data.synthetic import signals
from annstudy.engine.device import configure, resolve_device
from annstudy.engine.members import FitSettings, MemberData, evaluate_members, fit
from annstudy.models.small import mlp
from annstudy.models.stacked import stack_seeds
from annstudy.params.root import Settings
from annstudy.store.artifacts import atomic_dir, load_torch, save_torch
from annstudy.store.records import log_mean, log_summary, log_table, recording
from annstudy.studies.signals.config import SignalsSettings

STUDY = "signals"


def prepared_dir(root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "prepared"


def train_dir(root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "train"


def split_sizes(n: int, train_fraction: float, val_fraction: float) -> tuple[int, int, int]:
    n_train, n_val = round(n * train_fraction), round(n * val_fraction)
    return n_train, n_val, n - n_train - n_val


def prepare(study: SignalsSettings, root: str | Path = "data") -> Path:
    data = signals(study.n_signals, study.length, study.period, study.noise, study.data_seed)
    n_train, n_val, _ = split_sizes(len(data.y), study.train_fraction, study.val_fraction)
    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    a, b = n_train, n_train + n_val
    out = prepared_dir(root)
    with atomic_dir(out) as tmp:
        save_torch(
            tmp / "data.pt",
            {"x": x[:a], "y": y[:a], "x_val": x[a:b], "y_val": y[a:b], "x_test": x[b:], "y_test": y[b:]},
        )
    return out


def train(settings: Settings, root: str | Path = "data") -> Path:
    started = time.perf_counter()
    configure(settings.deterministic, settings.num_threads)
    device = resolve_device(settings.device)
    study: SignalsSettings = settings.studies[STUDY]
    d = load_torch(prepared_dir(root) / "data.pt", device)
    seeds = study.seeds
    sizes = [study.length, *study.hidden, 2]
    data = MemberData.shared(d["x"], d["y"], len(seeds), d["x_val"], d["y_val"])
    epochs, batches, per_seed, params = [], [], [], 0
    for lr in study.rates:  # every rate from the same initial weights (the seeds') and batch order
        model = stack_seeds(lambda: mlp(sizes), seeds).to(device)
        params = model.parameter_count()
        cfg = FitSettings("classification", study.optimizer, lr, study.epochs, study.batch_size, eval_before=True)
        result = fit(model, data, cfg, seeds, desc=f"signals lr {lr:g}")
        test = evaluate_members(model, "classification", d["x_test"], d["y_test"], shared=True)
        labels = pd.DataFrame({"lr": [lr] * len(seeds), "seed": list(seeds)})
        epochs.append(result.epochs_frame(labels))
        batches.append(result.batch_frame(labels))
        per_seed += [
            {
                "lr": lr,
                "seed": s,
                "test_loss": float(test["loss"][i]),
                "test_acc": float(test["acc"][i]),
                "diverged_step": result.diverged_step[i],
            }
            for i, s in enumerate(seeds)
        ]
    out = train_dir(root)
    with atomic_dir(out) as tmp, recording(tmp, started) as live:
        epochs_frame = pd.concat(epochs, ignore_index=True)
        log_table(live, "epochs", epochs_frame, keys=["lr", "seed"], step="epoch")
        log_mean(live, "epochs", epochs_frame, by=["lr"], step="epoch")
        log_table(live, "batches", pd.concat(batches, ignore_index=True), keys=["lr", "seed"])
        log_summary(
            live,
            {
                "architecture": "-".join(map(str, sizes)),
                "params": params,
                "rates": list(study.rates),
                "sizes": {"train": len(d["y"]), "val": len(d["y_val"]), "test": len(d["y_test"])},
                "per_seed": per_seed,
            },
        )
    return out


# `annstudy stage signals <step>`
STEPS = {
    "prepare": lambda settings, item: prepare(settings.studies[STUDY]),
    "train": lambda settings, item: train(settings),
}
