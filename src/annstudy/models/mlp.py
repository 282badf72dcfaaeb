"""A configurable MLP (S4): any hidden widths, optional BatchNorm and Dropout per hidden layer.

Layer order per hidden layer: Linear -> BatchNorm1d (optional) -> ReLU -> Dropout (optional),
the usual placement (normalise pre-activation, drop post-activation). The head is a bare
Linear: the loss is cross-entropy on logits. Built as one ``nn.Sequential`` so
:mod:`annstudy.models.stacked` can stack the seeds of a configuration.
"""

from __future__ import annotations

import math

from torch import nn

from annstudy.models.dropout import Dropout
from annstudy.models.zoo import Shape


def build_mlp(
    input_shape: Shape, num_classes: int, hidden: tuple[int, ...], dropout: float = 0.0, batchnorm: bool = False
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(input_shape)
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batchnorm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
