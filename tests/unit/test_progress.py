"""Live progress: a training bar also writes its log steps as a dvclive log outside the outs."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from torch import nn

from annstudy.engine.evaluation import stacked_accuracy
from annstudy.engine.loop import StackData, train_stack
from annstudy.engine.progress import ENV, Bar
from annstudy.models.stacked import stack_seeds
from annstudy.pipeline.stage import _log_progress_to
from helpers.training import LOOP, three_class_points


def _train(progress: Bar | None = None):
    x, y, xv, yv = three_class_points()
    model = stack_seeds(lambda: nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3)), [3, 4])
    return train_stack(
        model,
        StackData(x, y, shared=True),
        LOOP,
        [5, 6],
        at_log=lambda m: stacked_accuracy(m, xv, yv, 7),
        at_epoch=lambda m: stacked_accuracy(m, xv, yv, 7, with_loss=True),
        progress=progress,
    )


def test_a_bar_logs_the_seed_means_of_every_log_step(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path / "progress"))
    with Bar(total=None, desc="train toy") as bar:
        run = _train(bar)
    metrics = tmp_path / "progress" / "train-toy" / "plots" / "metrics"
    curve = pd.DataFrame(run.curve)
    means = curve.groupby("step")[["train_loss", "val_acc"]].mean()
    for name in ("train_loss", "val_acc"):
        logged = pd.read_csv(metrics / f"{name}.tsv", sep="\t")
        assert list(logged["step"]) == [2 * s for s in means.index]  # the bar counts steps of both seeds
        assert logged[name].to_numpy() == pytest.approx(means[name].to_numpy(), rel=1e-9)
    summary = json.loads((tmp_path / "progress" / "train-toy" / "metrics.json").read_text())
    assert summary["train_loss"] == pytest.approx(means["train_loss"].iloc[-1], rel=1e-9)
    assert summary["step"] == 2 * int(means.index[-1])
    assert "<html" in (tmp_path / "progress" / "train-toy" / "report.html").read_text().lower()


def test_progress_changes_nothing_in_the_run_and_is_off_without_a_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with Bar(total=None, desc="train toy") as bar:
        logged = _train(bar)
    assert list(tmp_path.iterdir()) == []  # no progress directory anywhere
    plain = _train()
    assert logged.curve == plain.curve and logged.epochs == plain.epochs


def test_the_stage_runner_starts_each_stage_with_an_empty_progress_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    where = tmp_path / "progress" / "architectures" / "train" / "mlp_1"
    (where / "train-mlp_1").mkdir(parents=True)
    (where / "train-mlp_1" / "metrics.json").write_text("{}")
    _log_progress_to(where)
    assert not where.exists()
    assert os.environ[ENV] == str(where)
    monkeypatch.setenv(ENV, "")  # turned off by the user: nothing removed, nothing set
    (where / "kept").mkdir(parents=True)
    _log_progress_to(tmp_path / "elsewhere")
    assert (where / "kept").exists() and os.environ[ENV] == ""
