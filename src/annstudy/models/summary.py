"""Layer-by-layer summary of a model: output shapes, parameters, multiply-accumulates."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from annstudy.models.zoo import ARCHITECTURES, Shape, build_model


@dataclass(frozen=True)
class LayerRow:
    index: int
    layer: str
    output_shape: tuple[int, ...]
    params: int
    macs: int  # multiply-accumulates per sample


@dataclass(frozen=True)
class ModelSummary:
    name: str
    input_shape: tuple[int, ...]
    layers: list[LayerRow]

    @property
    def params(self) -> int:
        return sum(r.params for r in self.layers)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.layers)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(params=self.params, macs=self.macs)
        return d


def _macs(module: nn.Module, out: torch.Tensor) -> int:
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
        return per_output * out[0].numel()
    return 0


def summarize(model: nn.Sequential, input_shape: Shape, name: str = "") -> ModelSummary:
    """Run one dummy sample through a Sequential model and record every layer."""
    rows: list[LayerRow] = []
    x = torch.zeros(1, *input_shape)
    model = model.eval()
    with torch.no_grad():
        for i, layer in enumerate(model):
            x = layer(x)
            params = sum(p.numel() for p in layer.parameters())
            rows.append(LayerRow(i, repr(layer), tuple(x.shape[1:]), params, _macs(layer, x)))
    return ModelSummary(name, tuple(input_shape), rows)


def summarize_all(input_shape: Shape, num_classes: int = 10) -> list[ModelSummary]:
    return [summarize(build_model(n, input_shape, num_classes), input_shape, n) for n in ARCHITECTURES]
