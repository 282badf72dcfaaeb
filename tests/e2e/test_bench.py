"""`annstudy bench` runs the three loops and ends with the speedup line."""

from __future__ import annotations

import re

import pytest

from annstudy.cli import main
from conftest import ROOT, needs_fashion


@needs_fashion
@pytest.mark.slow
def test_bench_prints_the_three_ways_and_the_speedup(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "--params",
            str(ROOT / "params.yaml"),
            "bench",
            "--arch",
            "mlp_1",
            "--seeds",
            "2",
            "--steps",
            "4",
            "--device",
            "cpu",
            "--cache",
            str(tmp_path / "tv"),
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    ways = [
        m.group(1) for line in lines if (m := re.match(r"  (\([abcd]2?\) [A-Za-z0-9 ,]+?)\s{2,}[\d,]+ samples/s", line))
    ]
    assert ways == [
        "(a) reference loop",
        "(a2) TensorDataset loop",
        "(b) annstudy, one seed",
        "(c) annstudy, vectorized",
        "(d) one model, batch seeds x 50",
        "(c) vectorized, cold",
    ]
    assert re.fullmatch(r"cold/warm vectorized: \d+\.\d\d", lines[-6]), lines
    rates = {
        m.group(1): float(m.group(2).replace(",", ""))
        for line in lines
        if (m := re.match(r"  (\([a-d]2?\) [A-Za-z0-9 ,]+?)\s{2,}([\d,]+) samples/s", line))
    }
    cold_over_warm = rates["(c) annstudy, vectorized"] / rates["(c) vectorized, cold"]  # same samples: time ratio
    assert float(lines[-6].split(": ")[1]) == pytest.approx(cold_over_warm, rel=0.01, abs=0.01), lines
    assert re.fullmatch(r"vectorized/kernel ceiling: \d+\.\d\d", lines[-5]), lines
    shares = [float(m.group(1)) for line in lines if (m := re.search(r"GFLOP/s\s+(\d+\.\d\d) % of peak$", line))]
    assert len(shares) == 6 and all(0 < s <= 100 for s in shares), lines
    assert any(line.startswith("  training FLOPs per sample 0.10 M") for line in lines), lines
    assert re.fullmatch(r"speedup vectorized/reference: \d+\.\d\d", lines[-1])
    assert (tmp_path / "tv/FashionMNIST/raw/train-images-idx3-ubyte").stat().st_size == 47_040_016


def test_training_flops_are_counted_exactly_for_an_mlp():
    """mlp_1 on 28x28: forward 2*784*32 + 2*32*10 per sample; backward a weight gradient for
    both layers and an input gradient for the second only (the images need none)."""
    import torch

    from annstudy.bench.throughput import training_flops_per_sample

    expected = 2 * (2 * 784 * 32) + 3 * (2 * 32 * 10)
    assert training_flops_per_sample("mlp_1", (1, 28, 28), torch.device("cpu")) == expected


def test_measured_peak_is_a_plausible_float32_rate():
    import torch

    from annstudy.bench.throughput import measured_peak_flops

    assert 1e9 < measured_peak_flops(torch.device("cpu")) < 1e14


def test_evaluation_flops_are_the_forward_pass_only():
    import torch

    from annstudy.engine.flops import evaluation_flops_per_sample

    assert evaluation_flops_per_sample("mlp_1", (1, 28, 28), torch.device("cpu")) == 2 * 784 * 32 + 2 * 32 * 10


@needs_fashion
@pytest.mark.slow
def test_eval_bench_measures_one_seed_and_every_stacked_batch(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["--params", str(ROOT / "params.yaml"), "bench", "--eval", "--arch", "mlp_1", "--seeds", "2"]
    assert main([*args, "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    ways = [m.group(1) for line in lines if (m := re.match(r"  (\(e[12]\) [a-z ,\d]+?)\s{2,}[\d,]+ samples/s", line))]
    assert ways == [
        "(e1) one seed, batch 2000",
        "(e2) stacked, batch 2000",
        "(e2) stacked, batch 500",
        "(e2) stacked, batch 250",
        "(e2) stacked, batch 100",
    ]
    assert any(line.startswith("  forward FLOPs per sample 0.05 M") for line in lines), lines
    assert re.fullmatch(r"speedup best stacked \(batch \d+\)/one seed: \d+\.\d\d", lines[-1]), lines
