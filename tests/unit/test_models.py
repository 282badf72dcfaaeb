"""The architecture registry: parameter counts, output shapes, summaries."""

from __future__ import annotations

import json

import pytest
import torch

from annstudy.cli import main
from annstudy.models.dropout import Dropout
from annstudy.models.mlp import build_mlp
from annstudy.models.summary import summarize, summarize_all
from annstudy.models.zoo import ARCHITECTURES, build_model, first_layer_weight

# studies.md: "Parameter counts on 1x32x32 input, for checking".
EXPECTED_32 = {"mlp_1": 33_130, "mlp_2": 35_498, "cnn_3": 11_106, "cnn_4": 13_522, "cnn_5": 8_346}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("arch, expected", sorted(EXPECTED_32.items()))
def test_parameter_counts_on_32x32(arch, expected):
    assert n_params(build_model(arch, (1, 32, 32))) == expected


def test_parameter_counts_on_28x28():
    counts = {a: n_params(build_model(a, (1, 28, 28))) for a in ARCHITECTURES}
    assert counts == {
        "mlp_1": 25_450,
        "mlp_2": 27_818,
        "cnn_3": 10_306,
        "cnn_4": 12_402,
        "cnn_5": 7_786,
        "lenet5": 61_706,
        "cnn_bn4": 422_986,
    }


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 32, 32)])
def test_logits_shape_and_summary(arch, shape):
    model = build_model(arch, shape).eval()
    assert model(torch.zeros(5, *shape)).shape == (5, 10)
    s = summarize(model, shape, arch)
    assert s.params == n_params(model)
    assert s.layers[-1].output_shape == (10,)
    assert s.macs > 0


def test_layers_follow_studies_md():
    cnn_4 = summarize(build_model("cnn_4", (1, 32, 32)), (1, 32, 32))
    convs = [r.output_shape for r in cnn_4.layers if r.layer.startswith("Conv2d")]
    assert convs == [(16, 30, 30), (8, 28, 28), (16, 24, 24), (16, 8, 8)]
    lenet = summarize(build_model("lenet5", (1, 28, 28)), (1, 28, 28))
    assert lenet.layers[0].output_shape == (6, 28, 28)  # pad 2 keeps 28x28
    assert [r.output_shape for r in lenet.layers if r.layer.startswith("Linear")] == [(120,), (84,), (10,)]
    bn = build_model("cnn_bn4", (1, 28, 28))
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in bn.modules()) == 4
    assert [m.p for m in bn.modules() if isinstance(m, torch.nn.Dropout)] == [0.3] * 4
    mlp_2 = build_model("mlp_2", (1, 28, 28))
    assert [m.bias is None for m in mlp_2.modules() if isinstance(m, torch.nn.Linear)] == [False, True, False]


def test_sigmoid_variant_and_first_layer():
    model = build_model("cnn_4", (1, 28, 28), activation="sigmoid")
    assert any(isinstance(m, torch.nn.Sigmoid) for m in model.modules())
    assert not any(isinstance(m, torch.nn.ReLU) for m in model.modules())
    assert first_layer_weight(model).shape == (16, 1, 3, 3)
    assert first_layer_weight(build_model("mlp_1", (1, 28, 28))).shape == (32, 784)


def test_same_seed_same_initial_weights():
    torch.manual_seed(3)
    a = build_model("lenet5", (1, 28, 28))
    torch.manual_seed(3)
    b = build_model("lenet5", (1, 28, 28))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_cli_models_json_and_table(capsys):
    assert main(["models", "--dataset", "cifar10_gray", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"]: r["params"] for r in rows if r["name"] in EXPECTED_32} == EXPECTED_32
    assert main(["models", "--dataset", "fashion_mnist"]) == 0
    out = capsys.readouterr().out
    assert "cnn_bn4  (input 1x28x28, 422,986 parameters" in out
    assert len(summarize_all((1, 28, 28))) == len(ARCHITECTURES)


def test_dropout_draws_cheap_masks_with_nn_dropouts_maths():
    """annstudy's Dropout: rate p, kept units scaled exactly as nn.Dropout scales them, the gradient
    through the same mask, identity in eval mode, and the mask a function of the global seed."""
    drop = Dropout(0.3)
    x = torch.full((200, 50, 10), 2.0, requires_grad=True)  # 100,000 units
    torch.manual_seed(0)
    out = drop(x)
    scale = torch.ones(()).div_(0.7)  # what nn.Dropout multiplies a kept unit by
    assert set(out.detach().unique().tolist()) == {0.0, (2.0 * scale).item()}
    assert abs((out == 0).double().mean().item() - 0.3) < 0.0075  # ~5 sigma
    out.sum().backward()
    assert torch.equal(x.grad, (out.detach() != 0).float() * scale)
    torch.manual_seed(0)
    assert torch.equal(drop(x), out)  # seeded: the same mask again
    assert torch.equal(drop.eval()(x), x)
    assert isinstance(drop, torch.nn.Dropout) and drop.state_dict() == {}
    bn = build_model("cnn_bn4", (1, 28, 28), 10)
    assert sum(isinstance(m, Dropout) for m in bn.modules()) == 4
    assert any(isinstance(m, Dropout) for m in build_mlp((8, 8), 10, (16,), dropout=0.2).modules())
