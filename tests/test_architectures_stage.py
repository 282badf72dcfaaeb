"""S1's train and evaluate stages on a tiny prepared dataset: what their records hold."""

from __future__ import annotations

import pytest
import torch

from annstudy.engine.flops import training_flops_per_sample
from annstudy.params import settings_from_raw
from annstudy.records import read_record
from annstudy.studies.architectures.run import STEPS, eval_dir, train_dir
from conftest import write_prepared_blobs


def test_train_records_throughput_and_evaluate_records_every_seed(params, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_prepared_blobs(tmp_path, "fashion_mnist")
    params["profile"] = "smoke"
    params["studies"]["architectures"]["archs"] = ["lenet5"]
    settings = settings_from_raw(params)
    assert STEPS["train"](settings, "lenet5") == train_dir("lenet5")
    run = read_record(train_dir("lenet5")).summary
    flops = training_flops_per_sample("lenet5", (1, 28, 28), torch.device("cpu"))
    assert run["train_mflop_per_sample"] == round(flops / 1e6, 4) and flops > 1e6
    for seed in run["seeds"]:
        assert seed["gflop_per_second"] == pytest.approx(seed["samples_per_second"] * flops / 1e9, rel=1e-3, abs=0.01)

    assert STEPS["evaluate"](settings, "lenet5") == eval_dir("lenet5")
    evaluation = read_record(eval_dir("lenet5")).summary
    assert [r["seed"] for r in evaluation["per_seed"]] == [0, 1]
    for row in evaluation["per_seed"]:
        assert {f"{s}_{m}" for s in ("train", "val", "test") for m in ("loss", "acc")} <= row.keys()
        assert 0 <= row["test_acc"] <= 1 and row["test_loss"] > 0
    assert sum(map(sum, evaluation["confusion"])) == 10 * 20  # every test image once
