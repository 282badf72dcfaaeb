"""S6 MNIST-1D: the paper's MLP and 1D CNN on the data set the ``mnist1d`` package builds.

``mnist1d.data.make_dataset`` generates the set from its templates and a seed (no
download; its ``get_dataset`` would fetch a pickle, so it is not used). With the
package defaults (5,000 series, 80 % train, seed 42) this is the published MNIST-1D.

Outputs: ``data/mnist1d/prepared/data.pt`` (x, y, x_test, y_test);
``data/mnist1d/train/<model>/``: ``live/``, the record (annstudy.store.records): summary per seed:
test accuracy; tables ``epochs`` (per seed and epoch: train and test cost/accuracy; the test
set is only watched, never used to choose anything), ``epochs_mean``, ``batches`` (cost of
every 10th mini-batch); ``weights.pt``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from annstudy.engine.device import configure, resolve_device
from annstudy.engine.members import FitSettings, MemberData, evaluate_members, fit
from annstudy.models.small import mlp, mnist1d_cnn
from annstudy.models.stacked import stack_seeds
from annstudy.params.root import Settings
from annstudy.store.artifacts import atomic_dir, load_torch, save_torch
from annstudy.store.records import log_mean, log_summary, log_table, recording
from annstudy.studies.mnist1d.config import Mnist1dSettings

STUDY = "mnist1d"
CLASSES = 10


def prepared_dir(root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "prepared"


def train_dir(model: str, root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "train" / model


def build_dataset(study: Mnist1dSettings) -> dict[str, torch.Tensor]:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = study.num_samples, study.train_split, study.data_seed
    d = make_dataset(args)
    return {
        "x": torch.tensor(d["x"], dtype=torch.float32),
        "y": torch.tensor(d["y"], dtype=torch.long),
        "x_test": torch.tensor(d["x_test"], dtype=torch.float32),
        "y_test": torch.tensor(d["y_test"], dtype=torch.long),
    }


def prepare(study: Mnist1dSettings, root: str | Path = "data") -> Path:
    out = prepared_dir(root)
    with atomic_dir(out) as tmp:
        save_torch(tmp / "data.pt", build_dataset(study))
    return out


def network(name: str, study: Mnist1dSettings, length: int) -> nn.Module:
    if name == "mlp":
        return mlp([length, *study.mlp_hidden, CLASSES])
    return mnist1d_cnn(length, CLASSES, study.cnn_channels)


def train(name: str, settings: Settings, root: str | Path = "data") -> Path:
    started = time.perf_counter()
    configure(settings.deterministic, settings.num_threads)
    device = resolve_device(settings.device)
    study: Mnist1dSettings = settings.studies[STUDY]
    d = load_torch(prepared_dir(root) / "data.pt", device)
    seeds = study.seeds
    length = d["x"].shape[1]
    model = stack_seeds(lambda: network(name, study, length), seeds).to(device)
    cfg = FitSettings("classification", study.optimizer, study.lr, study.epochs, study.batch_size)
    data = MemberData.shared(d["x"], d["y"], len(seeds), d["x_test"], d["y_test"])
    result = fit(model, data, cfg, seeds, desc=f"mnist1d {name}")
    test = evaluate_members(model, "classification", d["x_test"], d["y_test"], shared=True)
    labels = pd.DataFrame({"seed": list(seeds)})
    epochs = result.epochs_frame(labels).rename(columns={"val_loss": "test_loss", "val_acc": "test_acc"})
    out = train_dir(name, root)
    with atomic_dir(out) as tmp, recording(tmp, started) as live:
        log_table(live, "epochs", epochs, keys=["seed"], step="epoch")
        log_mean(live, "epochs", epochs, step="epoch")
        log_table(live, "batches", result.batch_frame(labels, every=10), keys=["seed"])
        save_torch(tmp / "weights.pt", {s: model.seed_state_dict(i) for i, s in enumerate(seeds)})
        log_summary(
            live,
            {
                "model": name,
                "params": model.parameter_count(),
                "steps": len(result.batch_loss),
                "per_seed": [
                    {
                        "seed": s,
                        "test_loss": float(test["loss"][i]),
                        "test_acc": float(test["acc"][i]),
                        "diverged_step": result.diverged_step[i],
                    }
                    for i, s in enumerate(seeds)
                ],
            },
        )
    return out


def _train_step(settings: Settings, name: str | None) -> Path:
    if name not in settings.studies[STUDY].models:
        raise ValueError(f"model {name!r} is not in studies.mnist1d.models")
    return train(name, settings)


# `annstudy stage mnist1d <step>[:<model>]`
STEPS = {"prepare": lambda settings, item: prepare(settings.studies[STUDY]), "train": _train_step}
# `train` without a model (the stage `mnist1d`): every model of studies.mnist1d.models.
ALL = {"train": lambda settings: settings.studies[STUDY].models}
