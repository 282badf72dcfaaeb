"""A multilayer perceptron from scratch: one hidden ReLU layer, softmax, cross-entropy.

The model, for a batch of ``B`` inputs of ``D`` features and ``K`` classes::

    z1 = x @ W1 + b1          # [B, H]  hidden pre-activations
    a1 = relu(z1)             # [B, H]  hidden activations
    z2 = a1 @ W2 + b2         # [B, K]  logits
    p  = softmax(z2)          # [B, K]  class probabilities (rows sum to 1)
    L  = -mean_i log p[i, y_i]          cross-entropy of the true classes

Backward pass (chain rule, written for the whole batch at once; ``Y`` is one-hot [B, K])::

    dL/dz2 = (p - Y) / B      # [B, K]  softmax + cross-entropy collapse to this
    dL/dW2 = a1.T @ dL/dz2    # [H, K]
    dL/db2 = sum_i dL/dz2     # [K]
    dL/da1 = dL/dz2 @ W2.T    # [B, H]
    dL/dz1 = dL/da1 * (z1 > 0)          ReLU passes the gradient where it was active
    dL/dW1 = x.T @ dL/dz1     # [D, H]
    dL/db1 = sum_i dL/dz1     # [H]

Training is plain mini-batch gradient descent: every epoch visits the training set in a
fresh random order, batch by batch, and moves every parameter by ``-lr * gradient``.
Everything is vectorized over the batch (matrix products), never a loop over samples.
The dtype of the parameters (float32 for speed, float64 for gradient checks) is the
dtype of every computation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

import numpy as np


@dataclass
class MLPParams:
    """The weights of the network (``x @ W`` convention: rows are inputs, columns outputs)."""

    W1: np.ndarray  # [D, H]
    b1: np.ndarray  # [H]
    W2: np.ndarray  # [H, K]
    b2: np.ndarray  # [K]

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def astype(self, dtype: np.dtype | type) -> MLPParams:
        return MLPParams(**{k: v.astype(dtype) for k, v in self.arrays().items()})

    def copy(self) -> MLPParams:
        return MLPParams(**{k: v.copy() for k, v in self.arrays().items()})


@dataclass
class Cache:
    """What the backward pass needs from the forward pass."""

    x: np.ndarray  # [B, D]
    z1: np.ndarray  # [B, H]
    a1: np.ndarray  # [B, H]
    probs: np.ndarray  # [B, K]


@dataclass
class LogRow:
    """One point of the training curve."""

    step: int  # mini-batches done
    epoch: float  # step / steps per epoch
    train_loss: float  # mean over the batches since the previous row (weights changing)
    train_acc: float
    val_loss: float  # on the whole validation set, at this step's weights
    val_acc: float


@dataclass
class History:
    """What :func:`train` produced: the curve and, if the loss blew up, where."""

    rows: list[LogRow]
    diverged_step: int | None = None  # first step whose loss was not finite


def init_params(
    inputs: int, hidden: int, classes: int, rng: np.random.Generator, dtype: type = np.float32
) -> MLPParams:
    """Weights ``0.01 * N(0, 1)``, biases zero (the exercise's initialisation).

    Small random weights break the symmetry between hidden units (identical units would
    get identical gradients forever) while keeping the first logits near zero, so the
    first predictions are close to uniform and the first loss is close to ``log K``.
    """
    W1 = 0.01 * rng.standard_normal((inputs, hidden))
    W2 = 0.01 * rng.standard_normal((hidden, classes))
    return MLPParams(W1=W1.astype(dtype), b1=np.zeros(hidden, dtype), W2=W2.astype(dtype), b2=np.zeros(classes, dtype))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax; subtracting the row maximum first avoids overflow in ``exp``."""
    shifted = logits - logits.max(axis=1, keepdims=True)  # [B, K], max 0 per row
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def forward(params: MLPParams, x: np.ndarray) -> Cache:
    """The forward pass of a batch ``x`` [B, D]; returns every intermediate for backward."""
    z1 = x @ params.W1 + params.b1  # [B, H]
    a1 = np.maximum(z1, 0)  # [B, H]
    z2 = a1 @ params.W2 + params.b2  # [B, K]
    return Cache(x=x, z1=z1, a1=a1, probs=softmax(z2))


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean of ``-log p[i, y_i]``; the tiny floor keeps ``log 0`` finite."""
    picked = probs[np.arange(len(y)), y]  # [B]
    return float(-np.log(np.maximum(picked, np.finfo(probs.dtype).tiny)).mean())


def backward(params: MLPParams, cache: Cache, y: np.ndarray) -> MLPParams:
    """Gradients of the mean cross-entropy w.r.t. every parameter (same shapes as ``params``)."""
    B = len(y)
    dz2 = cache.probs.copy()  # [B, K]
    dz2[np.arange(B), y] -= 1  # p - Y without building the one-hot matrix
    dz2 /= B
    dW2 = cache.a1.T @ dz2  # [H, K]
    db2 = dz2.sum(axis=0)  # [K]
    da1 = dz2 @ params.W2.T  # [B, H]
    dz1 = da1 * (cache.z1 > 0)  # [B, H]
    dW1 = cache.x.T @ dz1  # [D, H]
    db1 = dz1.sum(axis=0)  # [H]
    return MLPParams(W1=dW1, b1=db1, W2=dW2, b2=db2)


def loss_and_grads(params: MLPParams, x: np.ndarray, y: np.ndarray) -> tuple[float, MLPParams]:
    """Loss of one batch and its gradients: what one training step needs."""
    cache = forward(params, x)
    return cross_entropy(cache.probs, y), backward(params, cache, y)


def sgd_step(params: MLPParams, grads: MLPParams, lr: float) -> None:
    """``theta <- theta - lr * dL/dtheta`` for every parameter, in place."""
    for name, value in params.arrays().items():
        value -= lr * getattr(grads, name)


def predict(params: MLPParams, x: np.ndarray) -> np.ndarray:
    """Most probable class of every row of ``x`` [N, D] -> [N] (softmax keeps the argmax)."""
    return forward(params, x).probs.argmax(axis=1)


def accuracy(params: MLPParams, x: np.ndarray, y: np.ndarray) -> float:
    return float((predict(params, x) == y).mean())


def evaluate(params: MLPParams, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on a whole split."""
    probs = forward(params, x).probs
    return cross_entropy(probs, y), float((probs.argmax(axis=1) == y).mean())


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's mini-batches: a random permutation of ``range(n)`` cut into slices.

    The last batch may be smaller, so every sample is seen exactly once per epoch.
    """
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def train(
    params: MLPParams,
    x: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    batch_size: int,
    epochs: int,
    rng: np.random.Generator,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    log_every: int = 100,
    on_log: Callable[[LogRow], None] | None = None,
) -> History:
    """Mini-batch gradient descent on ``(x [N, D], y [N])``; updates ``params`` in place.

    Every ``log_every`` steps (and after the last) a :class:`LogRow` records the mean
    training loss/accuracy of the batches since the previous row and, when ``val`` is
    given, the loss/accuracy on the whole validation set. Training stops at the first
    non-finite loss (divergence is a result, not an error): ``diverged_step`` says where.
    """
    n = len(y)
    per_epoch = -(-n // batch_size)
    rows: list[LogRow] = []
    loss_sum = correct = seen = step = 0
    for _ in range(epochs):
        for idx in epoch_batches(n, batch_size, rng):
            xb, yb = x[idx], y[idx]
            cache = forward(params, xb)
            loss = cross_entropy(cache.probs, yb)
            if not np.isfinite(loss):
                return History(rows, diverged_step=step + 1)
            sgd_step(params, backward(params, cache, yb), lr)
            step += 1
            loss_sum += loss * len(yb)
            correct += int((cache.probs.argmax(axis=1) == yb).sum())
            seen += len(yb)
            if step % log_every == 0 or step == epochs * per_epoch:
                val_loss, val_acc = evaluate(params, *val) if val is not None else (float("nan"),) * 2
                row = LogRow(step, round(step / per_epoch, 4), loss_sum / seen, correct / seen, val_loss, val_acc)
                rows.append(row)
                if on_log is not None:
                    on_log(row)
                loss_sum = correct = seen = 0
    return History(rows)
