"""How much arithmetic a training step is: the numerator of every achieved-FLOP/s figure.

Counted on the plain model, never the stacked one: :class:`FlopCounterMode` counts a grouped
convolution's weight gradient as if every group saw every input channel, S times too much.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from annstudy.models.zoo import build_model


def training_flops_per_sample(
    arch: str, image_shape: tuple[int, ...], device: torch.device, num_classes: int = 10
) -> float:
    """FLOPs of one training step (forward + backward) per sample, counted by PyTorch.

    Counted on a batch of 50 by :class:`torch.utils.flop_counter.FlopCounterMode`
    (matrix products and convolutions, 2 FLOPs per multiply-add); elementwise work is
    left out, so the achieved FLOP/s derived from it is a lower bound. The global RNG is
    left as it was: a stage may count before it trains.
    """
    with torch.random.fork_rng(devices=[]):
        model = build_model(arch, image_shape, num_classes).to(device)
        x = torch.randn(50, *image_shape).to(device)
    y = torch.zeros(50, dtype=torch.long, device=device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / 50


def evaluation_flops_per_sample(
    arch: str, image_shape: tuple[int, ...], device: torch.device, num_classes: int = 10
) -> float:
    """FLOPs of one forward pass in eval mode per sample (what evaluation does), counted as above."""
    with torch.random.fork_rng(devices=[]):
        model = build_model(arch, image_shape, num_classes).to(device).eval()
        x = torch.randn(50, *image_shape).to(device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() / 50
