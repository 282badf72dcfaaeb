"""The one record format (annstudy.store.records): dvclive in, the very same numbers out."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from annstudy.store.records import (
    log_mean,
    log_summary,
    log_table,
    merge_timing,
    prepare_record_dir,
    prepare_stage_seconds,
    read_record,
    record_prepare,
    recording,
    split_timing,
)

CURVES = pd.DataFrame(
    {
        "seed": [0, 0, 0, 1, 1, 1],
        "step": [0, 10, 20, 0, 10, 20],
        "epoch": [0, 1, 2, 0, 1, 2],
        "train_loss": [2.302585092994046, 1.0 / 3.0, 1e-7 / 3.0, np.nan, np.inf, 0.1 + 0.2],
        "diverged": [False, False, False, True, True, True],
    }
)


def _write(out: Path) -> None:
    with recording(out, started=time.perf_counter()) as live:
        log_table(live, "curves", CURVES, keys=["seed"])
        log_table(live, "curves_mean", CURVES.groupby("step", as_index=False)[["epoch", "train_loss"]].mean())
        log_summary(live, {"seeds": [{"seed": 0, "test_acc": 0.1 + 0.2}, {"seed": 1, "test_acc": None}]})


@pytest.fixture
def git_repo(tmp_path, monkeypatch):
    """An empty git repository as the working directory (dvclive would run `dvc init` in one)."""
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    return tmp_path


def test_tables_read_back_as_logged_with_floats_at_six_digits(git_repo):
    _write(git_repo / "out")
    curves = read_record(git_repo / "out").table("curves")
    assert list(curves.columns) == ["seed", "step", "epoch", "train_loss", "diverged"]
    assert curves["seed"].tolist() == [0, 0, 0, 1, 1, 1] and curves["step"].tolist() == [0, 10, 20, 0, 10, 20]
    assert curves["epoch"].dtype == np.int64 and curves["diverged"].dtype == bool
    # exactly float("%.6g" % x): the precision of the TSVs this format replaces
    assert curves["train_loss"].tolist()[:3] == [2.30259, 0.333333, 3.33333e-08]
    assert np.isnan(curves["train_loss"][3]) and curves["train_loss"][4] == np.inf
    assert curves["train_loss"][5] == 0.3


def test_mean_curve_has_its_own_metrics_without_keys(git_repo):
    _write(git_repo / "out")
    mean = read_record(git_repo / "out").table("curves_mean")
    assert list(mean.columns) == ["step", "epoch", "train_loss"] and mean["step"].tolist() == [0, 10, 20]
    assert mean["epoch"].tolist() == [0.0, 1.0, 2.0]
    assert mean["train_loss"][2] == float(f"{(1e-7 / 3.0 + 0.3) / 2:.6g}")
    live = git_repo / "out/live/plots/metrics"
    assert (live / "curves_mean/mean/train_loss.tsv").read_text().splitlines()[0] == "step\ttrain_loss"
    assert (live / "curves/seed=1/train_loss.tsv").read_text().splitlines() == [
        "step\ttrain_loss",
        "0\tnan",
        "10\tinf",
        "20\t0.3",
    ]


def test_summary_keeps_full_precision_and_the_wall_time_only(git_repo):
    _write(git_repo / "out")
    record = read_record(git_repo / "out")
    assert record.summary["seeds"] == [{"seed": 0, "test_acc": 0.30000000000000004}, {"seed": 1, "test_acc": None}]
    assert set(record.summary) == {"seeds", "wall_seconds"}  # not dvclive's last row of every table, no "step"
    assert 0 <= record.wall_seconds < 60


def test_nothing_outside_the_live_directory_is_touched(git_repo):
    _write(git_repo / "out")
    files = sorted(str(p.relative_to(git_repo)) for p in git_repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    assert all(f.startswith("out/live/") for f in files), files
    assert not (git_repo / "dvc.yaml").exists() and not (git_repo / ".dvc").exists()
    assert not (git_repo / "out/live/report.html").exists() and not (git_repo / "out/live/dvc.yaml").exists()
    status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
    assert status == "?? out/\n"
    assert subprocess.run(["git", "rev-parse", "--verify", "HEAD"], capture_output=True).returncode != 0  # no commit


def test_identical_input_writes_identical_bytes_the_clock_apart(git_repo):
    """Only live/timing.json (hidden from DVC by .dvcignore) differs: the out's hash is the input's."""
    _write(git_repo / "a")
    _write(git_repo / "b")
    a, b = git_repo / "a/live", git_repo / "b/live"
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file()) and len(names) == 11
    for name in names:
        if name != "timing.json":
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert json.loads((a / "metrics.json").read_text())["wall_seconds"] is None
    assert set(json.loads((a / "timing.json").read_text())) == {"wall_seconds"}
    assert "timing.json" in (Path(__file__).parents[2] / ".dvcignore").read_text().splitlines()


def test_the_clock_is_split_out_at_any_depth_and_merged_back():
    summary = {
        "arch": "mlp_1",
        "wall_seconds": 2.5,
        "seeds": [{"seed": 0, "train_seconds": 1.25, "samples_per_second": 800.0}, {"seed": 1, "train_seconds": 0.0}],
        "variants": [{"name": "a", "seconds": 3.0, "per_seed": [{"seed": 0}]}],
    }
    stable, timing = split_timing(summary)
    assert stable == {
        "arch": "mlp_1",
        "wall_seconds": None,
        "seeds": [{"seed": 0, "train_seconds": None, "samples_per_second": None}, {"seed": 1, "train_seconds": None}],
        "variants": [{"name": "a", "seconds": None, "per_seed": [{"seed": 0}]}],
    }
    assert timing == {
        "wall_seconds": 2.5,
        "seeds": {"0": {"train_seconds": 1.25, "samples_per_second": 800.0}, "1": {"train_seconds": 0.0}},
        "variants": {"0": {"seconds": 3.0}},
    }
    assert merge_timing(*split_timing(summary)) == summary
    assert split_timing({"seed": 0}) == ({"seed": 0}, None)
    # restored from DVC's cache: no timing.json, the stage did not run
    restored = merge_timing(stable, None)
    assert restored["wall_seconds"] == 0.0 and restored["seeds"][0] == {
        "seed": 0,
        "train_seconds": 0.0,
        "samples_per_second": None,
    }
    assert restored["variants"][0]["seconds"] == 0.0


def test_a_record_without_its_timing_reads_back_as_zero_seconds(git_repo):
    _write(git_repo / "out")
    (git_repo / "out/live/timing.json").unlink()
    record = read_record(git_repo / "out")
    assert record.wall_seconds == 0.0 and record.summary["seeds"][0]["test_acc"] == 0.30000000000000004


def test_a_rerun_replaces_the_old_record(git_repo):
    _write(git_repo / "out")
    with recording(git_repo / "out") as live:
        log_table(live, "curves", CURVES[CURVES["seed"] == 0], keys=["seed"])
    assert not (git_repo / "out/live/plots/metrics/curves/seed=1").exists()
    assert not (git_repo / "out/live/plots/metrics/curves_mean").exists()
    assert read_record(git_repo / "out").table("curves")["seed"].tolist() == [0, 0, 0]


def test_an_empty_table_reads_back_with_its_columns(git_repo):
    with recording(git_repo / "out") as live:
        log_table(live, "epochs", pd.DataFrame(columns=["seed", "epoch", "step", "val_acc"]), keys=["seed"])
    epochs = read_record(git_repo / "out").table("epochs")
    assert epochs.empty and list(epochs.columns) == ["seed", "epoch", "step", "val_acc"]


def test_a_step_that_repeats_within_a_group_is_refused(git_repo):
    with recording(git_repo / "out") as live, pytest.raises(ValueError, match="repeats within group"):
        log_table(live, "curves", CURVES, keys=())


def test_a_missing_record_names_its_path(git_repo):
    with pytest.raises(FileNotFoundError, match=r"train/mlp_1/live/metrics.json: missing"):
        read_record(git_repo / "data/train/mlp_1")


def test_prepare_record_sits_beside_the_data(git_repo):
    data = git_repo / "data/prepared/digits"
    data.mkdir(parents=True)
    assert prepare_stage_seconds(data) == {}
    started = time.perf_counter()
    assert record_prepare(data, "hyperparameters_prepare", started) == prepare_record_dir(data)
    assert prepare_record_dir(data) == git_repo / "data/prepared/digits.live"
    assert list(data.iterdir()) == []  # the data's hash does not change with the wall time
    seconds = prepare_stage_seconds(data)
    assert list(seconds) == ["hyperparameters_prepare"] and 0 <= seconds["hyperparameters_prepare"] < 60


def test_a_rerun_prepare_stage_writes_the_same_record_bytes(git_repo):
    """The clock goes to timing.json (ignored by DVC), so a forced prepare leaves its record's
    hash, and the stages that depend on the record, as they were."""
    data = git_repo / "data/spiral/prepared"
    data.mkdir(parents=True)
    record = prepare_record_dir(data) / "metrics.json"
    record_prepare(data, "spiral_prepare", time.perf_counter() - 1.5)
    first = record.read_bytes()
    record_prepare(data, "spiral_prepare", time.perf_counter() - 4.25)
    assert record.read_bytes() == first
    assert json.loads(first) == {"stage": "spiral_prepare", "wall_seconds": None}
    assert 4.25 <= prepare_stage_seconds(data)["spiral_prepare"] < 60


def test_mean_over_seeds_keeps_other_groups_apart(git_repo):
    frame = pd.DataFrame(
        {
            "impl": ["numpy", "numpy", "numpy", "numpy", "torch", "torch"],
            "seed": [0, 0, 1, 1, 0, 0],
            "step": [1, 2, 1, 2, 1, 2],
            "loss": [1.0, 0.5, 3.0, 1.5, 2.0, 0.25],
            "diverged": [False] * 6,
        }
    )
    with recording(git_repo / "out") as live:
        log_mean(live, "curves", frame, by=["impl"])
    mean = read_record(git_repo / "out").table("curves_mean")
    assert list(mean.columns) == ["impl", "step", "loss"]  # the bool flag is no curve to average
    assert mean.to_dict("list") == {
        "impl": ["numpy", "numpy", "torch", "torch"],
        "step": [1, 2, 1, 2],
        "loss": [2.0, 1.0, 2.0, 0.25],
    }
    assert (git_repo / "out/live/plots/metrics/curves_mean/impl=torch/loss.tsv").is_file()


def test_dvclive_test_mode_does_not_move_the_record(git_repo, monkeypatch):
    monkeypatch.setenv("DVCLIVE_TEST", "true")
    _write(git_repo / "out")
    assert read_record(git_repo / "out").table("curves")["seed"].tolist() == [0, 0, 0, 1, 1, 1]
