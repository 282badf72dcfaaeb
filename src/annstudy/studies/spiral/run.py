"""S6 spiral: MLP 2-64-32-5 on five spiral arms, k-fold cross-validation with early stopping.

Every (seed, fold) pair is one member of a single :class:`~annstudy.models.stacked.StackedNet` (folds x seeds trained
together, exactly as alone). Fold k validates on the k-th slice of the shuffled training
pool and trains on the rest; each member stops after ``patience`` epochs without a lower
validation loss and its best weights are restored; the test set is never seen in training.

Outputs: ``data/spiral/prepared/data.pt`` (x, y, x_test, y_test);
``data/spiral/train/``: ``live/`` (the record, annstudy.store.records: summary per member: stop/best
epoch, val/test accuracy; tables ``epochs`` per member and epoch, ``epochs_mean``),
``regions.pt`` (grid predictions of the member with the lowest validation loss).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import torch

from annstudy.data.synthetic import spirals
from annstudy.engine.device import configure, resolve_device
from annstudy.engine.members import FitSettings, MemberData, evaluate_members, fit
from annstudy.models.small import mlp
from annstudy.models.stacked import stack_seeds
from annstudy.params.root import Settings
from annstudy.store.artifacts import atomic_dir, load_torch, save_torch
from annstudy.store.records import log_mean, log_summary, log_table, recording
from annstudy.studies.spiral.config import SpiralSettings

STUDY = "spiral"


def prepared_dir(root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "prepared"


def train_dir(root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "train"


def prepare(study: SpiralSettings, root: str | Path = "data") -> Path:
    data = spirals(study.arms, study.points_per_arm, study.turns, study.noise, study.data_seed)
    n_test = round(len(data.y) * study.test_fraction)
    n_pool = (len(data.y) - n_test) // study.folds * study.folds  # equal folds (drops < folds points)
    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    out = prepared_dir(root)
    with atomic_dir(out) as tmp:
        save_torch(tmp / "data.pt", {"x": x[:n_pool], "y": y[:n_pool], "x_test": x[-n_test:], "y_test": y[-n_test:]})
    return out


def train(settings: Settings, root: str | Path = "data") -> Path:
    started = time.perf_counter()
    configure(settings.deterministic, settings.num_threads)
    device = resolve_device(settings.device)
    study: SpiralSettings = settings.studies[STUDY]
    data = load_torch(prepared_dir(root) / "data.pt", device)
    members_data, members = MemberData.folds(data["x"], data["y"], study.folds, study.seeds)
    sizes = [2, *study.hidden, study.arms]
    model = stack_seeds(lambda: mlp(sizes), [seed for seed, _ in members]).to(device)
    cfg = FitSettings(
        "classification",
        study.optimizer,
        study.lr,
        study.max_epochs,
        study.batch_size,
        lr_decay=study.lr_decay,
        lr_decay_every=study.lr_decay_every,
        patience=study.patience,
    )
    shuffle = [seed * 1000 + fold for seed, fold in members]
    result = fit(model, members_data, cfg, shuffle, desc=f"spiral {len(members)} members")

    val = evaluate_members(model, "classification", members_data.x_val, members_data.y_val)
    trn = evaluate_members(model, "classification", members_data.x, members_data.y)
    test = evaluate_members(model, "classification", data["x_test"], data["y_test"], shared=True)
    axis = torch.linspace(-1, 1, study.grid, device=device)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    # the decision regions of the model the exercise keeps: the lowest validation loss over all members
    chosen = int(torch.nan_to_num(val["loss"], nan=float("inf")).argmin())
    with torch.no_grad():
        grid_pred = model(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1), shared=True)[chosen].argmax(-1)
    labels = pd.DataFrame(members, columns=["seed", "fold"])
    out = train_dir(root)
    with atomic_dir(out) as tmp, recording(tmp, started) as live:
        epochs = result.epochs_frame(labels)
        log_table(live, "epochs", epochs, keys=["seed", "fold"], step="epoch")
        log_mean(live, "epochs", epochs, step="epoch", over=["seed", "fold"])
        save_torch(
            tmp / "regions.pt",
            {"axis": axis.cpu(), "pred": grid_pred.view(study.grid, study.grid).cpu(), "member": list(members[chosen])},
        )
        log_summary(
            live,
            {
                "architecture": "-".join(map(str, sizes)),
                "per_member": [
                    {
                        "seed": s,
                        "fold": k,
                        "stopped_epoch": result.stopped_epoch[i],
                        "best_epoch": result.best_epoch[i],
                        "train_acc": float(trn["acc"][i]),
                        "val_loss": float(val["loss"][i]),
                        "val_acc": float(val["acc"][i]),
                        "test_acc": float(test["acc"][i]),
                        "diverged_step": result.diverged_step[i],
                    }
                    for i, (s, k) in enumerate(members)
                ],
            },
        )
    return out


# `annstudy stage spiral <step>`
STEPS = {
    "prepare": lambda settings, item: prepare(settings.studies[STUDY]),
    "train": lambda settings, item: train(settings),
}
