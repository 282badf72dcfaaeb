"""The S4 lab's Exercise 1 from scratch: one fully connected sigmoid layer, MSE, full-batch GD.

The model, for ``N`` inputs of ``D`` features and ``K`` classes, the bias as an extra input
fixed at 1 (the lab's "input + bias term")::

    xb = [x, 1]               # [N, D + 1]
    z  = xb @ W               # [N, K]   W is [D + 1, K], its last row the biases
    a  = sigmoid(z)           # [N, K]   outputs in (0, 1), one per class
    L  = mean over N and K of (a - Y)^2      Y the one-hot labels [N, K]

Backward pass (chain rule for the whole set at once)::

    dL/da = 2 (a - Y) / (N K)
    dL/dz = dL/da * a (1 - a)  # sigmoid' = a (1 - a)
    dL/dW = xb.T @ dL/dz       # [D + 1, K]

Training is full-batch gradient descent: every step uses every training image and moves
``W`` by ``-lr * dL/dW``. The predicted class is the output closest to 1 (argmax of ``a``).
The dtype of ``W`` (float32 to train, float64 for the gradient check) is that of every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SigmoidRun:
    weights: np.ndarray  # [D + 1, K]
    losses: list[float]  # training MSE before every step, then after the last
    test_acc: float


def with_bias(x: np.ndarray) -> np.ndarray:
    """Flattened inputs with a trailing constant 1: the bias becomes the last row of ``W``."""
    flat = x.reshape(len(x), -1)
    return np.concatenate([flat, np.ones((len(x), 1), dtype=flat.dtype)], axis=1)


def one_hot(y: np.ndarray, classes: int, dtype: type = np.float32) -> np.ndarray:
    out = np.zeros((len(y), classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically safe: exp of a non-positive number only."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def loss_and_grad(weights: np.ndarray, xb: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """MSE of the sigmoid outputs against one-hot targets, and its gradient w.r.t. ``weights``."""
    a = sigmoid(xb @ weights)
    diff = a - targets
    loss = float(np.mean(diff**2))
    dz = (2 / diff.size) * diff * a * (1 - a)
    return loss, xb.T @ dz


def init_weights(features: int, classes: int, seed: int, dtype: type = np.float32) -> np.ndarray:
    """Small uniform weights (PyTorch's Linear default bound, 1 / sqrt(fan_in)), bias row included."""
    bound = 1 / np.sqrt(features)
    rng = np.random.default_rng(seed)
    return rng.uniform(-bound, bound, size=(features + 1, classes)).astype(dtype)


def accuracy(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((with_bias(x) @ weights).argmax(axis=1) == y))


def train(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, lr: float, steps: int, seed: int
) -> SigmoidRun:
    """Full-batch gradient descent for ``steps`` steps; test accuracy of the final weights."""
    xb = with_bias(x.astype(np.float32))
    classes = int(max(y.max(), y_test.max())) + 1
    targets = one_hot(y, classes)
    weights = init_weights(xb.shape[1] - 1, classes, seed)
    losses = []
    for _ in range(steps):
        loss, grad = loss_and_grad(weights, xb, targets)
        losses.append(loss)
        weights -= lr * grad
    losses.append(loss_and_grad(weights, xb, targets)[0])
    return SigmoidRun(weights, losses, accuracy(weights, x_test.astype(np.float32), y_test))


def autograd_difference(weights: np.ndarray, x: np.ndarray, y: np.ndarray, classes: int) -> float:
    """Largest |NumPy gradient - torch autograd gradient| in float64 (the S7-style check)."""
    import torch

    xb = with_bias(x.astype(np.float64))
    targets = one_hot(y, classes, np.float64)
    _, grad = loss_and_grad(weights.astype(np.float64), xb, targets)
    w = torch.tensor(weights, dtype=torch.float64, requires_grad=True)
    out = torch.sigmoid(torch.from_numpy(xb) @ w)
    torch.mean((out - torch.from_numpy(targets)) ** 2).backward()
    return float(np.max(np.abs(grad - w.grad.numpy())))
