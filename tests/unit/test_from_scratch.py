"""S7 from scratch: NumPy MLP and conv2d against PyTorch, and the stages on tiny data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from annstudy.data.prepared import save_prepared
from annstudy.params.settings import settings_from_raw
from annstudy.scratch import mlp
from annstudy.scratch.conv2d import KERNELS, conv2d, kernel_bank
from annstudy.store.records import read_record
from annstudy.studies.from_scratch import report
from annstudy.studies.from_scratch.run import check_conv2d, gradient_check, shown_images, torch_grads, train_mlps
from conftest import blobs_dataset


def _blobs_numpy(seed: int = 0):
    data = blobs_dataset(seed=seed)
    flat = lambda s: (s.x.flatten(1).numpy(), s.y.numpy())  # noqa: E731
    return flat(data.train), flat(data.val)


# ------------------------------------------------------------------ MLP


def test_gradients_equal_torch_autograd_in_float64():
    rng = np.random.default_rng(3)
    # Larger weights than the 0.01 init, so ReLUs are mixed and every gradient is far from 0.
    params = mlp.MLPParams(
        W1=rng.standard_normal((20, 16)),
        b1=rng.standard_normal(16),
        W2=rng.standard_normal((16, 5)),
        b2=rng.standard_normal(5),
    )
    x, y = rng.standard_normal((32, 20)), rng.integers(0, 5, 32)
    loss, ours = mlp.loss_and_grads(params, x, y)
    theirs = torch_grads(params, x, y)
    for name, grad in ours.arrays().items():
        assert grad.shape == params.arrays()[name].shape and grad.dtype == np.float64
        assert np.abs(grad).max() > 1e-3
        assert np.abs(grad - theirs[name]).max() <= 1e-6
    ref = F.cross_entropy(
        torch.from_numpy(np.maximum(x @ params.W1 + params.b1, 0) @ params.W2 + params.b2), torch.from_numpy(y)
    )
    assert abs(loss - ref.item()) <= 1e-12
    check = gradient_check(params.astype(np.float32), x.astype(np.float32), y)
    assert check["max_abs_diff"] <= 1e-6 and set(check["params"]) == {"W1", "b1", "W2", "b2"}


def test_init_is_small_random_weights_and_zero_biases():
    p = mlp.init_params(784, 64, 10, np.random.default_rng(0))
    assert p.W1.shape == (784, 64) and p.W2.shape == (64, 10) and p.W1.dtype == np.float32
    assert not p.b1.any() and not p.b2.any()
    assert abs(p.W1.std() - 0.01) < 0.001
    x = np.random.default_rng(1).uniform(-1, 1, (50, 784)).astype(np.float32)
    loss = mlp.cross_entropy(mlp.forward(p, x).probs, np.zeros(50, dtype=np.int64))
    assert abs(loss - math.log(10)) < 0.05  # near-uniform first predictions


def test_numpy_mlp_learns_a_separable_problem_deterministically():
    (x, y), val = _blobs_numpy()
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(0)
        params = mlp.init_params(x.shape[1], 16, 3, rng)
        history = mlp.train(params, x, y, lr=0.2, batch_size=16, epochs=20, rng=rng, val=val, log_every=8)
        runs.append((params, history))
    (params, history), (again, _) = runs
    assert history.diverged_step is None
    assert [r.step for r in history.rows][:3] == [8, 16, 24] and history.rows[-1].step == 20 * 8
    assert history.rows[-1].train_loss < history.rows[0].train_loss
    assert mlp.accuracy(params, *val) > 0.9  # chance is 1/3
    assert mlp.predict(params, x).shape == (120,)
    assert all(np.array_equal(a, b) for a, b in zip(params.arrays().values(), again.arrays().values()))


def test_divergence_is_recorded_not_raised():
    (x, y), _ = _blobs_numpy()
    x = x.copy()
    x[:] = np.nan
    history = mlp.train(
        mlp.init_params(x.shape[1], 8, 3, np.random.default_rng(0)),
        x,
        y,
        lr=0.1,
        batch_size=16,
        epochs=2,
        rng=np.random.default_rng(0),
    )
    assert history.diverged_step == 1 and history.rows == []


# ------------------------------------------------------------------ conv2d


@pytest.mark.parametrize(
    "shape",
    [
        (2, 1, 9, 9, 3, 3, 3),
        (3, 4, 11, 9, 5, 3, 2),
        (2, 3, 8, 12, 2, 1, 5),
        (1, 2, 7, 7, 4, 7, 7),
        (4, 3, 16, 10, 6, 2, 4),
    ],
)
def test_conv2d_equals_torch(shape):
    n, c, h, w, o, kh, kw = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    k = rng.standard_normal((o, c, kh, kw), dtype=np.float32)
    b = rng.standard_normal(o, dtype=np.float32)
    ours = conv2d(x, k, b)
    theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(k), torch.from_numpy(b)).numpy()
    assert ours.shape == (n, o, h - kh + 1, w - kw + 1) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() <= 1e-5


def test_conv2d_kernels_and_bad_shapes():
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)  # a ramp: +1 per column, +5 per row
    maps = conv2d(x, kernel_bank(["identity", "sobel_x", "sobel_y", "laplacian", "box_blur"]))
    assert np.array_equal(maps[0, 0], x[0, 0, 1:-1, 1:-1])
    assert np.all(maps[0, 1] == 8) and np.all(maps[0, 2] == 40)  # (1+2+1)*2 and (1+2+1)*10
    assert np.all(maps[0, 3] == 0) and np.allclose(maps[0, 4], x[0, 0, 1:-1, 1:-1])  # linear ramp
    assert set(KERNELS) >= {"sobel_x", "gaussian_blur", "sharpen"}
    with pytest.raises(ValueError, match="channels"):
        conv2d(np.zeros((1, 2, 5, 5)), np.zeros((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="larger than the image"):
        conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="unknown kernel"):
        kernel_bank(["sobel_z"])


def test_shown_images_take_one_per_class_first():
    y = np.array([2, 2, 0, 1, 0, 2])
    assert shown_images(y, 3).tolist() == [2, 3, 0]
    assert shown_images(y, 5).tolist() == [2, 3, 0, 1, 4]


# ------------------------------------------------------------------ the stages end to end


def test_smoke_stages_and_report_section(params, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = blobs_dataset(n_per_class=60)
    tensors = {f"{k}_{s}": getattr(getattr(data, s), k) for s in ("train", "val", "test") for k in ("x", "y")}
    sizes = {s: len(getattr(data, s).y) for s in ("train", "val", "test")}  # the report's Wilson interval needs it
    meta = {**data.meta, "scaling": {"scale": 1.0, "offset": 0.0}, "sizes": sizes}
    save_prepared("data/prepared/fashion_mnist", tensors, meta)
    params["profile"] = "smoke"
    params["device"] = "cpu"
    params["studies"]["from_scratch"] |= {"epochs": 15, "hidden": 16, "lr": 0.2, "batch_size": 16}
    settings = settings_from_raw(params)
    assert settings.studies["from_scratch"].seeds == (0, 1) and settings.studies["from_scratch"].log_every == 5

    train_mlps(settings)
    check_conv2d(settings)
    section = report.build(settings, tmp_path / "reports")
    m = section.metrics
    assert set(m) == {"n_test", "numpy_mlp", "torch_mlp", "grad_check", "conv2d"}
    assert set(m["numpy_mlp"]) == {"test_acc", "test_acc_std"} and m["numpy_mlp"]["test_acc"] > 0.9  # chance 1/3
    assert m["torch_mlp"]["test_acc"] > 0.9
    assert m["grad_check"]["max_abs_diff"] <= 1e-6
    assert m["conv2d"]["max_abs_diff"] <= 1e-5
    assert section.blocks[0].text == "S7 From scratch"
    # the NumPy MLP's bar, then the two exact checks: every one computed as supported by report/claims.py
    assert [f.claim.status.value for f in section.findings] == ["supported"] * 3
    assert section.findings[1].claim.statement == "the NumPy gradients agree with torch autograd"
    assert (tmp_path / "reports/figures/from_scratch_mlp_curves.png").is_file()
    assert (tmp_path / "reports/figures/from_scratch_feature_maps.png").is_file()
    maps = np.load("data/from_scratch/conv2d/maps.npy")
    assert maps.shape == (6, len(settings.studies["from_scratch"].kernels), 6, 6)
    curves = read_record("data/from_scratch/mlp").table("curves")["step"].to_numpy()
    steps_per_epoch = math.ceil(180 / 16)
    assert curves.max() == 15 * steps_per_epoch


def test_sigmoid_mse_network_gradients_match_autograd_and_it_learns():
    """S4's Exercise 1 in NumPy: hand-derived gradients equal autograd's (float64) and GD learns."""
    import numpy as np

    from annstudy.scratch import sigmoid_net

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    x = rng.normal(size=(90, 1, 4, 4)) * 0.3
    x[np.arange(90), 0, y, :] += 1.0  # class c lights up row c
    weights = sigmoid_net.init_weights(16, 3, seed=1, dtype=np.float64)
    assert weights.shape == (17, 3)  # the bias is the last row
    assert sigmoid_net.autograd_difference(weights, x, y, 3) < 1e-15
    run = sigmoid_net.train(x, y, x, y, lr=5.0, steps=200, seed=0)
    assert len(run.losses) == 201 and run.losses[-1] < run.losses[0] / 3
    assert run.test_acc == 1.0


def _grad_record(diffs: dict[str, float]) -> dict:
    params = {name: {"max_abs_diff": d, "max_abs_grad": 0.1} for name, d in diffs.items()}
    return {"dtype": "float64", "max_abs_diff": max(diffs.values()), "initial": {"params": params}}


def test_difference_figure_draws_every_difference_and_says_so(tmp_path):
    """Three panels with a loss gap, two without; an exact 0 is counted in the caption, not lost on the log axis."""
    import pandas as pd
    from matplotlib.image import imread

    grad = _grad_record({"W1": 2e-17, "b1": 0.0})
    conv = {"kernel_bank": {"w": [6, 1, 3, 3], "max_abs_diff": 0.0}, "max_abs_diff": 4e-6}
    conv["random_cases"] = [{"w": [3, 1, 3, 3], "max_abs_diff": 4e-6}]
    curves = pd.DataFrame(
        {"impl": ["numpy", "torch"] * 2, "seed": [0] * 4, "step": [10, 10, 20, 20], "train_loss": [1, 1, 0.5, 0.501]}
    )
    (fig,) = report.difference_blocks(grad, conv, curves, tmp_path)
    assert "1 of 2 cases equal exactly" in fig.caption and "reaches 1.0e-03 nats" in fig.caption
    three = imread(tmp_path / fig.path)
    cases = [("kernel bank", 0.0), ("3×1×3×3", 4e-6)]
    two = imread(report.difference_figure(grad, cases, None, tmp_path / "two.png"))
    assert three.shape[1] > 1.3 * two.shape[1]  # the loss panel adds a third column
