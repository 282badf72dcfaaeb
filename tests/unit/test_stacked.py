"""Vectorized multi-seed training equals training each seed alone.

A seed alone is a stack of one through the same loop (``vectorize_seeds: false``). Same
initial weights (each copy built after ``torch.manual_seed(seed)``), same batch order (each
seed's own generator): per-seed logged losses and final weights must agree to 1e-5 relative
(``||a - b|| <= 1e-5 ||b||`` per tensor) in float32, and bit for bit for an MLP (a batched
matrix product computes each member as alone; a grouped convolution sums in another order).
The plain layers against their stacked copies are checked layer by layer below. Dropout draws its masks from one
stream for the whole stack, so models with dropout are checked with p = 0 (exactness of all
else, BatchNorm included) and statistically with dropout on (they learn; masks differ per seed).
Every layer kind the studies use (Linear, Conv1d, Conv2d, BatchNorm1d/2d, Dropout, Flatten,
Unflatten, pooling, each activation) is checked on its own below.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from annstudy.engine.seeds import train_seeds
from annstudy.models.dropout import Dropout
from annstudy.models.small import mnist1d_cnn
from annstudy.models.stacked import StackedNet, build_stacked, stack_seeds
from annstudy.models.zoo import build_model
from conftest import blobs_dataset
from helpers.training import small_train_settings as cfg
from helpers.training import without_dropout

RTOL = 1e-5


def assert_close(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    """Relative error of the whole tensor: ||a - b|| <= 1e-5 ||b|| (float32)."""
    err = torch.linalg.vector_norm((a - b).double()).item()
    assert err <= RTOL * max(torch.linalg.vector_norm(b.double()).item(), 1e-12), (what, err)


@pytest.mark.parametrize("arch, size", [("mlp_1", 8), ("cnn_4", 24), ("lenet5", 12)])
@pytest.mark.parametrize("optimizer, channels_last", [("adam", False), ("sgd", False), ("adam", True)])
def test_stacked_training_equals_one_seed_at_a_time(arch, size, optimizer, channels_last):
    data = blobs_dataset(size=size)
    c = cfg(optimizer=optimizer, momentum=0.9 if optimizer == "sgd" else 0.0, channels_last=channels_last)
    stacked = train_seeds(arch, data, replace(c, vectorize=True), bar=False)
    one_by_one = train_seeds(arch, data, replace(c, vectorize=False), bar=False)
    assert [r.group for r in stacked] == [(0, 1, 2)] * 3 and [r.group for r in one_by_one] == [(0,), (1,), (2,)]
    for run, alone in zip(stacked, one_by_one, strict=True):
        assert run.seed == alone.seed and [r["step"] for r in run.curve] == [r["step"] for r in alone.curve]
        if arch == "mlp_1":  # exact
            assert run.curve == alone.curve and run.epochs == alone.epochs
            assert all(torch.equal(run.state_dict[k], alone.state_dict[k]) for k in alone.state_dict)
        assert_close(
            torch.tensor([r["train_loss"] for r in run.curve]),
            torch.tensor([r["train_loss"] for r in alone.curve]),
            f"{arch} seed {run.seed} losses",
        )
        assert [r["train_acc"] for r in run.curve] == [r["train_acc"] for r in alone.curve]
        assert run.state_dict.keys() == alone.state_dict.keys()
        for k in alone.state_dict:
            assert_close(run.state_dict[k], alone.state_dict[k], f"{arch} seed {run.seed} {k}")


def test_batchnorm_keeps_per_seed_statistics_exactly():
    shape = (1, 16, 16)
    seeds = [0, 1, 2]
    models = []
    for s in seeds:
        torch.manual_seed(s)
        models.append(without_dropout(build_model("cnn_bn4", shape, 3)))
    stacked = StackedNet([m for m in models])
    alone = [without_dropout(build_model("cnn_bn4", shape, 3)) for _ in seeds]
    for m, src in zip(alone, models):
        m.load_state_dict(src.state_dict())
    # SGD: Adam's normalisation magnifies float-order noise in near-zero gradients of the
    # freshly zero-initialised BN biases; element-wise optimizer equivalence is tested above.
    opt_s = torch.optim.SGD(stacked.parameters(), 0.05)
    opts = [torch.optim.SGD(m.parameters(), 0.05) for m in alone]
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = torch.randn(len(seeds), 8, *shape, generator=g)
        y = torch.randint(0, 3, (len(seeds), 8), generator=g)
        logits = stacked(x)
        loss = sum(nn.functional.cross_entropy(logits[s], y[s]) for s in range(len(seeds)))
        opt_s.zero_grad(), loss.backward(), opt_s.step()
        for s, (m, o) in enumerate(zip(alone, opts)):
            o.zero_grad(), nn.functional.cross_entropy(m(x[s]), y[s]).backward(), o.step()
    for s, m in enumerate(alone):
        state = stacked.seed_state_dict(s)
        for k, v in m.state_dict().items():
            assert_close(state[k].float(), v.float(), f"seed {s} {k}")
    assert not torch.equal(stacked.seed_state_dict(0)["3.running_mean"], stacked.seed_state_dict(1)["3.running_mean"])


def test_stacked_with_dropout_learns_and_weights_load_into_plain_models():
    data = blobs_dataset(size=16)
    runs = train_seeds("cnn_bn4", data, cfg(seeds=(4, 7), epochs=2, lr=1e-3, vectorize=True), bar=False)
    assert all(r.curve[-1]["val_acc"] > 0.6 for r in runs)  # chance is 1/3
    model = build_model("cnn_bn4", (1, 16, 16), 3)
    model.load_state_dict(runs[1].state_dict)  # strict: same keys and shapes


def test_initial_weights_match_build_model():
    net = build_stacked("cnn_4", (1, 28, 28), 10, [3, 5])
    torch.manual_seed(5)
    plain = build_model("cnn_4", (1, 28, 28), 10)
    for k, v in plain.state_dict().items():
        assert torch.equal(net.seed_state_dict(1)[k], v), k


def test_stacked_divergence_stops_only_that_seed():
    data = blobs_dataset()
    c = cfg(seeds=(0, 1), epochs=1, log_every=2, lr=1e-2, vectorize=True)
    runs = train_seeds("mlp_1", data, c, bar=False)
    assert not any(r.diverged for r in runs)
    poisoned = blobs_dataset()
    poisoned.train.x[7] = float("inf")
    runs = train_seeds("mlp_1", poisoned, c, bar=False)
    assert all(r.diverged for r in runs)  # both seeds meet image 7 in their first epoch
    assert all(r.steps == r.diverged_step for r in runs)


# ------------------------------------------------------------------ every layer kind, stacked vs alone

ACTIVATIONS = [nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.GELU, nn.ELU, nn.Identity]
LAYER_KINDS = {
    "linear": (lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3, bias=False)), (6,)),
    "flatten_linear": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), (3, 4)),
    "conv1d_pools": (
        lambda: nn.Sequential(
            nn.Conv1d(2, 4, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.AvgPool1d(1),
            nn.Flatten(),
            nn.Linear(12, 3),
        ),
        (2, 12),
    ),
    "unflatten_conv1d": (lambda: mnist1d_cnn(20, 3, 4), (20,)),
    "conv2d_pools": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.Sigmoid(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 2, 3, bias=False),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(2, 3),
        ),
        (1, 8, 8),
    ),
    "batchnorm1d": (lambda: nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3)), (6,)),
    "batchnorm2d": (
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3)),
        (1, 8, 8),
    ),
    "dropout_p0": (lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.0), nn.Linear(5, 3)), (6,)),
    **{
        f"activation_{act.__name__}": (lambda act=act: nn.Sequential(nn.Linear(6, 5), act(), nn.Linear(5, 3)), (6,))
        for act in ACTIVATIONS
    },
}


def _copies(make, seeds):
    copies = []
    for seed in seeds:
        torch.manual_seed(seed)
        copies.append(make())
    return copies


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_every_layer_kind_trains_stacked_exactly_as_alone(kind):
    """Forward outputs, then weights and BatchNorm statistics after three SGD steps, per seed."""
    make, shape = LAYER_KINDS[kind]
    seeds = [0, 1, 2]
    stacked = stack_seeds(make, seeds)
    alone = _copies(make, seeds)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(len(seeds), 8, *shape, generator=g)
    out = stacked(x0)
    assert out.shape == (3, 8, 3)
    for s, m in enumerate(alone):
        assert_close(out[s].detach(), m(x0[s]).detach(), f"{kind} forward seed {s}")
    opt_s = torch.optim.SGD(stacked.parameters(), 0.1, momentum=0.9)
    opts = [torch.optim.SGD(m.parameters(), 0.1, momentum=0.9) for m in alone]
    for _ in range(3):
        x = torch.randn(len(seeds), 8, *shape, generator=g)
        y = torch.randint(0, 3, (len(seeds), 8), generator=g)
        logits = stacked(x)  # once: a train-mode forward updates BatchNorm's running statistics
        loss = sum(nn.functional.cross_entropy(logits[s], y[s]) for s in range(len(seeds)))
        opt_s.zero_grad(), loss.backward(), opt_s.step()
        for s, (m, o) in enumerate(zip(alone, opts)):
            o.zero_grad(), nn.functional.cross_entropy(m(x[s]), y[s]).backward(), o.step()
    for s, m in enumerate(alone):
        state = stacked.seed_state_dict(s)
        assert state.keys() == m.state_dict().keys()
        for k, v in m.state_dict().items():
            assert_close(state[k].float(), v.float(), f"{kind} seed {s} {k}")
    stacked.eval(), [m.eval() for m in alone]
    out = stacked(x0[0], shared=True)  # one batch for every seed (an expanded view)
    for s, m in enumerate(alone):
        assert_close(out[s].detach(), m(x0[0]).detach(), f"{kind} eval shared seed {s}")


@pytest.mark.parametrize("dropout", [nn.Dropout, Dropout], ids=["torch", "annstudy"])
def test_dropout_masks_are_per_seed_with_the_right_rate(dropout: type[nn.Dropout]):
    """p > 0 cannot match a lone run mask for mask; each seed drops about p of its units, scaled by 1/(1-p)."""
    net = stack_seeds(lambda: nn.Sequential(nn.Identity(), dropout(0.3)), [0, 1, 2, 3])
    assert type(net.layers[1]) is dropout
    torch.manual_seed(0)
    out = net(torch.ones(4, 500, 40))  # 20,000 units per seed
    dropped = (out == 0).double().mean(dim=(1, 2))
    assert torch.all((dropped - 0.3).abs() < 0.015), dropped  # ~5 sigma
    assert torch.equal(out.unique(), torch.tensor([0.0, 1 / 0.7]))
    assert not torch.equal(out[0], out[1])
    net.eval()
    assert torch.equal(net(torch.ones(4, 5, 40)), torch.ones(4, 5, 40))


def test_no_template_copy_rides_along():
    """The stack holds the S copies and nothing else: no seed-0 duplicate in state_dict or parameters."""
    net = build_stacked("lenet5", (1, 28, 28), 10, [0, 1, 2])
    torch.manual_seed(0)
    plain = build_model("lenet5", (1, 28, 28), 10)
    assert all(k.startswith("layers.") for k in net.state_dict())
    assert sum(p.numel() for p in net.parameters()) == 3 * sum(p.numel() for p in plain.parameters())
    assert net.parameter_count() == sum(p.numel() for p in plain.parameters())
    plain.load_state_dict(net.seed_state_dict(2))  # strict: same keys and shapes


def test_unstackable_layer_is_named():
    with pytest.raises(TypeError, match="cannot stack layer LSTM"):
        stack_seeds(lambda: nn.Sequential(nn.LSTM(3, 3)), [0, 1])


@pytest.mark.parametrize(
    "arch, size, channels_last", [("cnn_bn4", 16, True), ("lenet5", 12, False), ("mlp_2", 8, False)]
)
def test_stacked_evaluation_equals_each_model_alone(arch, size, channels_last):
    """The evaluate stage's one grouped pass gives each seed's own predictions, accuracy and loss."""
    from annstudy.engine.evaluation import evaluate, evaluate_stacked

    data = blobs_dataset(size=size, n_per_class=30)
    models = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        models.append(build_model(arch, (1, size, size), 3).eval())
    stacked = StackedNet(models)
    if channels_last:
        stacked.use_channels_last()
    results = evaluate_stacked(stacked, data.test.x, data.test.y, batch_size=7)
    assert len(results) == 3 and stacked.training  # its mode restored
    for model, got in zip(models, results):
        alone = evaluate(model, data.test.x, data.test.y, batch_size=50)
        assert torch.equal(got.preds, alone.preds)
        assert got.acc == alone.acc
        assert got.loss == pytest.approx(alone.loss, rel=1e-6)
