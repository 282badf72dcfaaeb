"""The architectures of studies.md, built for any input image shape.

Each builder takes the input shape (C, H, W), the number of classes and the hidden
activation, so the same names serve 28x28 Fashion-MNIST, 32x32 CIFAR-10 gray and any
gray or RGB image_csv dataset (the first layer takes C channels, the head is sized by a
dummy forward pass), and the ReLU/sigmoid study needs no second zoo. The prediction layer
is a bare FC-<classes>: the loss is cross-entropy on logits.

Add an architecture by writing a builder and registering it in ``ARCHITECTURES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from annstudy.models.dropout import Dropout


def relu() -> nn.ReLU:
    """ReLU in place: every ReLU here follows a layer whose backward needs its input, not its
    output, so overwriting the output is safe (autograd raises if it ever is not) and saves
    one activation-sized allocation and pass per layer (measured: 3 % of a cnn_4 or LeNet-5 step)."""
    return nn.ReLU(inplace=True)


Activation = Callable[[], nn.Module]
ACTIVATIONS: dict[str, Activation] = {"relu": relu, "sigmoid": nn.Sigmoid}

Shape = tuple[int, int, int]


def _with_head(features: nn.Sequential, input_shape: Shape, head: list[nn.Module]) -> nn.Sequential:
    """Append Flatten + head, sizing the head's first Linear from a dummy forward pass."""
    with torch.no_grad():
        flat = features.eval()(torch.zeros(1, *input_shape)).numel()
    features.train()
    first = head[0]
    assert isinstance(first, nn.Linear) and first.in_features == -1
    head[0] = nn.Linear(flat, first.out_features, bias=first.bias is not None)
    return nn.Sequential(*features, nn.Flatten(), *head)


def _fc(out: int, bias: bool = True) -> nn.Linear:
    """Placeholder Linear whose input size is filled in by :func:`_with_head`."""
    layer = nn.Linear(1, out, bias=bias)
    layer.in_features = -1
    return layer


def mlp_1(input_shape: Shape, num_classes: int, act: Activation) -> nn.Sequential:
    """FC-32, act, FC-10."""
    return _with_head(nn.Sequential(), input_shape, [_fc(32), act(), nn.Linear(32, num_classes)])


def mlp_2(input_shape: Shape, num_classes: int, act: Activation) -> nn.Sequential:
    """FC-32, act, FC-64 (no bias), FC-10."""
    head = [_fc(32), act(), nn.Linear(32, 64, bias=False), nn.Linear(64, num_classes)]
    return _with_head(nn.Sequential(), input_shape, head)


def cnn_3(input_shape: Shape, num_classes: int, act: Activation) -> nn.Sequential:
    """Conv3x3x16, act, Conv5x5x8, act, MaxPool, Conv7x7x16, MaxPool, FC-10."""
    c = input_shape[0]
    features = nn.Sequential(
        nn.Conv2d(c, 16, 3),
        act(),
        nn.Conv2d(16, 8, 5),
        act(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 7),
        nn.MaxPool2d(2),
    )
    return _with_head(features, input_shape, [_fc(num_classes)])


def cnn_4(input_shape: Shape, num_classes: int, act: Activation) -> nn.Sequential:
    """Conv3x3x16, act, Conv3x3x8, act, Conv5x5x16, act, MaxPool, Conv5x5x16, act, MaxPool, FC-10."""
    c = input_shape[0]
    features = nn.Sequential(
        nn.Conv2d(c, 16, 3),
        act(),
        nn.Conv2d(16, 8, 3),
        act(),
        nn.Conv2d(8, 16, 5),
        act(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 5),
        act(),
        nn.MaxPool2d(2),
    )
    return _with_head(features, input_shape, [_fc(num_classes)])


def cnn_5(input_shape: Shape, num_classes: int, act: Activation) -> nn.Sequential:
    """Six 3x3 convs (8, 16, 8, 16 | pool | 16, 8 | pool), act after each, FC-10."""
    c = input_shape[0]
    features = nn.Sequential(
        nn.Conv2d(c, 8, 3),
        act(),
        nn.Conv2d(8, 16, 3),
        act(),
        nn.Conv2d(16, 8, 3),
        act(),
        nn.Conv2d(8, 16, 3),
        act(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3),
        act(),
        nn.Conv2d(16, 8, 3),
        act(),
        nn.MaxPool2d(2),
    )
    return _with_head(features, input_shape, [_fc(num_classes)])


def lenet5(input_shape: Shape, num_classes: int, act: Activation) -> nn.Sequential:
    """LeNet-5 for 28x28: Conv5x5x6 pad 2, act, pool, Conv5x5x16, act, pool, FC-120, FC-84, FC-10."""
    c = input_shape[0]
    features = nn.Sequential(
        nn.Conv2d(c, 6, 5, padding=2),
        act(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        act(),
        nn.MaxPool2d(2),
    )
    head = [_fc(120), act(), nn.Linear(120, 84), act(), nn.Linear(84, num_classes)]
    return _with_head(features, input_shape, head)


def cnn_bn4(input_shape: Shape, num_classes: int, act: Activation) -> nn.Sequential:
    """Four [Conv3x3 pad 1, act, MaxPool, BatchNorm, Dropout(0.3)] blocks (32..256), FC-128, FC-10."""
    layers: list[nn.Module] = []
    c = input_shape[0]
    for width in (32, 64, 128, 256):
        layers += [nn.Conv2d(c, width, 3, padding=1), act(), nn.MaxPool2d(2), nn.BatchNorm2d(width), Dropout(0.3)]
        c = width
    return _with_head(nn.Sequential(*layers), input_shape, [_fc(128), act(), nn.Linear(128, num_classes)])


@dataclass(frozen=True)
class Architecture:
    name: str
    kind: str  # "mlp" | "cnn"
    build: Callable[[Shape, int, Activation], nn.Sequential]

    @property
    def description(self) -> str:
        return (self.build.__doc__ or "").strip()


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in [
        Architecture("mlp_1", "mlp", mlp_1),
        Architecture("mlp_2", "mlp", mlp_2),
        Architecture("cnn_3", "cnn", cnn_3),
        Architecture("cnn_4", "cnn", cnn_4),
        Architecture("cnn_5", "cnn", cnn_5),
        Architecture("lenet5", "cnn", lenet5),
        Architecture("cnn_bn4", "cnn", cnn_bn4),
    ]
}


def build_model(name: str, input_shape: Shape, num_classes: int = 10, activation: str = "relu") -> nn.Sequential:
    """Instantiate a registered architecture (weights from torch's current RNG state)."""
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {name!r}; choose from {', '.join(ARCHITECTURES)}")
    if activation not in ACTIVATIONS:
        raise KeyError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
    try:
        return ARCHITECTURES[name].build(tuple(input_shape), num_classes, ACTIVATIONS[activation])
    except RuntimeError as err:  # a kernel or pool larger than the feature map
        shape = "x".join(map(str, input_shape))
        raise ValueError(
            f"architecture {name!r} cannot take {shape} inputs (too small for its convolutions/pools: "
            f"{str(err).splitlines()[0]}); use larger images (data.image_csv.image_size) or another architecture"
        ) from None


def first_weighted_layer(model: nn.Module) -> nn.Linear | nn.Conv2d:
    """The first Linear/Conv layer (what "the first layer" means for MLPs and CNNs alike)."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            return module
    raise ValueError("model has no Linear or Conv2d layer")


def first_layer_weight(model: nn.Module) -> torch.Tensor:
    """Weights of the first Linear/Conv layer: [units, in] or [filters, C, kh, kw]."""
    return first_weighted_layer(model).weight.detach()
