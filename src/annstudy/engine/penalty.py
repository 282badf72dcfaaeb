"""Weight penalties added to the loss (L1, L2), one value per seed of a stacked model.

The penalty is part of the objective (``loss_s + lambda * sum |w|`` or ``... * sum w^2``),
not the optimizer's ``weight_decay``: for L1 there is no decoupled form, and with Adam
an L2 term in the loss differs from decoupled decay. Summing each seed's own weights
keeps every seed's gradient exactly that of the copy trained alone. Every parameter is
penalised, biases (and BatchNorm's scale and shift) included, as the lab states it
("lambda 1e-3 on all parameters"); many libraries spare the biases, the exercise does not.
"""

from __future__ import annotations

import torch

from annstudy.engine.loop import Penalty
from annstudy.models.stacked import StackedNet

NORMS = {"l1": torch.abs, "l2": torch.square}


def weight_penalty(kind: str, lam: float) -> Penalty | None:
    """``model -> [S]`` penalty for ``kind`` in l1/l2; ``None`` for ``none``."""
    if kind == "none":
        return None
    if kind not in NORMS:
        raise ValueError(f"unknown penalty {kind!r}; choose from none, {', '.join(NORMS)}")
    norm = NORMS[kind]

    def penalty(model: StackedNet) -> torch.Tensor:
        total = torch.zeros(model.seeds, device=next(model.parameters()).device)
        for param in model.parameters():  # every stacked parameter is seed-major: row s is seed s's
            total = total + norm(param).reshape(model.seeds, -1).sum(1)
        return lam * total

    return penalty
