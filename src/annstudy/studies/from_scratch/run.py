"""S7 from_scratch: the NumPy MLP and conv2d of :mod:`annstudy.scratch`, checked against PyTorch.

Stage outputs:

``data/from_scratch/mlp/``
    ``live/``        the record (annstudy.store.records): table ``curves`` per impl (numpy | torch),
                     seed and step: epoch, train_loss, train_acc, val_loss, val_acc, and
                     ``curves_mean`` per impl; summary per (impl, seed): test loss/accuracy,
                     train time, divergence; NumPy-vs-torch prediction agreement; the float64
                     gradient check; settings and wall time
``data/from_scratch/conv2d/``
    ``live/``        the record; summary: max |NumPy - F.conv2d| on the kernel bank and on
                     random multi-channel cases
    ``images.npy`` [n, H, W], ``kernels.npy`` [O, 3, 3], ``maps.npy`` [n, O, H-2, W-2]: the
                     feature maps of the report's figure (float32)

The PyTorch twin of the MLP has the same shape, the same initial weights (copied from the
NumPy initialisation), the same learning rate and the very same batches in the same order
(drawn from the same NumPy generator), so the two curves differ only by float rounding.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from annstudy.data.prepared import PreparedDataset, load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.engine.device import configure, describe, resolve_device
from annstudy.engine.optim import make_optimizer
from annstudy.params.root import Settings
from annstudy.scratch import mlp
from annstudy.scratch.conv2d import conv2d, kernel_bank
from annstudy.store.artifacts import atomic_dir
from annstudy.store.records import log_mean, log_summary, log_table, recording
from annstudy.studies.from_scratch.config import FromScratchSettings

STUDY = "from_scratch"
CURVE_COLUMNS = ["impl", "seed", "step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc"]
# Random conv2d checks beyond the kernel bank: (N, C, H, W, O, kh, kw), incl. C > 1 and non-square kernels.
RANDOM_CONV_CASES = ((2, 1, 9, 9, 3, 3, 3), (3, 4, 11, 9, 5, 3, 2), (2, 3, 8, 12, 2, 1, 5), (1, 2, 7, 7, 4, 7, 7))


def mlp_dir(root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "mlp"


def conv2d_dir(root: str | Path = "data") -> Path:
    return Path(root) / STUDY / "conv2d"


def _flat(split) -> tuple[np.ndarray, np.ndarray]:
    """A prepared split as NumPy: images flattened to [N, C*H*W] float32, labels [N] int64."""
    return split.x.flatten(1).cpu().numpy(), split.y.cpu().numpy()


def _start(
    study: FromScratchSettings, inputs: int, classes: int, seed: int
) -> tuple[mlp.MLPParams, np.random.Generator]:
    """Initial weights and the batch-order generator of one seed (shared by both implementations)."""
    rng = np.random.default_rng(seed)
    return mlp.init_params(inputs, study.hidden, classes, rng, np.float32), rng


# ------------------------------------------------------------------ the PyTorch twin


def torch_mlp(params: mlp.MLPParams) -> nn.Sequential:
    """``Linear -> ReLU -> Linear`` holding a copy of ``params`` (nn.Linear stores W transposed)."""
    d, h = params.W1.shape
    k = params.W2.shape[1]
    model = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k))
    with torch.no_grad():
        for layer, w, b in ((model[0], params.W1, params.b1), (model[2], params.W2, params.b2)):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    return model


@torch.no_grad()
def _torch_eval(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    logits = model(x)
    pred = logits.argmax(1)
    return F.cross_entropy(logits, y).item(), (pred == y).double().mean().item(), pred


def train_torch(
    model: nn.Module,
    data: dict[str, tuple[torch.Tensor, torch.Tensor]],
    study: FromScratchSettings,
    rng: np.random.Generator,
) -> mlp.History:
    """The loop of :func:`annstudy.scratch.mlp.train` with autograd and ``torch.optim.SGD``.

    Batches come from :func:`mlp.epoch_batches` on ``rng``, so the order is the NumPy one.
    Sums stay on the device between log steps (one host sync per log row), so a divergence
    is noticed, and recorded, at the first log step whose mean loss is not finite.
    """
    (x, y), val = data["train"], data["val"]
    device = x.device
    optimizer = make_optimizer("sgd", model.parameters(), study.lr, 0.0)
    n = len(y)
    per_epoch = -(-n // study.batch_size)
    rows: list[mlp.LogRow] = []
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    seen = step = 0
    for _ in range(study.epochs):
        for idx in mlp.epoch_batches(n, study.batch_size, rng):
            idx_t = torch.from_numpy(idx).to(device)
            xb, yb = x[idx_t], y[idx_t]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += loss.detach().double() * len(yb)
            correct += (logits.detach().argmax(1) == yb).sum()
            seen += len(yb)
            if step % study.log_every == 0 or step == study.epochs * per_epoch:
                train_loss = loss_sum.item() / seen
                if not np.isfinite(train_loss):
                    return mlp.History(rows, diverged_step=step)
                val_loss, val_acc, _ = _torch_eval(model, *val)
                rows.append(
                    mlp.LogRow(step, round(step / per_epoch, 4), train_loss, correct.item() / seen, val_loss, val_acc)
                )
                loss_sum.zero_(), correct.zero_()
                seen = 0
    return mlp.History(rows)


# ------------------------------------------------------------------ gradient check


def torch_grads(params: mlp.MLPParams, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Autograd gradients of the mean cross-entropy, in the NumPy layout (``x @ W``)."""
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in params.arrays().items()}
    hidden = torch.relu(torch.from_numpy(x) @ leaves["W1"] + leaves["b1"])
    loss = F.cross_entropy(hidden @ leaves["W2"] + leaves["b2"], torch.from_numpy(y))
    loss.backward()
    return {k: t.grad.numpy() for k, t in leaves.items()}


def gradient_check(params: mlp.MLPParams, x: np.ndarray, y: np.ndarray) -> dict:
    """NumPy backward vs torch autograd in float64 on the same weights and batch."""
    p64, x64 = params.astype(np.float64), x.astype(np.float64)
    _, ours = mlp.loss_and_grads(p64, x64, y)
    theirs = torch_grads(p64, x64, y)
    per_param = {
        name: {"max_abs_diff": float(np.abs(g - theirs[name]).max()), "max_abs_grad": float(np.abs(g).max())}
        for name, g in ours.arrays().items()
    }
    return {"max_abs_diff": max(p["max_abs_diff"] for p in per_param.values()), "params": per_param}


# ------------------------------------------------------------------ stage: mlp


def _load(study: FromScratchSettings, device: torch.device) -> PreparedDataset:
    return load_prepared(prepared_dir(study.dataset), device)


def _seed_rows(impl: str, seed: int, history: mlp.History) -> list[dict]:
    return [{"impl": impl, "seed": seed, **vars(row)} for row in history.rows]


def train_mlps(settings: Settings, root: str | Path = "data") -> Path:
    """Both MLPs for every seed, their test accuracies, and the gradient check; write ``mlp_dir``."""
    started = time.perf_counter()
    study = settings.studies["from_scratch"]
    configure(settings.deterministic, settings.num_threads)
    device = resolve_device(settings.device)
    data = _load(study, device)
    limit = len(data.train) if study.train_limit <= 0 else min(study.train_limit, len(data.train))
    x_tr, y_tr = _flat(data.train)
    x_tr, y_tr = x_tr[:limit], y_tr[:limit]
    (x_val, y_val), (x_te, y_te) = _flat(data.val), _flat(data.test)
    splits = {"train": (x_tr, y_tr), "val": (x_val, y_val), "test": (x_te, y_te)}
    on_device = {
        name: (torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)) for name, (x, y) in splits.items()
    }
    inputs, classes = x_tr.shape[1], len(data.classes)
    x_check, y_check = x_tr[: study.grad_check_batch], y_tr[: study.grad_check_batch]

    curves, per_run, agreement = [], [], []
    checks = {}
    for seed in tqdm(study.seeds, desc="from_scratch mlp", unit="seed"):
        params, rng = _start(study, inputs, classes, seed)
        initial = params.copy()
        t0 = time.perf_counter()
        history = mlp.train(
            params,
            x_tr,
            y_tr,
            lr=study.lr,
            batch_size=study.batch_size,
            epochs=study.epochs,
            rng=rng,
            val=(x_val, y_val),
            log_every=study.log_every,
        )
        np_seconds = time.perf_counter() - t0
        test_loss, test_acc = mlp.evaluate(params, x_te, y_te)
        np_pred = mlp.predict(params, x_te)

        twin_init, twin_rng = _start(study, inputs, classes, seed)
        model = torch_mlp(twin_init).to(device)
        t0 = time.perf_counter()
        twin = train_torch(model, on_device, study, twin_rng)
        torch_seconds = time.perf_counter() - t0
        t_loss, t_acc, t_pred = _torch_eval(model, *on_device["test"])

        curves += _seed_rows("numpy", seed, history) + _seed_rows("torch", seed, twin)
        for impl, hist, loss, acc, secs in (
            ("numpy", history, test_loss, test_acc, np_seconds),
            ("torch", twin, t_loss, t_acc, torch_seconds),
        ):
            per_run.append(
                {
                    "impl": impl,
                    "seed": seed,
                    "test_loss": loss if np.isfinite(loss) else None,
                    "test_acc": acc,
                    "train_seconds": round(secs, 3),
                    "diverged": hist.diverged_step is not None,
                    "diverged_step": hist.diverged_step,
                }
            )
        agreement.append({"seed": seed, "test_pred_agreement": float((np_pred == t_pred.cpu().numpy()).mean())})
        print(f"from_scratch mlp: seed {seed} test acc numpy {test_acc:.4f} torch {t_acc:.4f}", flush=True)
        if seed == study.seeds[0]:
            checks["initial"] = gradient_check(initial, x_check, y_check)
            if all(np.isfinite(v).all() for v in params.arrays().values()):  # not after a divergence
                checks["trained"] = gradient_check(params, x_check, y_check)

    out = mlp_dir(root)
    with atomic_dir(out) as tmp, recording(tmp, started) as live:
        table = pd.DataFrame(curves, columns=CURVE_COLUMNS)
        log_table(live, "curves", table, keys=["impl", "seed"])
        log_mean(live, "curves", table, by=["impl"])
        log_summary(
            live,
            {
                "study": STUDY,
                "dataset": study.dataset,
                "train_images": limit,
                "device": describe(device),
                "runs": per_run,
                "agreement": agreement,
                "grad_check": {
                    "dtype": "float64",
                    "batch": len(y_check),
                    "seed": study.seeds[0],
                    "max_abs_diff": max(c["max_abs_diff"] for c in checks.values()),
                    **checks,
                },
            },
        )
    return out


# ------------------------------------------------------------------ stage: conv2d


def shown_images(y: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` images: the first of each class in class order, then the next ones in order."""
    firsts = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
    rest = [i for i in range(len(y)) if i not in set(firsts)][: max(0, n - len(firsts))]
    return np.array((firsts + rest)[:n])


def _max_diff(x: np.ndarray, w: np.ndarray) -> float:
    theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    return float(np.abs(conv2d(x, w) - theirs).max())


def check_conv2d(settings: Settings, root: str | Path = "data") -> Path:
    """NumPy conv2d vs ``F.conv2d`` (float32) and the feature maps of the kernel bank; write ``conv2d_dir``."""
    started = time.perf_counter()
    study = settings.studies["from_scratch"]
    configure(settings.deterministic, settings.num_threads)
    data = _load(study, torch.device("cpu"))
    idx = shown_images(data.test.y.numpy(), study.images_shown)
    images = data.test.x[idx].numpy()  # [n, 1, H, W]
    kernels = kernel_bank(study.kernels)  # [O, 1, 3, 3]
    maps = conv2d(images, kernels)  # [n, O, H-2, W-2]

    rng = np.random.default_rng(study.seeds[0])
    cases = []
    for n, c, h, w, o, kh, kw in RANDOM_CONV_CASES:
        x = rng.standard_normal((n, c, h, w), dtype=np.float32)
        k = rng.standard_normal((o, c, kh, kw), dtype=np.float32)
        cases.append({"x": [n, c, h, w], "w": [o, c, kh, kw], "max_abs_diff": _max_diff(x, k)})
    bank = {"x": list(images.shape), "w": list(kernels.shape), "max_abs_diff": _max_diff(images, kernels)}

    out = conv2d_dir(root)
    with atomic_dir(out) as tmp, recording(tmp, started) as live:
        np.save(tmp / "images.npy", images[:, 0])
        np.save(tmp / "kernels.npy", kernels[:, 0])
        np.save(tmp / "maps.npy", maps)
        log_summary(
            live,
            {
                "dtype": "float32",
                "kernels": list(study.kernels),
                "test_indices": idx.tolist(),
                "labels": [data.classes[int(data.test.y[i])] for i in idx],
                "kernel_bank": bank,
                "random_cases": cases,
                "max_abs_diff": max([bank["max_abs_diff"], *(c["max_abs_diff"] for c in cases)]),
            },
        )
    return out


# `annstudy stage from_scratch <step>` (annstudy/pipeline/stage.py)
STEPS = {"mlp": lambda settings, item: train_mlps(settings), "conv2d": lambda settings, item: check_conv2d(settings)}
