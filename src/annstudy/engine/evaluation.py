"""Batched evaluation in eval mode: loss, accuracy and predictions over a whole split.

:func:`evaluate` is one plain model; :func:`evaluate_stacked` and :func:`stacked_accuracy` are
every member of a :class:`~annstudy.models.stacked.StackedNet` in one grouped pass (the
evaluate stage, and the training loop's log-step and epoch-end metrics).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from annstudy.models.stacked import StackedNet


@dataclass
class Evaluation:
    loss: float
    acc: float
    preds: torch.Tensor  # [N] int64, on the CPU


def per_seed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every sample of every seed: logits [S, B, K], targets [S, B] -> [S, B]."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(targets.shape)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> Evaluation:
    """Mean cross-entropy, accuracy and predicted labels; restores the model's train/eval mode.

    Batching only bounds memory: the per-sample results do not depend on ``batch_size``
    in eval mode, so the numbers are the same for every batch size up to float rounding.
    """
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
    preds = []
    for start in range(0, len(y), batch_size):
        logits = model(x[start : start + batch_size])
        target = y[start : start + batch_size]
        loss_sum += F.cross_entropy(logits, target, reduction="sum").double()
        preds.append(logits.argmax(dim=1))
    model.train(was_training)
    pred = torch.cat(preds)
    acc = (pred == y).double().mean().item()
    return Evaluation(loss=loss_sum.item() / len(y), acc=acc, preds=pred.cpu())


def fixed_subset(n: int, size: int) -> torch.Tensor:
    """``size`` evenly spaced indices of ``range(n)`` (all of them when size is 0 or >= n).

    Intermediate validation on a fixed subset keeps frequent logging cheap while every
    log step still sees the same images, so the curve is comparable along training.
    """
    if size <= 0 or size >= n:
        return torch.arange(n)
    return torch.linspace(0, n - 1, size).round().long()


# Activations one evaluation batch may hold on a CPU (its largest layer output, all seeds): a
# batch that fits in the caches runs faster than one that streams through memory (`annstudy
# bench --eval`: cnn_bn4, 3 seeds, 5,683 images/s per seed at batch 250 against 3,582 at 2,000).
CPU_ACTIVATION_BYTES = 192 * 2**20


@torch.no_grad()
def stacked_eval_batch(model: StackedNet, x: torch.Tensor, requested: int) -> int:
    """Images per evaluation batch: ``requested``, capped on a CPU so that the largest layer
    output of all seeds stays within :data:`CPU_ACTIVATION_BYTES` (on a GPU, as requested:
    there the launches, not the memory traffic, bound a small network)."""
    if x.device.type != "cpu" or len(x) == 0:
        return requested
    known = model.__dict__.setdefault("_eval_batches", {})  # one probe per model and input shape
    key = (requested, tuple(x.shape[1:]))
    if key not in known:
        known[key] = max(1, min(requested, CPU_ACTIVATION_BYTES // max(_largest_output(model, x[:1]), 1)))
    return known[key]


def _largest_output(model: StackedNet, one: torch.Tensor) -> int:
    """Bytes of the largest layer output of ``model`` (all seeds) for one input image."""
    largest = 0

    def measure(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal largest
        largest = max(largest, output.numel() * output.element_size())

    hooks = [layer.register_forward_hook(measure) for layer in model.layers]
    was_training = model.training
    model.eval()
    try:
        model(one, shared=True)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return largest


@torch.no_grad()
def evaluate_stacked(
    model: StackedNet, x: torch.Tensor, y: torch.Tensor, batch_size: int, fit_caches: bool = True
) -> list[Evaluation]:
    """:func:`evaluate` for every copy of a :class:`StackedNet` at once (one shared batch).

    One grouped forward for all seeds instead of one plain model per seed: the evaluation
    stage's work at the training loop's speed (channels-last when the model uses it).
    ``batch_size`` counts images (the activations held are ``seeds`` times that), at most
    :func:`stacked_eval_batch`'s unless ``fit_caches`` is off (the benchmark's batch sweep): the
    numbers are the same up to float rounding.
    """
    if fit_caches:
        batch_size = stacked_eval_batch(model, x, batch_size)
    was_training = model.training
    model.eval()
    seeds = model.seeds
    loss_sum = torch.zeros(seeds, dtype=torch.float64, device=x.device)
    preds = []
    for start in range(0, len(y), batch_size):
        logits = model(x[start : start + batch_size], shared=True)  # [S, B, C]
        target = y[start : start + batch_size]
        loss_sum += per_seed_cross_entropy(logits, target.expand(seeds, -1)).sum(1).double()
        preds.append(logits.argmax(dim=2))
    model.train(was_training)
    pred = torch.cat(preds, dim=1)
    acc = (pred == y).double().mean(dim=1)
    return [Evaluation(loss=loss_sum[s].item() / len(y), acc=acc[s].item(), preds=pred[s].cpu()) for s in range(seeds)]


@torch.no_grad()
def stacked_accuracy(
    model: StackedNet, x: torch.Tensor, y: torch.Tensor, batch_size: int, with_loss: bool = False
) -> dict[str, torch.Tensor]:
    """Per-member ``val_acc`` (and ``val_loss``) [S] of a stacked model on one shared split, in eval mode:
    tensors on the device, so the training loop reads them back only when it writes its rows."""
    batch_size = stacked_eval_batch(model, x, batch_size)
    was_training = model.training
    model.eval()
    S = model.seeds
    correct = torch.zeros(S, dtype=torch.long, device=x.device)
    loss_sum = torch.zeros(S, dtype=torch.float64, device=x.device)
    for start in range(0, len(y), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        logits = model(xb, shared=True)  # [S, B, K]
        correct += (logits.argmax(2) == yb).sum(1)
        if with_loss:
            loss_sum += per_seed_cross_entropy(logits, yb.expand(S, -1)).sum(1).double()
    model.train(was_training)
    acc = correct.double() / len(y)
    return {"val_loss": loss_sum / len(y), "val_acc": acc} if with_loss else {"val_acc": acc}
