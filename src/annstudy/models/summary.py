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


def layer_label(layer: nn.Module) -> str:
    """Short, readable layer description in the notation of studies.md."""
    if isinstance(layer, nn.Conv2d):
        kh, kw = layer.kernel_size
        pad = f", pad {layer.padding[0]}" if layer.padding != (0, 0) else ""
        return f"Conv2d {kh}x{kw}x{layer.out_channels} (in {layer.in_channels}{pad})"
    if isinstance(layer, nn.Linear):
        bias = "" if layer.bias is not None else ", no bias"
        return f"Linear FC-{layer.out_features} (in {layer.in_features}{bias})"
    if isinstance(layer, nn.MaxPool2d):
        return f"MaxPool2d {layer.kernel_size}x{layer.kernel_size}"
    if isinstance(layer, nn.BatchNorm2d):
        return f"BatchNorm2d {layer.num_features}"
    if isinstance(layer, nn.Dropout):
        return f"Dropout p={layer.p}"
    return type(layer).__name__


def summarize(model: nn.Sequential, input_shape: Shape, name: str = "") -> ModelSummary:
    """Run one dummy sample through a Sequential model and record every layer."""
    rows: list[LayerRow] = []
    x = torch.zeros(1, *input_shape)
    model = model.eval()
    with torch.no_grad():
        for i, layer in enumerate(model):
            x = layer(x)
            params = sum(p.numel() for p in layer.parameters())
            rows.append(LayerRow(i, layer_label(layer), tuple(x.shape[1:]), params, _macs(layer, x)))
    return ModelSummary(name, tuple(input_shape), rows)


def summarize_all(input_shape: Shape, num_classes: int = 10) -> list[ModelSummary]:
    return [summarize(build_model(n, input_shape, num_classes), input_shape, n) for n in ARCHITECTURES]
