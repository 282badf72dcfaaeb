"""The small networks of S5/S6, built from sizes given in params.yaml.

``mlp([2, 300, 100, 20, 1])`` is the S5 "2-300-100-20-1" (ReLU hidden, linear output);
:func:`mnist1d_cnn` follows the CNN of the MNIST-1D paper (Greydanus 2020): three
Conv1d layers (kernel 5, 3, 3; stride 2; padding 1; ReLU) and a linear head.
"""

from __future__ import annotations

import re
from typing import Sequence

from torch import nn

ARCH_PATTERN = re.compile(r"^\d+(-\d+)+$")


def parse_arch(name: str) -> list[int]:
    """``"2-50-1"`` -> ``[2, 50, 1]`` (layer widths, input to output)."""
    if not ARCH_PATTERN.match(name):
        raise ValueError(f"architecture {name!r} must look like 2-50-1 (layer widths joined by '-')")
    return [int(n) for n in name.split("-")]


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Fully connected ReLU network; the last layer is linear (regression output or logits)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def conv1d_out(length: int, kernel: int, stride: int = 2, padding: int = 1) -> int:
    return (length + 2 * padding - kernel) // stride + 1


def mnist1d_cnn(length: int, classes: int, channels: int) -> nn.Sequential:
    """The MNIST-1D paper's ConvBase: input ``[B, length]`` -> logits ``[B, classes]``."""
    out = conv1d_out(conv1d_out(conv1d_out(length, 5), 3), 3)
    return nn.Sequential(
        nn.Unflatten(1, (1, length)),
        nn.Conv1d(1, channels, 5, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(channels * out, classes),
    )
