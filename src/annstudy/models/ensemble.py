"""S independently initialised copies of any small network as one module (``torch.func``).

The S5/S6 networks are tiny (a few thousand weights): one of them leaves the hardware
idle, and a Python loop over seeds and folds would multiply the per-step overhead.
:class:`Ensemble` stacks the members' parameters along a leading axis and runs them
with ``vmap(functional_call)``: member ``s`` sees only its own parameters and its own
batch, so ``d (sum_s loss_s) / d theta_s = d loss_s / d theta_s`` and any element-wise
optimizer (SGD, Adam, ...) updates every member exactly as if it trained alone (up to
float summation order). Unlike :mod:`annstudy.models.stacked` it works for any module
without buffers (Conv1d included), which is all S5/S6 need.

A plain MLP (``nn.Sequential`` of ``Linear`` and ``ReLU``) skips ``vmap``: its layers run as
batched matrix products directly, the same maths with ~30 % less per-step overhead
(measured on the 2-64-32-5 spiral net, 15 members, CPU).
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


class Ensemble(nn.Module):
    """Members built by ``make()`` after ``torch.manual_seed(init_seed)``, one per init seed.

    Input ``[S, B, ...]`` (each member its own batch) or ``[B, ...]`` (one batch for all);
    output ``[S, B, ...]``.
    """

    def __init__(self, make: Callable[[], nn.Module], init_seeds: Sequence[int]):
        super().__init__()
        models = []
        for seed in init_seeds:
            torch.manual_seed(seed)
            models.append(make())
        if any(True for _ in models[0].buffers()):
            raise TypeError("Ensemble supports modules without buffers only (no BatchNorm)")
        params, _ = stack_module_state(models)
        self.names = list(params)
        self.weights = nn.ParameterList([nn.Parameter(params[n].detach().clone()) for n in self.names])
        self.template = [copy.deepcopy(models[0]).to("meta")]  # a list: not registered as a submodule
        self.members = len(models)
        self.plain_mlp = isinstance(models[0], nn.Sequential) and all(
            isinstance(m, (nn.Linear, nn.ReLU)) for m in models[0]
        )

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        """The MLP fast path: x ``[S, B, F]``; Linear weights are ``[S, out, in]``, biases ``[S, out]``."""
        params = dict(zip(self.names, self.weights))
        for i, layer in enumerate(self.template[0]):
            if isinstance(layer, nn.Linear):
                w = params[f"{i}.weight"].transpose(1, 2)
                b = params.get(f"{i}.bias")
                x = torch.bmm(x, w) if b is None else torch.baddbmm(b.unsqueeze(1), x, w)
            else:
                x = torch.relu(x)
        return x

    def _one(self, weights: tuple[torch.Tensor, ...], x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.template[0], dict(zip(self.names, weights)), (x,))

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        if self.plain_mlp:
            return self._mlp(x.expand(self.members, *x.shape) if shared else x)
        in_x = None if shared else 0
        return vmap(self._one, in_dims=(0, in_x))(tuple(self.weights), x)

    def member_state_dict(self, s: int) -> dict[str, torch.Tensor]:
        """Member ``s``'s weights, loadable into a plain ``make()`` model."""
        return {n: w[s].detach().cpu().clone() for n, w in zip(self.names, self.weights)}

    def parameter_count(self) -> int:
        """Parameters of one member."""
        return sum(w[0].numel() for w in self.weights)
