"""The CUDA path: stacked equals alone, identical reruns, float32 numerics (TF32 and AMP off).

Skipped without a GPU (CI has none); run on a GPU machine with ``pytest -m cuda``.
The same checks run on CPU in test_stacked.py; here they catch what only the GPU
kernels can break: cuDNN's choice of algorithm, cuBLAS workspaces, TF32 defaults.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from annstudy.data.prepared import PreparedDataset, Split
from annstudy.engine.device import configure, describe
from annstudy.engine.seeds import train_seeds
from annstudy.models.stacked import StackedNet
from annstudy.models.zoo import build_model
from conftest import blobs_dataset
from helpers.training import small_train_settings as cfg
from helpers.training import without_dropout

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

# cuDNN picks other algorithms for a grouped (stacked) convolution than for a plain one:
# the sums add in another order, and Adam's normalisation magnifies that float32 noise in
# near-zero gradients over two epochs. Measured on an H100 (torch 2.11, cuDNN 9.19): at most
# 3.1e-4 relative (cnn_3's first conv weight); every other tensor and architecture under
# 1e-4. A different computation (wrong member, wrong statistics) errs by 1e-2 or more.
RTOL = 1e-3


def on_cuda(data: PreparedDataset) -> PreparedDataset:
    """The dataset with every split moved to the GPU (the engine trains where the data is)."""
    move = lambda s: Split(s.x.cuda(), s.y.cuda())  # noqa: E731
    return PreparedDataset(data.name, move(data.train), move(data.val), move(data.test), data.meta)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    num = torch.linalg.vector_norm((a.cpu() - b.cpu()).double()).item()
    return num / max(torch.linalg.vector_norm(b.cpu().double()).item(), 1e-12)


@pytest.fixture(autouse=True)
def deterministic_cuda():
    configure(deterministic=True, num_threads=0)
    yield


# cnn_bn4 has dropout, whose masks come from one stream for the whole stack (not the same
# masks as alone): its BatchNorm is checked without dropout below.
@pytest.mark.parametrize("arch, size", [("mlp_1", 8), ("cnn_4", 24), ("lenet5", 12), ("cnn_3", 28)])
def test_stacked_equals_alone_on_cuda(arch, size):
    data = on_cuda(blobs_dataset(size=size))
    c = cfg(optimizer="adam", channels_last=True, vectorize=True)
    one_by_one = train_seeds(arch, data, replace(c, vectorize=False), bar=False)  # stacks of one
    for run, alone in zip(train_seeds(arch, data, c, bar=False), one_by_one, strict=True):
        assert run.seed == alone.seed and run.group == (0, 1, 2) and alone.group == (run.seed,)
        losses = [torch.tensor([r["train_loss"] for r in x.curve]) for x in (run, alone)]
        assert rel_err(losses[0], losses[1]) <= RTOL, (arch, run.seed, "losses")
        assert run.state_dict.keys() == alone.state_dict.keys()
        for k in alone.state_dict:
            if alone.state_dict[k].is_floating_point():
                assert rel_err(run.state_dict[k], alone.state_dict[k]) <= RTOL, (arch, run.seed, k)


def test_batchnorm_keeps_per_seed_statistics_on_cuda():
    shape, seeds = (1, 16, 16), [0, 1, 2]
    models = []
    for s in seeds:
        torch.manual_seed(s)
        models.append(without_dropout(build_model("cnn_bn4", shape, 3)).cuda())
    stacked = StackedNet(models).cuda()
    alone = [without_dropout(build_model("cnn_bn4", shape, 3)).cuda() for _ in seeds]
    for m, src in zip(alone, models):
        m.load_state_dict(src.state_dict())
    opt_s = torch.optim.SGD(stacked.parameters(), 0.05)
    opts = [torch.optim.SGD(m.parameters(), 0.05) for m in alone]
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = torch.randn(len(seeds), 8, *shape, generator=g).cuda()
        y = torch.randint(0, 3, (len(seeds), 8), generator=g).cuda()
        logits = stacked(x)
        loss = sum(nn.functional.cross_entropy(logits[s], y[s]) for s in range(len(seeds)))
        opt_s.zero_grad(), loss.backward(), opt_s.step()
        for s, (m, o) in enumerate(zip(alone, opts)):
            o.zero_grad(), nn.functional.cross_entropy(m(x[s]), y[s]).backward(), o.step()
    for s, m in enumerate(alone):
        state = stacked.seed_state_dict(s)
        for k, v in m.state_dict().items():
            assert rel_err(state[k].float(), v.float()) <= RTOL, (s, k)


@pytest.mark.parametrize("arch, size", [("cnn_bn4", 24), ("mlp_2", 8)])
def test_two_identical_runs_are_bit_identical_on_cuda(arch, size):
    data = on_cuda(blobs_dataset(size=size))
    c = cfg(optimizer="sgd", momentum=0.9, lr=0.05, vectorize=True)
    first, second = train_seeds(arch, data, c, bar=False), train_seeds(arch, data, c, bar=False)
    for a, b in zip(first, second, strict=True):
        assert [r["train_loss"] for r in a.curve] == [r["train_loss"] for r in b.curve]
        for k in a.state_dict:
            assert torch.equal(a.state_dict[k], b.state_dict[k]), (arch, a.seed, k)


def test_float32_without_tf32_or_amp_by_default():
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.backends.cudnn.allow_tf32 is False
    assert not torch.is_autocast_enabled("cuda")
    data = on_cuda(blobs_dataset(size=8))
    (run,) = train_seeds("mlp_1", data, cfg(seeds=(0,), epochs=1), bar=False)
    assert all(v.dtype == torch.float32 for v in run.state_dict.values() if v.is_floating_point())
    assert "TF32 off" in describe(torch.device("cuda"))


def test_gpu_training_learns():
    data = on_cuda(blobs_dataset(size=8))
    runs = train_seeds("mlp_1", data, cfg(epochs=5, vectorize=True), bar=False)
    assert all(r.curve[-1]["train_acc"] > 0.9 for r in runs), [r.curve[-1] for r in runs]
