"""Vectorized multi-seed training equals training each seed alone.

Same initial weights (each copy built after ``torch.manual_seed(seed)``), same batch order
(each seed's own generator): per-seed logged losses and final weights must agree to 1e-5
relative (``||a - b|| <= 1e-5 ||b||`` per tensor) in float32. Dropout draws its masks from one
stream for the whole stack, so models with dropout are checked with p = 0 (exactness of all
else, BatchNorm included) and statistically with dropout on (they learn; masks differ per seed).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from annstudy.engine.settings import TrainSettings
from annstudy.engine.trainer import train_seed, train_stacked
from annstudy.models.stacked import StackedNet, build_stacked
from annstudy.models.zoo import build_model
from conftest import blobs_dataset

RTOL = 1e-5


def cfg(**kw) -> TrainSettings:
    base = dict(
        optimizer="adam",
        lr=3e-3,
        momentum=0.0,
        batch_size=16,
        eval_batch_size=50,
        seeds=(0, 1, 2),
        epochs=2,
        log_every=3,
        val_subset=0,
        train_limit=0,
        train_eval_subset=0,
    )
    base.update(kw)
    return TrainSettings(**base)


def assert_close(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    """Relative error of the whole tensor: ||a - b|| <= 1e-5 ||b|| (float32)."""
    err = torch.linalg.vector_norm((a - b).double()).item()
    assert err <= RTOL * max(torch.linalg.vector_norm(b.double()).item(), 1e-12), (what, err)


@pytest.mark.parametrize("arch, size", [("mlp_1", 8), ("cnn_4", 24), ("lenet5", 12)])
@pytest.mark.parametrize("optimizer, channels_last", [("adam", False), ("sgd", False), ("adam", True)])
def test_stacked_training_equals_one_seed_at_a_time(arch, size, optimizer, channels_last):
    data = blobs_dataset(size=size)
    c = cfg(optimizer=optimizer, momentum=0.9 if optimizer == "sgd" else 0.0, channels_last=channels_last)
    stacked = train_stacked(arch, data, c)
    for run in stacked:
        alone = train_seed(lambda: build_model(arch, (1, size, size), 3), data, c, run.seed)
        assert [r["step"] for r in run.curve] == [r["step"] for r in alone.curve]
        assert_close(
            torch.tensor([r["train_loss"] for r in run.curve]),
            torch.tensor([r["train_loss"] for r in alone.curve]),
            f"{arch} seed {run.seed} losses",
        )
        assert [r["train_acc"] for r in run.curve] == [r["train_acc"] for r in alone.curve]
        assert run.state_dict.keys() == alone.state_dict.keys()
        for k in alone.state_dict:
            assert_close(run.state_dict[k], alone.state_dict[k], f"{arch} seed {run.seed} {k}")


def without_dropout(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return model


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
    runs = train_stacked("cnn_bn4", data, cfg(seeds=(4, 7), epochs=2, lr=1e-3))
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
    c = cfg(seeds=(0, 1), epochs=1, log_every=2, lr=1e-2)
    runs = train_stacked("mlp_1", data, c)
    assert not any(r.diverged for r in runs)
    poisoned = blobs_dataset()
    poisoned.train.x[7] = float("inf")
    runs = train_stacked("mlp_1", poisoned, c)
    assert all(r.diverged for r in runs)  # both seeds meet image 7 in their first epoch
    assert all(r.steps == r.diverged_step for r in runs)
