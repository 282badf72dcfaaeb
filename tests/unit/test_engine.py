"""The training loop on tiny data: learning, determinism, divergence, evaluation."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from annstudy.engine.device import resolve_device
from annstudy.engine.evaluation import evaluate, fixed_subset
from annstudy.engine.loop import LoopSettings, StackData, member_losses, steps_per_epoch, train_stack
from annstudy.engine.seeds import SeedRun, train_seeds
from annstudy.engine.settings import TrainSettings
from annstudy.models.small import mlp
from annstudy.models.stacked import stack_seeds
from annstudy.models.zoo import build_model
from conftest import blobs_dataset
from helpers.training import small_train_settings


def cfg(**kw) -> TrainSettings:
    """The shared small settings (helpers/training.py) with this module's differences."""
    return small_train_settings(**{**dict(lr=1e-2, eval_batch_size=7, seeds=(0, 1), epochs=3, log_every=4), **kw})


def one_seed(arch: str, data, settings: TrainSettings, seed: int) -> SeedRun:
    """``seed`` alone: a stack of one through the one loop."""
    (run,) = train_seeds(arch, data, replace(settings, seeds=(seed,)), bar=False)
    return run


def test_learns_above_chance_and_logs_on_schedule():
    data = blobs_dataset()
    run = one_seed("mlp_1", data, cfg(), seed=0)
    per_epoch = steps_per_epoch(len(data.train), 16)
    assert per_epoch == math.ceil(120 / 16) == 8
    assert run.steps == 3 * per_epoch and run.samples == 3 * per_epoch * 16
    assert [r["step"] for r in run.curve] == [4, 8, 12, 16, 20, 24]
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3]
    assert run.curve[-1]["val_acc"] > 0.9  # chance is 1/3
    assert not run.diverged and run.group == (0,)


def test_same_seed_is_bit_identical_and_seeds_differ():
    data = blobs_dataset()
    bn = blobs_dataset(size=16)  # cnn_bn4: BatchNorm + Dropout
    a, b = (one_seed("cnn_bn4", bn, cfg(epochs=1, lr=1e-3), seed=5) for _ in range(2))
    assert a.curve == b.curve and len(a.curve) == 2
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    c = one_seed("mlp_1", data, cfg(), seed=1)
    d = one_seed("mlp_1", data, cfg(), seed=2)
    assert c.curve != d.curve


@pytest.mark.parametrize("vectorized", [False, True])
def test_divergence_is_recorded_not_raised(vectorized):
    data = blobs_dataset()
    data.train.x[5] = float("nan")  # poisons the first batch that contains it
    runs = train_seeds("mlp_1", data, cfg(epochs=2, log_every=100, vectorize=vectorized))
    assert [r.seed for r in runs] == [0, 1]
    assert all(r.diverged for r in runs)
    assert all(1 <= r.diverged_step <= steps_per_epoch(120, 16) for r in runs)
    assert all(r.curve == [] or all(math.isfinite(x["train_loss"]) for x in r.curve) for r in runs)


def test_train_limit_and_val_subset():
    data = blobs_dataset()
    run = one_seed("mlp_1", data, cfg(train_limit=32, val_subset=10, epochs=1, log_every=1), seed=0)
    assert run.steps == 2
    assert len(run.curve) == 2


def test_evaluate_is_batch_size_invariant():
    data = blobs_dataset()
    torch.manual_seed(0)
    model = build_model("mlp_2", (1, 8, 8), 3)
    one = evaluate(model, data.val.x, data.val.y, batch_size=1)
    all_ = evaluate(model, data.val.x, data.val.y, batch_size=1000)
    assert torch.equal(one.preds, all_.preds)
    assert abs(one.loss - all_.loss) < 1e-6 and one.acc == all_.acc


def test_fixed_subset():
    assert fixed_subset(10, 0).tolist() == list(range(10))
    assert fixed_subset(10, 20).tolist() == list(range(10))
    idx = fixed_subset(6000, 1000)
    assert len(idx) == 1000 and idx[0] == 0 and idx[-1] == 5999 and len(set(idx.tolist())) == 1000


def test_one_loop_members_own_rows_mse_lr_decay_equal_alone():
    """train_stack with per-member rows (folds), MSE and lr decay: each member bit for bit as a stack of one."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(3, 30, 2, generator=g), torch.randn(3, 30, generator=g)  # member s owns rows x[s]
    loop = LoopSettings("sgd", 0.05, 0.9, epochs=5, batch_size=7, loss="mse", lr_decay=0.5, lr_decay_every=2)

    def mse_on(xs, ys):
        return lambda model: {"train_loss": member_losses("mse", model(xs), ys)}

    stacked = stack_seeds(lambda: mlp([2, 8, 1]), [10, 11, 12])
    run = train_stack(stacked, StackData(x, y, shared=False), loop, [5, 6, 7], at_epoch=mse_on(x, y))
    assert run.batch_loss.shape == (5 * 5, 3) and run.steps == [25, 25, 25] and run.diverged_step == [None] * 3
    for i, (seed, shuffle) in enumerate(zip([10, 11, 12], [5, 6, 7])):
        alone = stack_seeds(lambda: mlp([2, 8, 1]), [seed])
        xi, yi = x[i : i + 1], y[i : i + 1]
        solo = train_stack(alone, StackData(xi, yi, shared=False), loop, [shuffle], at_epoch=mse_on(xi, yi))
        assert np.array_equal(solo.batch_loss[:, 0], run.batch_loss[:, i])
        assert [r["train_loss"] for r in solo.epochs] == [r["train_loss"] for r in run.epochs if r["member"] == i]
        for k, v in alone.seed_state_dict(0).items():
            assert torch.equal(v, stacked.seed_state_dict(i)[k]), (i, k)


def test_one_loop_shared_data_is_not_copied_per_member():
    x, y = torch.randn(20, 3), torch.randint(0, 2, (20,))
    data = StackData(x, y, shared=True)
    xb, yb = data.batch(torch.tensor([[0, 5], [5, 19]]))
    assert xb.shape == (2, 2, 3) and torch.equal(xb[1, 0], x[5]) and yb.tolist() == [[y[0], y[5]], [y[5], y[19]]]
    assert data.n == 20


def test_allocator_keeps_freed_memory_on_glibc():
    """configure() turns off glibc's unmap-on-free for large blocks (no page faults per step)."""
    import platform

    from annstudy.engine.device import keep_freed_memory

    assert keep_freed_memory() is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def test_stacked_evaluation_batch_fits_the_caches_on_cpu_and_keeps_the_numbers():
    """cnn_bn4's largest layer output, 3 seeds, bounds the CPU batch; an MLP keeps the requested one."""
    from annstudy.engine.evaluation import CPU_ACTIVATION_BYTES, evaluate_stacked, stacked_eval_batch

    torch.manual_seed(0)
    x, y = torch.randn(600, 1, 28, 28), torch.randint(0, 10, (600,))
    big = stack_seeds(lambda: build_model("cnn_bn4", (1, 28, 28)), [0, 1, 2]).use_channels_last()
    plain, widest = build_model("cnn_bn4", (1, 28, 28)).eval(), 0
    with torch.no_grad():
        h = x[:1]
        for layer in plain:  # the plain model's largest layer output, times the 3 seeds
            h = layer(h)
            widest = max(widest, h.numel())
    largest = 3 * widest
    batch = stacked_eval_batch(big, x, 2000)
    assert 100 < batch < 2000 and batch == CPU_ACTIVATION_BYTES // (largest * 4)
    small = stack_seeds(lambda: build_model("mlp_1", (1, 28, 28)), [0, 1, 2])
    assert stacked_eval_batch(small, x, 2000) == 2000
    capped = evaluate_stacked(big, x, y, 2000)
    whole = evaluate_stacked(big, x, y, 2000, fit_caches=False)
    for a, b in zip(capped, whole):
        assert a.acc == b.acc and torch.equal(a.preds, b.preds) and a.loss == pytest.approx(b.loss, rel=1e-6)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda: bool, mps: bool, expected: str):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    for missing in [name for name, there in (("cuda", cuda), ("mps", mps)) if not there]:
        with pytest.raises(RuntimeError, match=f"device: {missing} was requested but no {missing.upper()} device"):
            resolve_device(missing)
