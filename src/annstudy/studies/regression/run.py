"""S5 regression: a linear neuron, a small MLP on a 1D curve, and five MLPs on a 2D bell.

Stage outputs:

``data/regression/prepared/``  ``linear.pt``, ``nonlinear.pt``, ``bell.pt`` (x, y tensors; the
    bell file also holds the 10,000-point test set) and ``meta.json`` (sizes, data source)
``data/regression/train/<part>/`` (part = linear | nonlinear | bell)
    ``live/``         the record (annstudy.store.records): summary with the per-seed numbers (learned
                      w, b / training MSE / test MSE, ...); tables ``epochs`` (training MSE per
                      seed and epoch; bell: per architecture and data size), ``epochs_mean``,
                      ``batches`` (cost of every mini-batch; linear, nonlinear)
    ``fits.pt``       predictions on a plotting grid (curve or surface) per seed
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from annstudy.data.synthetic import bell_2d, linear_1d, nonlinear_1d, read_xy_csv
from annstudy.engine.device import configure, resolve_device
from annstudy.engine.members import FitSettings, MemberData, evaluate_members, fit
from annstudy.models.small import mlp, parse_arch
from annstudy.models.stacked import stack_seeds
from annstudy.params.root import Settings
from annstudy.store.artifacts import atomic_dir, load_torch, save_torch, write_json
from annstudy.store.records import log_mean, log_summary, log_table, recording
from annstudy.studies.regression.config import RegressionSettings

STUDY = "regression"
PARTS = ("linear", "nonlinear", "bell")
GRID_1D = 400
GRID_2D = 41


def prepared_dir(root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "prepared"


def train_dir(part: str, root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "train" / part


def _tensors(x: np.ndarray, y: np.ndarray) -> dict[str, torch.Tensor]:
    return {"x": torch.from_numpy(x), "y": torch.from_numpy(y)}


def prepare(study: RegressionSettings, root: str | Path = "data") -> Path:
    """Generate (or read) the three data sets; each from its own seed derived from data_seed."""
    s = study.data_seed
    linear = linear_1d(study.linear_a, study.linear_b, study.linear_sigma, study.linear_points, study.linear_x_max, s)
    if study.regression_csv:
        nonlinear, source = read_xy_csv(study.regression_csv), f"csv {study.regression_csv}"
    else:
        nonlinear, source = nonlinear_1d(study.nonlinear_points, study.nonlinear_noise, s + 1), "synthetic"
    bell = bell_2d(study.bell_train, study.bell_noise, s + 2)
    bell_test = bell_2d(study.bell_test, study.bell_noise, s + 3)
    out = prepared_dir(root)
    with atomic_dir(out) as tmp:
        save_torch(tmp / "linear.pt", _tensors(linear.x, linear.y))
        save_torch(tmp / "nonlinear.pt", _tensors(nonlinear.x, nonlinear.y))
        save_torch(
            tmp / "bell.pt",
            _tensors(bell.x, bell.y)
            | {"x_test": torch.from_numpy(bell_test.x), "y_test": torch.from_numpy(bell_test.y)},
        )
        write_json(
            tmp / "meta.json",
            {
                "nonlinear_source": source,
                "sizes": {
                    "linear": len(linear.y),
                    "nonlinear": len(nonlinear.y),
                    "bell_train": len(bell.y),
                    "bell_test": len(bell_test.y),
                    "bell_small": min(study.bell_small, len(bell.y)),
                },
            },
        )
    return out


def _labels(seeds: tuple[int, ...], **extra) -> pd.DataFrame:
    return pd.DataFrame({"seed": list(seeds), **extra})


def train_linear(study: RegressionSettings, device: torch.device) -> dict:
    data = load_torch(prepared_dir() / "linear.pt", device)
    seeds = study.seeds
    model = stack_seeds(lambda: mlp([1, 1]), seeds)  # one Linear(1, 1).to(device)
    cfg = FitSettings("regression", "sgd", study.linear_lr, study.linear_epochs, study.linear_batch_size)
    result = fit(model, MemberData.shared(data["x"], data["y"], len(seeds)), cfg, seeds, desc="linear")
    final = evaluate_members(model, "regression", data["x"], data["y"], shared=True)["loss"].cpu()
    w, b = (model.layers[0].weight.detach().cpu().view(-1), model.layers[0].bias.detach().cpu().view(-1))
    # Closed-form least squares on the same points: the best any (w, b) can do on this sample.
    design = torch.cat([data["x"].cpu(), torch.ones_like(data["x"].cpu())], 1).double()
    ols = torch.linalg.lstsq(design, data["y"].cpu().double().unsqueeze(1)).solution.view(-1)
    return {
        "result": result,
        "labels": _labels(seeds),
        "json": {
            "true": {"a": study.linear_a, "b": study.linear_b},
            "least_squares": {"w": float(ols[0]), "b": float(ols[1])},
            "per_seed": [
                {
                    "seed": sd,
                    "w": float(w[i]),
                    "b": float(b[i]),
                    "train_mse": float(final[i]),
                    "diverged_step": result.diverged_step[i],
                }
                for i, sd in enumerate(seeds)
            ],
        },
        "fits": {},
    }


def train_nonlinear(study: RegressionSettings, device: torch.device) -> dict:
    """Small MLP on standardised x and y (so a user CSV in any units trains the same way)."""
    data = load_torch(prepared_dir() / "nonlinear.pt", device)
    x, y = data["x"], data["y"]
    mx, sx, my, sy = x.mean(), x.std(), y.mean(), y.std()
    seeds = study.seeds
    sizes = [1, *study.nonlinear_hidden, 1]
    model = stack_seeds(lambda: mlp(sizes), seeds).to(device)
    cfg = FitSettings(
        "regression", study.nonlinear_optimizer, study.nonlinear_lr, study.nonlinear_epochs, study.nonlinear_batch_size
    )
    xs, ys = (x - mx) / sx, (y - my) / sy
    result = fit(model, MemberData.shared(xs, ys, len(seeds)), cfg, seeds, desc="nonlinear")
    with torch.no_grad():
        pred = model(xs, shared=True).squeeze(-1) * sy + my  # [S, N] in the data's units
        train_mse = ((pred - y) ** 2).mean(1).cpu()
        grid = torch.linspace(float(x.min()), float(x.max()), GRID_1D, device=device).unsqueeze(1)
        curve = (model((grid - mx) / sx, shared=True).squeeze(-1) * sy + my).cpu()
    variance = float(y.var(unbiased=False))
    return {
        "result": result,
        "labels": _labels(seeds),
        "json": {
            "architecture": "-".join(map(str, sizes)),
            "target_variance": variance,
            # training runs on standardised y: a recorded cost times this is the cost in y's units
            "cost_scale": float(sy) ** 2,
            "per_seed": [
                {
                    "seed": sd,
                    "train_mse": float(train_mse[i]),
                    "train_mse_over_variance": float(train_mse[i]) / variance,
                    "diverged_step": result.diverged_step[i],
                }
                for i, sd in enumerate(seeds)
            ],
        },
        "fits": {"grid": grid.cpu().view(-1), "pred": curve},
    }


def _fit_bell(arch: str, optimizer: str, lr: float, epochs: int, batch_size: int, x, y, test, seeds, device) -> tuple:
    sizes = parse_arch(arch)
    model = stack_seeds(lambda: mlp(sizes), seeds).to(device)
    cfg = FitSettings("regression", optimizer, lr, epochs, batch_size)
    result = fit(model, MemberData.shared(x, y, len(seeds)), cfg, seeds, desc=f"bell {arch} n={len(y)}")
    train_mse = evaluate_members(model, "regression", x, y, shared=True)["loss"].cpu()
    test_mse = evaluate_members(model, "regression", test[0], test[1], shared=True)["loss"].cpu()
    axis = torch.linspace(-5, 5, GRID_2D, device=device)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    with torch.no_grad():
        surface = model(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1), shared=True)
    surface = surface.view(len(seeds), GRID_2D, GRID_2D)
    return model, result, train_mse, test_mse, surface.cpu()


def _cv_bell(arch: str, optimizer: str, lr: float, epochs: int, x, y, folds: int, seeds, device) -> list[dict]:
    """K-fold cross-validation on the small set: what the data alone say about ``arch`` (full batch, as its fit)."""
    sizes = parse_arch(arch)
    data, members = MemberData.folds(x, y, folds, seeds)
    model = stack_seeds(lambda: mlp(sizes), [seed for seed, _ in members]).to(device)
    cfg = FitSettings("regression", optimizer, lr, epochs, 0)
    train_only = MemberData(data.x, data.y)  # the held-out fold is scored once, at the end (no early stopping)
    result = fit(model, train_only, cfg, [seed * 1000 + k for seed, k in members], desc=f"bell {arch} {folds}-fold CV")
    val = evaluate_members(model, "regression", data.x_val, data.y_val)["loss"].cpu()
    return [
        {"arch": arch, "seed": seed, "fold": k, "val_mse": float(val[i]), "diverged_step": result.diverged_step[i]}
        for i, (seed, k) in enumerate(members)
    ]


def train_bell(study: RegressionSettings, device: torch.device) -> dict:
    """Every architecture on the full training set; the smallest and largest also on the small set."""
    data = load_torch(prepared_dir() / "bell.pt", device)
    test = (data["x_test"], data["y_test"])
    seeds = study.seeds
    counts = {a: sum(w.numel() for w in mlp(parse_arch(a)).parameters()) for a in study.bell_archs}
    small_archs = [min(counts, key=counts.get), max(counts, key=counts.get)]
    n_small = min(study.bell_small, len(data["y"]))
    runs = [
        (a, lr, "full", study.bell_epochs, study.bell_batch_size, data["x"], data["y"])
        for a, lr in study.bell_archs.items()
    ]
    runs += [
        (a, study.bell_archs[a], "small", study.bell_small_epochs, 0, data["x"][:n_small], data["y"][:n_small])
        for a in dict.fromkeys(small_archs)
    ]
    per_seed, epochs, surfaces = [], [], {}
    for arch, lr, size, n_epochs, batch, x, y in runs:
        fitted = _fit_bell(arch, study.optimizer, lr, n_epochs, batch, x, y, test, seeds, device)
        model, result, train_mse, test_mse, surface = fitted
        surfaces[f"{arch}/{size}"] = surface
        labels = _labels(seeds, arch=arch, data=size)
        epochs.append(result.epochs_frame(labels)[["arch", "data", "seed", "epoch", "train_loss"]])
        per_seed += [
            {
                "arch": arch,
                "data": size,
                "n_train": len(y),
                "seed": sd,
                "params": counts[arch],
                "lr": lr,
                "epochs": n_epochs,
                "train_mse": float(train_mse[i]),
                "test_mse": float(test_mse[i]),
                "diverged_step": result.diverged_step[i],
            }
            for i, sd in enumerate(seeds)
        ]
    x_small, y_small = data["x"][:n_small], data["y"][:n_small]
    cv = [
        row
        for a in dict.fromkeys(small_archs)
        for row in _cv_bell(
            a,
            study.optimizer,
            study.bell_archs[a],
            study.bell_small_epochs,
            x_small,
            y_small,
            study.bell_small_folds,
            seeds,
            device,
        )
    ]
    return {
        "epochs": pd.concat(epochs, ignore_index=True),
        "json": {
            "small_archs": small_archs,
            "n_small": n_small,
            "cv_folds": study.bell_small_folds,
            "per_seed": per_seed,
            "cv": cv,
        },
        "fits": {"axis": torch.linspace(-5, 5, GRID_2D), "surfaces": surfaces},
    }


TRAINERS = {"linear": train_linear, "nonlinear": train_nonlinear, "bell": train_bell}


def train(part: str, settings: Settings, root: str | Path = "data") -> Path:
    started = time.perf_counter()
    configure(settings.deterministic, settings.num_threads)
    device = resolve_device(settings.device)
    study: RegressionSettings = settings.studies[STUDY]
    out = TRAINERS[part](study, device)
    target = train_dir(part, root)
    with atomic_dir(target) as tmp, recording(tmp, started) as live:
        if "result" in out:
            keys = list(out["labels"].columns)
            epochs = out["result"].epochs_frame(out["labels"])
            log_table(live, "epochs", epochs, keys=keys, step="epoch")
            log_mean(live, "epochs", epochs, by=[k for k in keys if k != "seed"], step="epoch")
            log_table(live, "batches", out["result"].batch_frame(out["labels"]), keys=keys)
        else:
            log_table(live, "epochs", out["epochs"], keys=["arch", "data", "seed"], step="epoch")
            log_mean(live, "epochs", out["epochs"], by=["arch", "data"], step="epoch")
        save_torch(tmp / "fits.pt", out["fits"])
        log_summary(live, {"part": part, **out["json"]})
    return target


def _prepare_step(settings: Settings, item: str | None) -> Path:
    return prepare(settings.studies[STUDY])


def _train_step(settings: Settings, part: str | None) -> Path:
    if part not in PARTS:
        raise ValueError(f"regression part {part!r} unknown; choose from {', '.join(PARTS)}")
    return train(part, settings)


# `annstudy stage regression <step> [part]`
STEPS = {"prepare": _prepare_step, "train": _train_step}
