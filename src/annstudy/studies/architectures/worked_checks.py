"""Worked checks: the theory questions of the exercises that have a computable answer.

Each answer is computed here with torch (so a reader can check the arithmetic by running it)
and pinned by a test to its hand-computed value (tests/unit/test_worked_checks.py). The epoch
arithmetic uses the run's own numbers, passed in by the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from annstudy.report.document import Figure, Heading, Paragraph, Table
from annstudy.report.figures import save_figure
from annstudy.report.units import plural

HUBER_OUTPUTS = [0.1, 4.4, 0.2, 10.0]
HUBER_TARGETS = [1.0, 4.0, 5.0, 8.0]
# Two 3-class predictions (probabilities) and their true classes. studies.md does not give the
# exercise's own numbers, so these are ours, stated in the report.
CE_PROBS = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]
CE_TARGETS = [0, 1]


@dataclass
class Check:
    question: str
    answer: str
    value: float | list[int]


def conv_output_shape() -> list[int]:
    """A 3x2 convolution with 5 filters on one 30x40 image, valid padding, stride 1."""
    conv = nn.Conv2d(1, 5, kernel_size=(3, 2))
    with torch.no_grad():
        return list(conv(torch.zeros(1, 1, 30, 40)).shape[1:])


def huber_loss() -> float:
    """Huber loss (delta 1, mean) of the exercise's outputs against its targets."""
    return F.huber_loss(torch.tensor(HUBER_OUTPUTS), torch.tensor(HUBER_TARGETS), delta=1.0).item()


def mean_cross_entropy() -> float:
    """Average cross-entropy (natural log) of :data:`CE_PROBS` for :data:`CE_TARGETS`."""
    return F.nll_loss(torch.tensor(CE_PROBS).log(), torch.tensor(CE_TARGETS)).item()


def iterations(n: int, batch: int, epochs: int) -> tuple[int, int]:
    """Batches per epoch (the last one partial) and SGD iterations over ``epochs``."""
    per_epoch = -(-n // batch)
    return per_epoch, per_epoch * epochs


def checks(n: int, batch: int, epochs: int) -> list[Check]:
    per_epoch, total = iterations(n, batch, epochs)
    shape = conv_output_shape()
    return [
        Check(
            "Output of a 3x2 convolution with 5 filters on a 30x40 image (valid, stride 1)?",
            f"{shape[0]} maps of {shape[1]}x{shape[2]} (30 − 3 + 1 = 28 rows, 40 − 2 + 1 = 39 columns)",
            shape,
        ),
        Check(
            f"Huber loss (δ 1, mean) of outputs {HUBER_OUTPUTS} against targets {HUBER_TARGETS}?",
            f"{huber_loss():.5f} (0.405 + 0.08 + 4.3 + 1.5, over 4)",
            huber_loss(),
        ),
        Check(
            f"Average cross-entropy of predictions {CE_PROBS} for true classes {CE_TARGETS}?",
            f"{mean_cross_entropy():.5f} (−(ln 0.7 + ln 0.3) / 2)",
            mean_cross_entropy(),
        ),
        Check(
            f"Batches per epoch and SGD iterations for N = {n:,}, batch {batch}, {plural(epochs, 'epoch')} (S1's run)?",
            f"{per_epoch:,} per epoch (⌈N / B⌉), {total:,} in all",
            [per_epoch, total],
        ),
    ]


def activations_figure(path: Path) -> Path:
    """ReLU and tanh on [-5, 5], the curves the exercise asks to plot."""
    x = torch.linspace(-5, 5, 201)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(x, torch.relu(x), label="ReLU")
    ax.plot(x, torch.tanh(x), label="tanh", linestyle="--")
    ax.axhline(0, color="0.7", linewidth=0.8)
    ax.set(xlabel="x", ylabel="activation", title="ReLU and tanh on [−5, 5]")
    ax.legend()
    return save_figure(fig, path)


def section(n: int, batch: int, epochs: int, out: Path) -> tuple[list, dict]:
    """The report's worked-checks blocks and their metrics."""
    found = checks(n, batch, epochs)
    path = activations_figure(out / "figures" / "worked_activations.png")
    blocks = [
        Heading("Worked checks", level=3),
        Paragraph("Theory questions of the exercises with a computable answer, computed with torch."),
        Table(["question", "answer"], [[c.question, c.answer] for c in found]),
        Figure(path.relative_to(out), "ReLU (solid) and tanh (dashed) on [−5, 5]."),
    ]
    names = ["conv_output_shape", "huber_loss", "mean_cross_entropy", "batches_and_iterations"]
    metrics = {name: (round(c.value, 6) if isinstance(c.value, float) else c.value) for name, c in zip(names, found)}
    return blocks, metrics
