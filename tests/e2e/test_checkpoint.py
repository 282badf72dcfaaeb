"""Resumable training: a run killed after an epoch and resumed equals the uninterrupted run, bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from ruamel.yaml import YAML
from torch import nn

from annstudy.engine import seeds
from annstudy.engine.checkpoint import Checkpoint
from annstudy.engine.evaluation import stacked_accuracy
from annstudy.engine.loop import StackData, train_stack
from annstudy.models.stacked import stack_seeds
from annstudy.store.records import read_record
from conftest import blobs_dataset, write_prepared_blobs
from helpers.training import LOOP, small_train_settings, three_class_points


class Killed(Exception):
    """Stands for the SIGKILL: raised once an epoch has trained, before its checkpoint is written."""


def _train(checkpoint: Checkpoint | None = None, kill_in_epoch: int = 0):
    x, y, xv, yv = three_class_points()
    model = stack_seeds(lambda: nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3)), [3, 4])
    ended = {"epochs": 0}

    def at_epoch(m):
        ended["epochs"] += 1
        if ended["epochs"] == kill_in_epoch:  # the epoch trained, its checkpoint not yet written
            raise Killed
        return stacked_accuracy(m, xv, yv, 7, with_loss=True)

    run = train_stack(
        model,
        StackData(x, y, shared=True),
        LOOP,
        [5, 6],
        at_log=lambda m: stacked_accuracy(m, xv, yv, 7),
        at_epoch=at_epoch,
        checkpoint=checkpoint,
    )
    return run, model


def _same(a, b) -> None:
    assert a.curve == b.curve and a.epochs == b.epochs and a.steps == b.steps
    assert a.stopped_epoch == b.stopped_epoch and a.best_epoch == b.best_epoch
    np.testing.assert_array_equal(a.batch_loss, b.batch_loss)  # NaN where a member rested, in the same places


def test_killed_and_resumed_equals_uninterrupted(tmp_path):
    whole, whole_model = _train()
    assert len(whole.epochs) >= 6 and whole.resumed_epoch == 0
    ckpt = Checkpoint.for_run(tmp_path / "ckpt", {"loop": LOOP})
    with pytest.raises(Killed):
        _train(ckpt, kill_in_epoch=3)
    assert ckpt.path.exists() and torch.load(ckpt.path, weights_only=False).epoch == 2
    resumed, resumed_model = _train(ckpt)
    assert resumed.resumed_epoch == 2
    _same(whole, resumed)
    for k, v in whole_model.state_dict().items():
        assert torch.equal(v, resumed_model.state_dict()[k]), k


def test_an_unreadable_checkpoint_means_starting_over(tmp_path, capsys):
    ckpt = Checkpoint.for_run(tmp_path / "ckpt", {"loop": LOOP})
    ckpt.directory.mkdir()
    ckpt.path.write_bytes(b"cut short by the kill")
    whole, _ = _train()
    again, _ = _train(ckpt)
    assert again.resumed_epoch == 0 and "unreadable" in capsys.readouterr().out
    _same(whole, again)


def test_other_settings_never_resume_from_a_checkpoint(tmp_path):
    a = Checkpoint.for_run(tmp_path, {"lr": 0.1, "seeds": [0, 1]})
    assert a == Checkpoint.for_run(tmp_path, {"seeds": [0, 1], "lr": 0.1})
    assert a.path != Checkpoint.for_run(tmp_path, {"lr": 0.01, "seeds": [0, 1]}).path
    assert a.part([0]).path != a.part([1]).path and a.part([0]).path.parent == tmp_path
    a.save({"epoch": 1})
    assert a.load() is None  # not a Snapshot (another version of the loop): start over
    a.clear()
    assert not tmp_path.exists()


def test_one_seed_at_a_time_resumes_every_seed_from_its_own_file(tmp_path, monkeypatch):
    """``vectorize_seeds: false``: each seed is a stack of one with its own checkpoint file; killed in seed 1's
    second epoch and rerun, seed 0 resumes from its epoch 2 and seed 1 from its epoch 1, to identical runs."""
    data, cfg = blobs_dataset(), small_train_settings(seeds=(0, 1), epochs=3, vectorize=False)
    whole = seeds.train_seeds("mlp_1", data, cfg, bar=False)
    ckpt = Checkpoint.for_run(tmp_path / "ckpt", {"cfg": cfg})
    real, ended = seeds.stacked_accuracy, {"epochs": 0}

    def killed_in_the_fifth_epoch(model, x, y, batch_size, with_loss=False):
        ended["epochs"] += with_loss  # the full-validation pass after each epoch
        if ended["epochs"] == 5:
            raise Killed
        return real(model, x, y, batch_size, with_loss)

    monkeypatch.setattr(seeds, "stacked_accuracy", killed_in_the_fifth_epoch)
    with pytest.raises(Killed):
        seeds.train_seeds("mlp_1", data, cfg, checkpoint=ckpt, bar=False)
    monkeypatch.undo()
    assert [torch.load(ckpt.part([s]).path, weights_only=False).epoch for s in (0, 1)] == [2, 1]
    resumed = seeds.train_seeds("mlp_1", data, cfg, checkpoint=ckpt, bar=False)
    for a, b in zip(whole, resumed, strict=True):
        assert a.seed == b.seed and a.curve == b.curve and a.epochs == b.epochs and a.steps == b.steps
        assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)


@pytest.mark.slow
def test_stage_killed_during_an_epoch_resumes_to_identical_outputs(params, tmp_path):
    """`python stages/architectures.py train mlp_1` SIGKILLed after its first checkpoint, rerun: the
    weights and curves equal those of a run never interrupted, and no checkpoint is left behind."""
    repo = Path(__file__).resolve().parents[2]
    params["profile"] = "smoke"
    params["studies"]["architectures"] |= {"archs": ["mlp_1"], "epochs": 4, "train_limit": 0, "log_every": 40}
    runs = {}
    for name in ("whole", "killed"):
        root = tmp_path / name
        write_prepared_blobs(root, "fashion_mnist", n_per_class=600)  # 6,000 images: 108 steps an epoch
        YAML().dump(params, root / "params.yaml")
        cmd = [sys.executable, str(repo / "stages/architectures.py"), "train", "mlp_1"]
        env = {**os.environ, "PYTHONPATH": str(repo / "src")}
        if name == "killed":
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            checkpoints = root / "data/checkpoints/architectures/mlp_1"
            while not any(checkpoints.glob("*.pt")) and proc.poll() is None:
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL, "the stage finished before it could be killed"
            assert not (root / "data/architectures/train/mlp_1").exists()  # nothing half-written
        done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert ("resumed from the checkpoint of epoch" in done.stdout) == (name == "killed")
        assert not (root / "data/checkpoints/architectures/mlp_1").exists()
        runs[name] = root / "data/architectures/train/mlp_1"
    whole, killed = (read_record(runs[n]) for n in ("whole", "killed"))
    assert whole.table("curves").equals(killed.table("curves")) and len(whole.table("epochs")) == 2 * 4
    assert whole.table("epochs").equals(killed.table("epochs"))
    a, b = (torch.load(runs[n] / "weights.pt", weights_only=False) for n in ("whole", "killed"))
    assert a.keys() == b.keys() and all(torch.equal(a[s][k], b[s][k]) for s in a for k in a[s])
