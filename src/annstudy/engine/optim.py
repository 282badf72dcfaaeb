"""Optimizer names usable in params.yaml -> constructors (add one here)."""

from __future__ import annotations

from typing import Callable, Iterable

import torch

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter], float, float], torch.optim.Optimizer]

# name -> factory(params, lr, momentum). Framework defaults otherwise: no weight decay, except
# AdamW, whose decoupled weight decay (torch's default 0.01) is what sets it apart from Adam.
OPTIMIZERS: dict[str, OptimizerFactory] = {
    "adam": lambda p, lr, m: torch.optim.Adam(p, lr=lr),
    "adamw": lambda p, lr, m: torch.optim.AdamW(p, lr=lr, weight_decay=0.01),
    "sgd": lambda p, lr, m: torch.optim.SGD(p, lr=lr, momentum=m),
    "rmsprop": lambda p, lr, m: torch.optim.RMSprop(p, lr=lr, momentum=m),
    "adagrad": lambda p, lr, m: torch.optim.Adagrad(p, lr=lr),
    "adadelta": lambda p, lr, m: torch.optim.Adadelta(p, lr=lr),  # lr scales the step (torch default 1.0)
}


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float, momentum: float = 0.0):
    if name not in OPTIMIZERS:
        raise KeyError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr, momentum)
