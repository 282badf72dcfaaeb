"""S5/S6 small networks: generators, CSV input, the member trainer's exactness, early
stopping, params checks and one smoke run of every stage and report section."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import yaml

from annstudy.data.synthetic import bell_2d, linear_1d, nonlinear_1d, read_xy_csv, signals, spirals
from annstudy.engine.members import FitSettings, MemberData, evaluate_members, fit
from annstudy.models.small import mlp, mnist1d_cnn, parse_arch
from annstudy.models.stacked import stack_seeds
from annstudy.params.settings import settings_from_raw, validate
from annstudy.store.records import read_record

# ------------------------------------------------------------------ data


def test_generators_are_deterministic_and_shaped():
    s = spirals(5, 40, 1.0, 0.02, seed=3)
    assert s.x.shape == (200, 2) and np.bincount(s.y).tolist() == [40] * 5
    assert s.x.min() >= -1 and s.x.max() <= 1
    assert np.array_equal(s.x, spirals(5, 40, 1.0, 0.02, seed=3).x)
    b = bell_2d(500, 0.0, seed=1)
    assert np.allclose(b.y, np.exp(-(b.x.astype(np.float64) ** 2).sum(1) / 4), atol=1e-6)
    sig = signals(20, 500, 40.0, 0.1, seed=0)
    assert sig.x.shape == (20, 500) and sig.y.sum() == 10


def test_csv_reader_accepts_good_files_and_names_bad_rows(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("y,x,note\n1.5,2,a\n0.5,1,b\n\n")
    data = read_xy_csv(good)
    assert data.x[:, 0].tolist() == [1.0, 2.0] and data.y.tolist() == [0.5, 1.5]  # sorted by x
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_xy_csv(tmp_path / "missing.csv")
    cols = tmp_path / "cols.csv"
    cols.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"cols\.csv: needs columns x and y"):
        read_xy_csv(cols)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,oops\n")
    with pytest.raises(ValueError, match=r"bad\.csv: row 3: x and y must be numbers"):
        read_xy_csv(bad)


def test_parse_arch_and_cnn_shape():
    assert parse_arch("2-300-100-20-1") == [2, 300, 100, 20, 1]
    with pytest.raises(ValueError, match="2-50-1"):
        parse_arch("2x50")
    assert sum(p.numel() for p in mlp([2, 10, 1]).parameters()) == 41
    assert mnist1d_cnn(40, 10, 25)(torch.zeros(3, 40)).shape == (3, 10)


# ------------------------------------------------------------------ member trainer


def _alone_vs_stacked(make, x, y, cfg, seeds, x_val=None, y_val=None, exact=True):
    """Members trained stacked vs each alone (a stack of one): bit for bit where the stacked ops are
    the same kernels (batched matmuls), to 2e-5 for grouped convolutions (another summation order)."""
    torch.use_deterministic_algorithms(False)
    stacked = stack_seeds(make, seeds)
    res = fit(stacked, MemberData.shared(x, y, len(seeds), x_val, y_val), cfg, seeds)
    for i, seed in enumerate(seeds):
        alone = stack_seeds(make, [seed])
        r1 = fit(alone, MemberData.shared(x, y, 1, x_val, y_val), cfg, [seed])
        for k, v in alone.seed_state_dict(0).items():
            same = torch.equal if exact else lambda a, b: torch.allclose(a, b, atol=2e-5)
            assert same(v, stacked.seed_state_dict(i)[k]), f"member {i} {k} differs alone"
        assert r1.stopped_epoch[0] == res.stopped_epoch[i] and r1.best_epoch[0] == res.best_epoch[i]
        mine = [r for r in res.epochs if r["member"] == i]
        assert [r["epoch"] for r in r1.epochs] == [r["epoch"] for r in mine]
        lone, stack = np.array([r["train_loss"] for r in r1.epochs]), np.array([r["train_loss"] for r in mine])
        assert np.array_equal(lone, stack) if exact else np.allclose(lone, stack, rtol=1e-4, atol=1e-6)
    return stacked, res


def test_stacked_members_train_exactly_as_alone_mlp_and_cnn():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 40, generator=g), torch.randint(0, 10, (64,), generator=g)
    cfg = FitSettings("classification", "adam", 0.01, epochs=2, batch_size=16)
    _alone_vs_stacked(lambda: mlp([40, 16, 10]), x, y, cfg, [0, 1, 2])
    _alone_vs_stacked(lambda: mnist1d_cnn(40, 10, 4), x, y, cfg, [3, 4], exact=False)


def test_early_stopping_is_per_member_and_restores_best_weights():
    data = spirals(3, 60, 0.7, 0.05, seed=0)
    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    cfg = FitSettings(
        "classification", "adam", 0.05, epochs=80, batch_size=32, lr_decay=0.8, lr_decay_every=10, patience=3
    )
    model, res = _alone_vs_stacked(lambda: mlp([2, 8, 3]), x[:120], y[:120], cfg, [0, 1, 2], x[120:], y[120:])
    stopped = [(s, b) for s, b in zip(res.stopped_epoch, res.best_epoch) if s < 80]
    assert stopped, "no member stopped early"
    assert all(s - b == 3 for s, b in stopped)  # stopped exactly `patience` epochs after its best
    val = evaluate_members(model, "classification", x[120:], y[120:], shared=True)["loss"]
    for i in range(3):  # the restored weights are those of the lowest recorded validation loss
        recorded = [r["val_loss"] for r in res.epochs if r["member"] == i]
        assert val[i].item() == pytest.approx(min(recorded), rel=1e-5)
        assert max(r["epoch"] for r in res.epochs if r["member"] == i) == res.stopped_epoch[i]


def test_linear_neuron_recovers_the_line():
    d = linear_1d(2.0, 1.0, 0.1, 200, 10.0, seed=0)
    model = stack_seeds(lambda: mlp([1, 1]), [0, 1])
    cfg = FitSettings("regression", "sgd", 0.01, epochs=60, batch_size=10)
    res = fit(model, MemberData.shared(torch.from_numpy(d.x), torch.from_numpy(d.y), 2), cfg, [0, 1])
    w, b = model.layers[0].weight.detach().view(-1), model.layers[0].bias.detach().view(-1)
    assert torch.allclose(w, torch.tensor(2.0), atol=0.05) and torch.allclose(b, torch.tensor(1.0), atol=0.3)
    assert res.batch_loss.shape == (60 * 20, 2) and res.diverged_step == [None, None]


def test_nonlinear_fit_with_minibatch_sgd_reaches_a_cost_below_0_1():
    """studies.md S5: mini-batch SGD (lr 0.05, batch 20 = 10 % of the 200 points) to a final cost < 0.1 in y units."""
    d = nonlinear_1d(200, 0.1, seed=1)  # the pipeline's data (data_seed 0 + 1)
    x, y = torch.from_numpy(d.x), torch.from_numpy(d.y)
    xs, ys = (x - x.mean()) / x.std(), (y - y.mean()) / y.std()
    model = stack_seeds(lambda: mlp([1, 32, 32, 1]), [0])
    res = fit(model, MemberData.shared(xs, ys, 1), FitSettings("regression", "sgd", 0.05, 100, 20), [0])
    final = evaluate_members(model, "regression", xs, ys, shared=True)["loss"][0] * y.std() ** 2
    assert res.batch_loss.shape == (100 * 10, 1)
    assert final < 0.1 and final < 0.1 * y.var()  # from about 1.1 (the variance of y) at the start


def test_eval_before_adds_an_epoch_zero_row_without_changing_training():
    x, y = torch.randn(60, 4, generator=torch.Generator().manual_seed(0)), torch.arange(60) % 2
    runs = []
    for before in (False, True):
        model = stack_seeds(lambda: mlp([4, 8, 2]), [0, 1])
        cfg = FitSettings("classification", "sgd", 0.1, 2, 10, eval_before=before)
        runs.append(fit(model, MemberData.shared(x, y, 2, x[:20], y[:20]), cfg, [0, 1]))
    plain, with_zero = runs
    assert [r["epoch"] for r in with_zero.epochs] == [0, 0, 1, 1, 2, 2]
    assert with_zero.epochs[2:] == plain.epochs and np.array_equal(with_zero.batch_loss, plain.batch_loss)


def test_bell_answers_keep_the_true_function_and_the_data_alone_apart():
    import pandas as pd

    from annstudy.report.stats import summarize
    from annstudy.studies.regression.claims import bell_picks

    def row(arch, data, test):
        s = summarize(test)
        return {
            "arch": arch,
            "data": data,
            "n_train": 50,
            "params": 1,
            "lr": 0.01,
            "epochs": 10,
            "train": s,
            "test": s,
            "test_values": tuple(test),
        }

    summary = pd.DataFrame([row("2-10-1", "small", [0.02, 0.021, 0.019]), row("2-9-1", "small", [0.01, 0.011, 0.012])])
    cv = {"2-10-1": (0.03, 0.031, 0.029), "2-9-1": (0.05, 0.052, 0.049)}  # the data alone prefer the other one
    picks = bell_picks(summary, ["2-10-1", "2-9-1"], cv)
    assert picks["small_test"].best == "2-9-1" and picks["small_data_alone"].best == "2-10-1"
    assert picks["small_data_alone"].claim.status.value == "supported"
    assert "full_test" not in picks


def test_divergence_is_recorded_per_member():
    x = torch.linspace(0, 10, 50).unsqueeze(1)
    y = 3 * x[:, 0]
    model = stack_seeds(lambda: mlp([1, 1]), [0])
    res = fit(model, MemberData.shared(x, y, 1), FitSettings("regression", "sgd", 5.0, 5, 10), [0])
    assert res.diverged_step[0] is not None and res.diverged_step[0] >= 1


# ------------------------------------------------------------------ params


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p["studies"]["signals"].__setitem__("hidden", [8, 8, 8]), "studies.signals.hidden: at most 2"),
        (lambda p: p["studies"]["regression"]["bell_archs"].__setitem__("3-5-1", 0.1), "must look like 2-50-1"),
        (lambda p: p["studies"]["mnist1d"].__setitem__("models", ["rnn"]), "studies.mnist1d.models: item 0"),
        (lambda p: p["data"].__setitem__("regression_csv", 3), "data.regression_csv: must be a non-empty string"),
    ],
)
def test_params_errors_name_the_key(params, change, message):
    change(params)
    assert any(message in problem for problem in validate(params)), validate(params)


def test_profile_supplies_study_seeds(params):
    params["profile"] = "quick"
    settings = settings_from_raw(params)
    assert settings.studies["mnist1d"].seeds == tuple(params["profiles"]["quick"]["mnist1d"]["seeds"])
    assert settings.studies["regression"].seeds == tuple(params["profiles"]["quick"]["seeds"])


# ------------------------------------------------------------------ smoke: every stage and section


@pytest.fixture
def smoke_settings(params, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = copy.deepcopy(params)
    p["profile"] = "smoke"
    p["studies"]["mnist1d"]["num_samples"] = 500
    p["studies"]["signals"]["n_signals"] = 100
    p["studies"]["regression"]["bell_test"] = 500
    p["studies"]["spiral"]["points_per_arm"] = 60
    csv = tmp_path / "user.csv"
    csv.write_text("x,y\n" + "\n".join(f"{v},{np.cos(v)}" for v in np.linspace(-2, 2, 30)))
    p["data"]["regression_csv"] = str(csv)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    return settings_from_raw(p)


def test_smoke_stages_and_report_sections(smoke_settings, tmp_path):
    from annstudy.studies import study_part

    for study, items in {
        "regression": ["linear", "nonlinear", "bell"],
        "spiral": [None],
        "signals": [None],
        "mnist1d": ["mlp", "cnn"],
    }.items():
        steps = study_part(study, "run").STEPS
        steps["prepare"](smoke_settings, None)
        for item in items:
            steps["train"](smoke_settings, item)
    out = tmp_path / "reports"
    studies = ("regression", "spiral", "signals", "mnist1d")
    sections = [study_part(s, "report").build(smoke_settings, out) for s in studies]
    metrics = {s.study: s.metrics for s in sections}
    json.dumps(metrics, allow_nan=False)
    assert set(metrics) == {"regression", "spiral", "signals", "mnist1d"}
    # headline only (per-network and per-seed numbers are in the stage records)
    assert set(metrics["regression"]) == {"linear", "nonlinear", "bell_best", "diverged"}
    assert set(metrics["regression"]["bell_best"]) == {"full_test", "small_test", "small_data_alone"}
    assert metrics["regression"]["nonlinear"]["final_cost"] > 0
    assert (
        set(metrics["spiral"]) == {"n_test", "chosen", "diverged"} and 0 <= metrics["spiral"]["chosen"]["test_acc"] <= 1
    )
    assert set(metrics["signals"]) == {"n_test", "sgd_0.05", "sgd_0.005", "diverged"}
    assert set(metrics["mnist1d"]) == {"n_test", "mlp", "cnn", "diverged"}
    assert set(metrics["mnist1d"]["cnn"]) == {"test_acc_mean", "test_acc_std"}
    assert sections[0].blocks[0].text == "S5 Regression"
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert "regression_bell_errors.png" in figures and "spiral_regions.png" in figures
    assert "regression_nonlinear_cost.png" in figures and "regression_bell_cost.png" in figures
    assert len(figures) == 15
    split = read_record(tmp_path / "data/signals/train").summary["sizes"]
    assert (split["train"], split["val"], split["test"]) == (70, 20, 10)
    # signals: both SGD rates, evaluated before the first step (epoch 0: the untrained network is at chance)
    epochs = read_record(tmp_path / "data/signals/train").table("epochs")
    start = epochs[epochs["epoch"] == 0]
    assert sorted(start["lr"].unique()) == [0.005, 0.05] and len(start) == 4
    assert np.allclose(start["train_loss"], np.log(2), atol=0.05)  # the uniform guess over 2 classes
    assert ((start["train_acc"] - 0.5).abs() < 0.15).all()
    assert epochs.groupby("lr")["epoch"].max().tolist() == [2, 2]
    questions = [b.text for s in sections for b in s.blocks if getattr(b, "text", "") == "Questions of the exercise"]
    assert len(questions) == 4  # every S5/S6 section ends with the exercise's questions


def test_spiral_keeps_the_fold_with_the_lowest_validation_loss_per_seed():
    import pandas as pd

    from annstudy.studies.spiral.report import best_folds

    members = pd.DataFrame(
        {
            "seed": [0, 0, 0, 1, 1, 1],
            "fold": [0, 1, 2, 0, 1, 2],
            "val_loss": [0.3, 0.1, 0.2, 0.05, 0.4, 0.06],
            "test_acc": [0.90, 0.95, 0.99, 0.93, 0.80, 0.97],  # test never chooses
        }
    )
    best = best_folds(members)
    assert best["fold"].tolist() == [1, 0] and best["test_acc"].tolist() == [0.95, 0.93]


def test_epochs_frame_of_a_fit_where_every_member_diverged_is_empty_not_an_error():
    """S5's linear neuron at lr 0.1 diverges in its first epoch: no epoch row, and the stage still writes."""
    import numpy as np
    import pandas as pd

    from annstudy.engine.members import FitResult

    frame = FitResult(batch_loss=np.full((3, 2), np.nan)).epochs_frame(pd.DataFrame({"seed": [0, 1]}))
    assert frame.empty and list(frame.columns) == ["seed", "epoch"]


def test_bell_error_maps_name_the_closest_and_farthest_fit(tmp_path):
    """The true bell peaks at 1 in the centre; a constant offset of 0.1 is an RMS of 0.1 = 2.5 noise sds."""
    from types import SimpleNamespace

    from annstudy.studies.regression.figures import bell_truth, error_map_figure

    axis = np.linspace(-5, 5, 11)
    truth = bell_truth(axis)
    assert truth[5, 5] == 1.0 and truth[0, 0] == pytest.approx(np.exp(-12.5))
    study = SimpleNamespace(seeds=[3], bell_noise=0.04)
    fig = error_map_figure(axis, {"2-10-1": truth + 0.1, "2-50-1": truth}, study, tmp_path)
    assert (tmp_path / fig.path).stat().st_size > 1000
    assert "2-50-1 deviates least (RMS 0.000" in fig.caption
    assert "2-10-1 most (RMS 0.100, 2.5× the noise sd" in fig.caption and "seed 3" in fig.caption
