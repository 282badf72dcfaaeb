"""S copies of one network as a single module: the seeds (or members) of a configuration in one pass.

Small models leave the hardware idle; stacking S independently initialised copies turns
S small operations into one larger one. Two layouts carry the S copies:

- *rows* ``[S, B, ...]``: ``Linear`` is one batched matrix product, ``BatchNorm1d`` one
  BatchNorm over ``S*F`` features, ``Unflatten``/``Flatten`` act behind the two leading axes;
- *grouped* ``[B, S*C, ...]``: ``Conv1d``/``Conv2d`` are one grouped convolution
  (``groups = S``), ``BatchNorm2d`` one BatchNorm over ``S*C`` channels (every copy keeps
  its own batch and running statistics), pooling acts on each channel alone.

Element-wise layers (activations, ``Dropout``) act on either layout unchanged. Each copy
sees only its own channels/rows, so its forward pass, its loss and therefore its gradient
are those of the copy trained alone: the summed loss ``sum_s loss_s`` has
``d/d theta_s = d loss_s / d theta_s``. Element-wise optimizers (SGD, momentum, Adam, AdamW,
Adagrad, Adadelta, RMSprop) then update every copy exactly as alone, up to float summation
order. Dropout draws its masks from one generator for all copies, so masks differ from a
lone run's (same distribution); tests/unit/test_stacked.py checks every layer kind.

Every stacked tensor is seed-major (copy ``s`` owns one contiguous block), which is what
:meth:`StackedNet.member_tensors` (per-member early stopping) and the penalties rely on.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from annstudy.models.zoo import Shape, build_model

# act on every element (or every channel) alone, so on either layout unchanged
ELEMENTWISE = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.GELU, nn.ELU, nn.Identity, nn.Dropout)
PER_CHANNEL = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)
CONVS = (nn.Conv1d, nn.Conv2d)


class StackedConv(nn.Module):
    """S convolutions (1d or 2d) as one grouped convolution; input/output ``[B, S*C, ...]``."""

    def __init__(self, convs: list[nn.Conv1d] | list[nn.Conv2d]):
        super().__init__()
        c = convs[0]
        self.seeds, self.stride, self.padding = len(convs), c.stride, c.padding
        self.conv = nn.functional.conv2d if isinstance(c, nn.Conv2d) else nn.functional.conv1d
        self.weight = nn.Parameter(torch.cat([m.weight.detach() for m in convs]))
        self.bias = nn.Parameter(torch.cat([m.bias.detach() for m in convs])) if c.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x, self.weight, self.bias, self.stride, self.padding, groups=self.seeds)

    def unstack(self, s: int) -> dict[str, torch.Tensor]:
        n = self.weight.shape[0] // self.seeds
        out = {"weight": self.weight[s * n : (s + 1) * n]}
        if self.bias is not None:
            out["bias"] = self.bias[s * n : (s + 1) * n]
        return out


class StackedLinear(nn.Module):
    """S linear layers as one batched matmul; input/output ``[S, B, F]``."""

    def __init__(self, linears: list[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.detach().t() for m in linears]))  # [S, in, out]
        has_bias = linears[0].bias is not None
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in linears]).unsqueeze(1)) if has_bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight)
        return torch.baddbmm(self.bias, x, self.weight)

    def unstack(self, s: int) -> dict[str, torch.Tensor]:
        out = {"weight": self.weight[s].t()}
        if self.bias is not None:
            out["bias"] = self.bias[s, 0]
        return out


class StackedBatchNorm2d(nn.BatchNorm2d):
    """S BatchNorms over ``S*C`` channels: statistics stay per seed and per channel."""

    def __init__(self, norms: list[nn.BatchNorm2d] | list[nn.BatchNorm1d]):
        b = norms[0]
        super().__init__(b.num_features * len(norms), b.eps, b.momentum, b.affine, b.track_running_stats)
        self.seeds = len(norms)
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(self, name).copy_(torch.cat([getattr(m, name) for m in norms]))
            self.num_batches_tracked.copy_(b.num_batches_tracked)

    def unstack(self, s: int) -> dict[str, torch.Tensor]:
        n = self.num_features // self.seeds
        out = {k: getattr(self, k)[s * n : (s + 1) * n] for k in ("weight", "bias", "running_mean", "running_var")}
        out["num_batches_tracked"] = self.num_batches_tracked
        return out


class StackedBatchNorm1d(StackedBatchNorm2d):
    """S BatchNorm1d on the rows layout ``[S, B, F]``: one BatchNorm2d over ``S*F`` channels of
    ``[B, S*F, 1, 1]``, which has exactly BatchNorm1d's statistics (over the batch, per feature)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, b, f = x.shape
        y = super().forward(x.transpose(0, 1).reshape(b, s * f, 1, 1))
        return y.reshape(b, s, f).transpose(0, 1)


class ToSeedRows(nn.Module):
    """Flatten: ``[B, S*C, ...]`` (grouped layout) -> ``[S, B, C*...]`` (rows layout)."""

    def __init__(self, seeds: int):
        super().__init__()
        self.seeds = seeds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        return x.reshape(b, self.seeds, -1).transpose(0, 1)


class ToGrouped(nn.Module):
    """Unflatten a ``[S, B, F]`` rows tensor into the grouped layout ``[B, S*C, ...]`` (sizes ``(C, ...)``),
    what a plain ``Unflatten(1, (C, ...))`` in front of a convolution does for one copy."""

    def __init__(self, seeds: int, sizes: Sequence[int]):
        super().__init__()
        self.seeds, self.sizes = seeds, tuple(sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[1]
        return x.transpose(0, 1).reshape(b, self.seeds * self.sizes[0], *self.sizes[1:])


def _stack_layer(peers: list[nn.Module], seeds: int, grouped: bool, next_layer: nn.Module | None) -> nn.Module:
    """Layer ``peers[0]`` of every copy as one stacked layer, given the layout it receives."""
    layer = peers[0]
    if isinstance(layer, CONVS):
        return StackedConv(peers)
    if isinstance(layer, nn.Linear):
        return StackedLinear(peers)
    if isinstance(layer, nn.BatchNorm2d):
        return StackedBatchNorm2d(peers)
    if isinstance(layer, nn.BatchNorm1d) and not grouped:
        return StackedBatchNorm1d(peers)
    if isinstance(layer, nn.Flatten):
        return ToSeedRows(seeds) if grouped else nn.Flatten(start_dim=2)
    if isinstance(layer, nn.Unflatten) and layer.dim in (1, -1) and isinstance(next_layer, CONVS):
        return ToGrouped(seeds, layer.unflattened_size)
    if isinstance(layer, ELEMENTWISE) or (grouped and isinstance(layer, PER_CHANNEL)):
        return layer
    raise TypeError(f"cannot stack layer {type(layer).__name__} ({'grouped' if grouped else 'rows'} layout)")


class StackedNet(nn.Module):
    """S copies of one ``nn.Sequential``. Input ``[S, B, ...]`` (each copy its own batch) or, with
    ``shared=True``, ``[B, ...]`` (one batch for all, an expanded view: no copy); output ``[S, B, ...]``."""

    def __init__(self, models: list[nn.Sequential]):
        super().__init__()
        if not all(isinstance(m, nn.Sequential) for m in models):
            raise TypeError("StackedNet stacks nn.Sequential models")
        self.seeds = len(models)
        self.grouped_input = isinstance(models[0][0], CONVS)
        layers: list[nn.Module] = []
        grouped = self.grouped_input
        for i in range(len(models[0])):
            after = models[0][i + 1] if i + 1 < len(models[0]) else None
            layers.append(_stack_layer([m[i] for m in models], self.seeds, grouped, after))
            if isinstance(layers[-1], (StackedConv, ToGrouped)):
                grouped = True
            elif isinstance(layers[-1], (ToSeedRows, nn.Flatten)):
                grouped = False
        self.layers = nn.ModuleList(layers)  # layer i stacks layer i of the plain model
        self.channels_last = False

    def use_channels_last(self) -> "StackedNet":
        """NHWC layout for the grouped 2d convolutions: measured 1.1-2x faster on CPU (oneDNN)."""
        self.channels_last = self.grouped_input and self.layers[0].weight.dim() == 4
        return self.to(memory_format=torch.channels_last) if self.channels_last else self

    def forward(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        if shared:
            x = x.unsqueeze(0).expand(self.seeds, *x.shape)
        if self.grouped_input:  # [S, B, C, ...] -> [B, S*C, ...]
            s, b = x.shape[:2]
            x = x.transpose(0, 1).reshape(b, s * x.shape[2], *x.shape[3:])
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
        for layer in self.layers:
            x = layer(x)
        return x

    def first_weight(self) -> nn.Parameter:
        """The first Conv/Linear layer's stacked weight. Every stacked tensor is seed-major, so
        ``first_weight().grad.reshape(seeds, -1)[s]`` is seed ``s``'s gradient (flattened)."""
        for layer in self.layers:
            if isinstance(layer, (StackedConv, StackedLinear)):
                return layer.weight
        raise ValueError("stacked model has no Linear or Conv layer")

    def member_tensors(self) -> list[torch.Tensor]:
        """Every parameter and per-copy buffer, each viewed ``[S, ...]`` (index ``s`` is copy ``s``'s):
        what a copy's best weights are (early stopping keeps and restores them per copy). Split, not
        flattened: a channels-last convolution weight has no flat view."""
        tensors = [*self.parameters(), *(b for n, b in self.named_buffers() if not n.endswith("num_batches_tracked"))]
        return [t.unflatten(0, (self.seeds, -1)) for t in tensors]

    def seed_state_dict(self, s: int) -> dict[str, torch.Tensor]:
        """Copy ``s``'s weights on the CPU, in the layout of the plain model (loadable by the model it stacks)."""
        state: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.layers):
            if hasattr(layer, "unstack"):
                for name, value in layer.unstack(s).items():
                    state[f"{i}.{name}"] = value.detach().cpu().clone().contiguous()
        return state

    def parameter_count(self) -> int:
        """Parameters of one copy."""
        return sum(p.numel() for p in self.parameters()) // self.seeds


def stack_seeds(make_model: Callable[[], nn.Sequential], seeds: Sequence[int]) -> StackedNet:
    """One copy per seed, each initialised after ``torch.manual_seed(seed)`` as when alone."""
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(make_model())
    return StackedNet(models)


def build_stacked(
    arch: str, input_shape: Shape, num_classes: int, seeds: Sequence[int], activation: str = "relu"
) -> StackedNet:
    """The seeds of a zoo architecture as one :class:`StackedNet`."""
    return stack_seeds(lambda: build_model(arch, input_shape, num_classes, activation), seeds)
