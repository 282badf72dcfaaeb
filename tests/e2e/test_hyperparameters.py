"""S4 hyperparameters: digits splits, variants from params, stacked BatchNorm1d and penalties
exact per seed, a smoke run of the stages and report section, and `annstudy compare`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from annstudy.cli import main
from annstudy.data import digits
from annstudy.data.prepared import load_prepared
from annstudy.engine.evaluation import per_seed_cross_entropy
from annstudy.engine.penalty import weight_penalty
from annstudy.models.mlp import build_mlp
from annstudy.models.stacked import stack_seeds
from annstudy.params.settings import load_yaml, settings_from_raw, validate
from annstudy.report import compare
from annstudy.store.records import prepare_stage_seconds, read_record
from annstudy.studies.hyperparameters import report as report_s4
from annstudy.studies.hyperparameters import run as s4
from helpers.dvc_repo import make_repo, out_of_date, sh


def study(params):
    return settings_from_raw(params).studies["hyperparameters"]


# ------------------------------------------------------------------ data


def test_digits_split_is_stratified_disjoint_and_fixed():
    tensors, meta = digits.prepare(split_seed=0, val_fraction=0.2, test_fraction=0.2)
    assert meta["sizes"] == {"train": 1097, "val": 350, "test": 350}  # 35 per class in val and test
    for split in ("val", "test"):
        assert torch.bincount(tensors[f"y_{split}"], minlength=10).tolist() == [35] * 10
    assert tensors["x_train"].dtype == torch.uint8 and tuple(tensors["x_train"].shape[1:]) == (1, 8, 8)
    rows = {
        split: {t.numpy().tobytes() + bytes([int(y)]) for t, y in zip(tensors[f"x_{split}"], tensors[f"y_{split}"])}
        for split in ("train", "val", "test")
    }
    assert sum(map(len, rows.values())) >= 1797 - 10  # a handful of exact duplicate images exist in digits
    again, _ = digits.prepare(split_seed=0, val_fraction=0.2, test_fraction=0.2)
    assert all(torch.equal(tensors[k], again[k]) for k in tensors)
    other_val, _ = digits.prepare(split_seed=0, val_fraction=0.1, test_fraction=0.2)
    assert torch.equal(other_val["y_test"], tensors["y_test"])  # the test set does not move with val_fraction


def test_digits_scaling_standardises_the_training_pixels(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert main(["stage", "hyperparameters", "prepare"]) == 0
    data = load_prepared("data/prepared/digits")
    assert abs(data.train.x.mean().item()) < 1e-5 and abs(data.train.x.std(unbiased=False).item() - 1) < 1e-5
    seconds = prepare_stage_seconds(tmp_path / "data/prepared/digits")
    assert list(seconds) == ["hyperparameters (prepare)"] and seconds["hyperparameters (prepare)"] >= 0
    assert not (tmp_path / "data/prepared/digits/live").exists()  # beside the data, not inside: its hash stays


# ------------------------------------------------------------------ params -> variants


def test_variants_from_params(params):
    s = study(params)
    assert [v.name for v in s.variants("lr")] == ["lr_0.1", "lr_0.01", "lr_0.001", "lr_0.0001", "lr_1e-05"]
    assert [v.name for v in s.variants("hidden")][-1] == "hidden_512"
    assert [v.name for v in s.variants("penalty")] == ["l2", "l1"]
    assert [v.name for v in s.variants("model")] == ["complex"]
    opt = {v.name: s.train_for(v) for v in s.variants("optimizer")}
    assert len(opt) == 7
    assert (opt["optimizer_sgd_momentum"].optimizer, opt["optimizer_sgd_momentum"].momentum) == ("sgd", 0.9)
    assert (opt["optimizer_sgd"].optimizer, opt["optimizer_sgd"].momentum) == ("sgd", 0.0)
    complex_ = s.variants("model")[0]
    assert (complex_.hidden, complex_.batchnorm, complex_.dropout) == ((128, 64), True, 0.2)
    l1 = s.variants("penalty")[1]
    assert (l1.penalty, l1.penalty_lambda, l1.hidden, l1.lr) == ("l1", 0.001, (32,), 0.001)
    with pytest.raises(ValueError, match="not in studies.hyperparameters.sweeps"):
        s.variants("momentum")


def test_profiles(params):
    assert (study(params).train.epochs, study(params).train.seeds) == (15, (0, 1, 2))
    params["profile"] = "full"
    assert (study(params).train.epochs, study(params).train.seeds) == (50, tuple(range(10)))


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("sweeps", {"lr": [0.1, -1.0]}, "studies.hyperparameters.sweeps: lr: item 1: must be > 0"),
        ("sweeps", {"depth": [1]}, "unknown sweep axis 'depth'"),
        ("sweeps", {"optimizer": ["adamm"]}, "did you mean 'adam'"),
        ("penalty", "l3", "studies.hyperparameters.penalty: unknown penalty 'l3'"),
    ],
)
def test_bad_s4_params_are_one_line(params, key, value, message):
    params["studies"]["hyperparameters"][key] = value
    problems = validate(params)
    assert len(problems) == 1 and message in problems[0], problems


# ------------------------------------------------------------------ engine pieces


def _lone_models(seeds, **kw):
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(build_mlp((1, 8, 8), 10, **kw))
    return models


def test_stacked_batchnorm_mlp_equals_each_seed_alone():
    seeds = [3, 4]
    stacked = stack_seeds(lambda: build_mlp((1, 8, 8), 10, (16, 8), batchnorm=True), seeds)
    lone = _lone_models(seeds, hidden=(16, 8), batchnorm=True)
    x = torch.randn(2, 12, 1, 8, 8)
    out = stacked(x)
    for s, model in enumerate(lone):
        torch.testing.assert_close(out[s], model(x[s]), rtol=1e-5, atol=1e-6)
        state = stacked.seed_state_dict(s)
        for key, value in model.state_dict().items():  # running statistics updated per seed
            torch.testing.assert_close(state[key].float(), value.float(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_penalty_gradient_is_exact_per_seed(kind):
    seeds, lam = [0, 1, 2], 0.01
    stacked = stack_seeds(lambda: build_mlp((1, 8, 8), 10, (16,)), seeds)
    x, y = torch.randn(3, 20, 1, 8, 8), torch.randint(0, 10, (3, 20))
    penalty = weight_penalty(kind, lam)
    (per_seed_cross_entropy(stacked(x), y).mean(1) + penalty(stacked)).sum().backward()
    for s, model in enumerate(_lone_models(seeds, hidden=(16,))):
        params = list(model.parameters())  # the lab: every parameter, biases included
        assert len(params) == 4
        norm = sum(w.abs().sum() if kind == "l1" else w.square().sum() for w in params)
        (F.cross_entropy(model(x[s]), y[s]) + lam * norm).backward()
        torch.testing.assert_close(stacked.layers[1].weight.grad[s].t(), model[1].weight.grad, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(stacked.layers[3].bias.grad[s, 0], model[3].bias.grad, rtol=1e-5, atol=1e-7)
    assert weight_penalty("none", lam) is None


# ------------------------------------------------------------------ smoke run of the stages


SMOKE_SWEEPS = {
    "lr": [0.01, 0.001],
    "hidden": [16],
    "optimizer": ["sgd_momentum", "rmsprop", "adadelta"],
    "penalty": ["l1"],
    "model": ["complex"],
}


def test_smoke_stages_and_report_section(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    params["profile"] = "smoke"
    params["studies"]["hyperparameters"]["sweeps"] = SMOKE_SWEEPS
    settings = settings_from_raw(params)
    s4.prepare(settings)
    for axis in ("base", *SMOKE_SWEEPS):
        s4.train_axis(axis, settings)
    s4.numpy_exercise(settings)
    results = read_record(tmp_path / "data/hyperparameters/train/optimizer").summary
    assert [v["name"] for v in results["variants"]] == [
        "optimizer_sgd_momentum",
        "optimizer_rmsprop",
        "optimizer_adadelta",
    ]
    assert all(len(v["per_seed"]) == 2 for v in results["variants"])  # smoke: seeds 0, 1
    epochs = read_record(tmp_path / "data/hyperparameters/train/lr").table("epochs")
    assert len(epochs) == 2 * 2 * 2  # variants x seeds x epochs

    out = tmp_path / "reports"
    section = report_s4.build(settings, out)
    m = section.metrics
    # headline only: the base model, each sweep's validation choice with its test accuracy, the NumPy check
    assert set(m) == {"n_test", "base", *SMOKE_SWEEPS, "numpy_sigmoid"}
    assert m["n_test"] == 350 and set(m["numpy_sigmoid"]) == {"autograd_max_diff"}
    assert m["numpy_sigmoid"]["autograd_max_diff"] < 1e-12
    assert m["base"]["test_acc_mean"] > 0.5  # chance is 0.1; 2 epochs of Adam
    variants = {}  # every swept value's accuracy: in the stage records, as `annstudy compare` reads them
    for axis in ("base", *SMOKE_SWEEPS):
        variants |= compare.variant_accuracies(read_record(tmp_path / f"data/hyperparameters/train/{axis}").summary)
    assert variants["base"] == m["base"] and variants["lr_0.001"] == m["base"]  # the same configuration
    assert variants["optimizer_adadelta"]["test_acc_mean"] < variants["optimizer_rmsprop"]["test_acc_mean"]
    for axis, values in SMOKE_SWEEPS.items():
        named = axis in ("penalty", "model")  # chosen among the values and the base, by name
        names = [*values, "base"] if named else [f"{axis}_{v}" for v in values]
        chosen = m[axis]["chosen"] if named else f"{axis}_{m[axis]['chosen']}"
        assert chosen in names and m[axis]["test_acc_mean"] == variants[chosen]["test_acc_mean"]
    assert len(compare.flatten(m)) == 1 + 2 + 2 * len(SMOKE_SWEEPS) + 1
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    lab = ["hyperparameters_summary.png", "hyperparameters_first_image.png", "hyperparameters_results.png"]
    lab.append("hyperparameters_forest.png")  # base + the validation choice of each sweep against ≈ 0.97
    forest = next(b for b in section.blocks if getattr(b, "path", None) == Path("figures/hyperparameters_forest.png"))
    assert f"of {1 + len(SMOKE_SWEEPS)} reach it" in forest.caption or "none reaches it" in forest.caption
    assert figures == sorted([f"hyperparameters_{a}.png" for a in SMOKE_SWEEPS] + lab)
    # the result grid shows the validation-selected base seed; its error count matches its test accuracy
    per_seed = read_record(tmp_path / "data/hyperparameters/train/base").summary["variants"][0]["per_seed"]
    chosen = max(per_seed, key=lambda r: r["val_acc"])
    grid = next(b for b in section.blocks if getattr(b, "path", None) == Path("figures/hyperparameters_results.png"))
    errors = round((1 - chosen["test_acc"]) * 350)
    assert f"{errors} of all 350 test images" in grid.caption and f"Seed {chosen['seed']} is" in grid.caption
    plot = (out / "plots/hyperparameters_val_acc.tsv").read_text().splitlines()
    assert plot[0].split("\t")[:2] == ["epoch", "base"] and len(plot) == 3
    assert section.blocks[0].text == "S4 Hyperparameters"


# ------------------------------------------------------------------ compare


def _row(experiment, rev, state=None):
    """A row of dvc.api.exp_show (its params and metrics columns are not read)."""
    return {"Experiment": experiment, "rev": rev, "typ": "branch_commit", "State": state, "Created": None}


def test_compare_reads_experiments_and_keeps_differing_params():
    rows = [
        _row(None, "workspace"),
        _row(None, "main"),
        _row("exp-one", "bbbbbbb", "Success"),
        _row("queued", "ccccccc", "Queued"),
        _row("broken", "ddddddd", "Failed"),
        _row("old", "eeeeeee", "Success"),  # finished, but no metrics file
        _row("digits", 123.0, "Success"),  # exp_show's float for the short sha "0000123"
    ]
    results = {"workspace": (0.001, 0.95), "main": (0.001, 0.95), "bbbbbbb": (0.01, 0.9)}
    results |= {"eeeeeee": (0.1, None), "0000123": (0.3, 0.5)}
    asked = []

    def read(rev):
        asked.append(rev)
        lr, acc = results[rev]
        metrics = {"hyperparameters": {"base": {"test_acc_mean": acc, "test_acc_std": 0.01}}} if acc else {}
        return {"profile": "smoke", "studies": {"hyperparameters": {"lr": lr}}}, metrics

    found = compare.collect(rows, read)
    assert asked == ["workspace", "main", "bbbbbbb", "eeeeeee", "0000123"]  # queued and failed runs are never read
    names = [("workspace", "workspace"), ("main", "main"), ("exp-one", "bbbbbbb"), ("digits", "0000123")]
    assert [(e.name, e.rev) for e in found] == names
    assert compare.differing_params(found) == ["studies.hyperparameters.lr"]
    assert found[2].headline == {"hyperparameters.base": 0.9}
    table = compare.metrics_table(found)
    row = ["hyperparameters.base", "0.9500 ± 0.0100", "0.9500 ± 0.0100", "0.9000 ± 0.0100", "0.5000 ± 0.0100"]
    assert table.rows == [row]
    assert [e.name for e in compare.select(found, ["exp-one", "bbbb"])] == ["exp-one"]
    with pytest.raises(ValueError, match="not found"):
        compare.select(found, ["nope"])


def test_compare_adds_every_s4_variant_from_the_records_beside_the_headline():
    """metrics.json keeps each sweep's choice; compare reads every swept value from S4's stage records."""

    def seed(s, acc, diverged=False):
        return {"seed": s, "diverged": diverged, "test_acc": None if diverged else acc}

    record = {
        "variants": [
            {"name": "lr_0.1", "per_seed": [seed(0, 0.8), seed(1, 0.9), seed(2, 0.1, diverged=True)]},
            {"name": "lr_10", "per_seed": [seed(0, 0, diverged=True)]},
        ]
    }
    assert compare.variant_accuracies(record) == {
        "lr_0.1": {"test_acc_mean": 0.85, "test_acc_std": 0.07071},  # the healthy seeds 0, 1
        "lr_10": {"test_acc_mean": None, "test_acc_std": None},
    }
    headline = {"n_test": 350, "base": {"test_acc_mean": 0.9, "test_acc_std": 0.01}, "lr": {"chosen": 0.1}}
    metrics = compare.with_variants({"hyperparameters": dict(headline), "spiral": {"n_test": 3}}, [record])
    assert list(metrics["hyperparameters"]) == ["lr_0.1", "lr_10", "n_test", "base", "lr"]
    experiment = compare.Experiment("e", "workspace", {}, compare.flatten(metrics))
    assert experiment.headline == {
        "hyperparameters.lr_0.1": 0.85,
        "hyperparameters.lr_10": None,
        "hyperparameters.base": 0.9,
    }
    assert compare.with_variants({"spiral": {"n_test": 3}}, [record]) == {"spiral": {"n_test": 3}}  # no S4: as read


def run_quietly(repo: Path, *cmd: str) -> str:
    """A diagnostic command: its output whatever its exit status (never a second failure)."""
    try:
        out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return f"{' '.join(cmd)}: no answer in 120 s"
    return out.stdout + out.stderr


def wait_for_queue(repo: Path, seconds: float) -> str:
    """Poll `dvc queue status` until nothing is queued or running; past ``seconds``, stop the
    worker and fail with the status and every task's log (a stalled queue must not stall CI)."""
    dvc = (sys.executable, "-m", "dvc")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = sh(repo, *dvc, "queue", "status", timeout=120)
        if "Queued" not in status and "Running" not in status:
            return status
        time.sleep(5)
    tasks = [line.split()[0] for line in status.splitlines()[1:] if line.strip()]
    logs = [run_quietly(repo, *dvc, "queue", "logs", task) for task in tasks]
    run_quietly(repo, *dvc, "queue", "stop", "--kill")
    raise AssertionError(f"the queue did not finish in {seconds:.0f} s:\n{status}\n" + "\n".join(logs))


S4_REPORT = '''"""The test's `report` stage: S4's report section alone (metrics.json, plots, figures)."""
from pathlib import Path

from annstudy.params.settings import load_settings
from annstudy.store.artifacts import write_json
from annstudy.studies.hyperparameters import report

write_json("reports/metrics.json", {"hyperparameters": report.build(load_settings(), Path("reports")).metrics})
'''


def s4_slice(repo: Path) -> None:
    """dvc.yaml with S4's stages alone and, as its `report`, S4's report section: what `annstudy
    compare` reads (reports/metrics.json, reports/plots), written as the project's report stage
    writes it. A queued experiment then trains S4's smoke stages, not the whole pipeline."""
    pipeline = yaml.safe_load((repo / "dvc.yaml").read_text())
    stages = {"hyperparameters": pipeline["stages"]["hyperparameters"]}
    stages["report"] = {
        "cmd": "python s4_report.py",
        "deps": ["s4_report.py", "data/prepared/digits", "data/hyperparameters/train"],
        "params": ["studies"],
        "outs": [{out: {"cache": False}} for out in ("reports/figures", "reports/plots")],
        "metrics": [{"reports/metrics.json": {"cache": False}}],
    }
    pipeline["stages"] = stages
    del pipeline["plots"]
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    (repo / "s4_report.py").write_text(S4_REPORT)
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "S4 alone")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_two_queued_experiments_are_compared(tmp_path):
    """`dvc exp run --queue -S ...` twice, `dvc queue start`, then `annstudy compare` lists both
    (on S4's stage alone: digits, base, NumPy check, the penalty axis, and its report)."""

    def tiny(params: dict) -> None:
        params["studies"]["hyperparameters"]["sweeps"] = {"penalty": ["l1"]}

    repo = make_repo(tmp_path / "repo", tiny, ignore="/data/\n/reports/compare/\n")
    s4_slice(repo)
    dvc = (sys.executable, "-m", "dvc")

    sh(repo, *dvc, "exp", "run", "--queue", "-S", "studies.hyperparameters.lr=0.01,0.003")  # a 2-value grid
    assert sh(repo, *dvc, "queue", "status").count("Queued") == 2
    sh(repo, *dvc, "queue", "start", "-j", "1")
    status = wait_for_queue(repo, seconds=900)
    assert "Success" in status and "Failed" not in status, status

    out = sh(repo, sys.executable, "-m", "annstudy", "compare")
    assert "| studies.hyperparameters.lr |" in out  # the differing param, in the headline view
    ran = [e for e in compare.read_experiments(repo) if e.headline]
    assert sorted(e.params["studies.hyperparameters.lr"] for e in ran) == [0.003, 0.01]
    assert all(e.headline["hyperparameters.base"] > 0.3 for e in ran)  # chance is 0.1
    # each swept value from its stage record (as the experiment has it), beside metrics.json's choice
    assert all({"hyperparameters.l1", "hyperparameters.penalty"} <= set(e.headline) for e in ran)
    md = (repo / "reports/compare/compare.md").read_text()
    for exp in ran:
        assert exp.name in md
    assert "studies.architectures" not in md  # only the params that differ
    assert (repo / "reports/compare/compare.html").read_text().count("data:image/png;base64,") == 1

    # The same view with dvc alone: only the columns that differ, best first.
    table = sh(
        repo,
        *dvc,
        "exp",
        "show",
        "--md",
        "--only-changed",
        "--sort-by",
        "reports/metrics.json:hyperparameters.base.test_acc_mean",
        "--sort-order",
        "desc",
    )
    assert "studies.hyperparameters.lr" in table and "studies.architectures.optimizer" not in table
    assert all(e.name in table for e in ran)

    # Keep one: `dvc exp apply` brings its params and outputs; the pipeline is then up to date,
    # and adding a value to one sweep axis reruns S4's stage (and the report), nothing else.
    best = max(ran, key=lambda e: e.headline["hyperparameters.base"])
    sh(repo, *dvc, "exp", "apply", best.name)
    assert (
        load_yaml((repo / "params.yaml").read_text())["studies"]["hyperparameters"]["lr"]
        == best.params["studies.hyperparameters.lr"]
    )
    assert out_of_date(repo) == {}
    params = load_yaml((repo / "params.yaml").read_text())
    params["studies"]["hyperparameters"]["sweeps"]["penalty"] = ["l1", "l2"]
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert set(out_of_date(repo)) == {"hyperparameters", "report"}
