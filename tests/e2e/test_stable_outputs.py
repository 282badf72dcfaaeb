"""Outputs are byte-stable: a forced rerun of a training stage leaves its out's hash as it was.

torch.save used to store the temporary file's random name in weights.pt, and the record held
the wall time, so every forced or resumed training changed its hash and DVC reran
evaluate and report for identical tensors (issue 18, probe 4). Wall times live in timing.json.

It starts from a copy of the session's smoke workspace (tests/e2e/conftest.py), where
architectures@mlp_1 (train, then evaluate) has run once already.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from annstudy.store.records import read_record
from conftest import needs_fashion
from helpers.dvc_repo import dvc, out_of_date, ran_stages

pytestmark = [pytest.mark.slow, needs_fashion]


def test_forced_training_twice_writes_the_same_bytes(smoke_run, smoke_copy):
    repo = smoke_copy
    assert {"prepare@fashion_mnist", "architectures@mlp_1"} <= ran_stages(smoke_run.output)
    assert out_of_date(repo, "architectures@mlp_1") == {}
    # the stage's live progress (engine/progress.py): one row per logged step, readable by `dvc plots show`
    progress = repo / "progress/architectures/train/mlp_1/train-mlp_1"
    logged = pd.read_csv(progress / "plots/metrics/train_loss.tsv", sep="\t")
    assert len(logged) == len(read_record(repo / "data/architectures/train/mlp_1").table("curves_mean")) > 0
    shown = json.loads(dvc(repo, "plots", "show", "--json", str(progress / "plots/metrics")))
    assert "errors" not in shown and len(shown["data"]) >= 3  # train_loss, train_acc, val_acc, ...
    weights = (repo / "data/architectures/train/mlp_1/weights.pt").read_bytes()
    metrics = (repo / "data/architectures/train/mlp_1/live/metrics.json").read_bytes()
    evaluated = (repo / "data/architectures/eval/mlp_1/live/metrics.json").read_bytes()
    for _ in range(2):
        assert ran_stages(dvc(repo, "repro", "-f", "-s", "architectures@mlp_1")) == {"architectures@mlp_1"}
        assert (repo / "data/architectures/train/mlp_1/weights.pt").read_bytes() == weights
        assert (repo / "data/architectures/train/mlp_1/live/metrics.json").read_bytes() == metrics
        assert (repo / "data/architectures/eval/mlp_1/live/metrics.json").read_bytes() == evaluated
    assert json.loads(metrics)["wall_seconds"] is None
    timing = json.loads((repo / "data/architectures/train/mlp_1/live/timing.json").read_text())
    assert timing["wall_seconds"] > 0 and set(timing["seeds"]) == {"0", "1"}
    assert ran_stages(dvc(repo, "repro", "architectures@mlp_1")) == {"inputs@fashion_mnist"}
