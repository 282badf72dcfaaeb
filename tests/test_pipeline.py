"""End to end: `dvc repro` of the smoke profile in a temporary git + DVC repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from annstudy.report.browser import check_report, find_chromium
from conftest import ROOT, needs_fashion

pytestmark = [pytest.mark.slow, needs_fashion]

TRACKED = ["dvc.yaml", "params.yaml", "pyproject.toml", "stages", "src"]


def sh(repo: Path, *cmd: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def dvc(repo: Path, *args: str) -> str:
    return sh(repo, sys.executable, "-m", "dvc", *args)


def edit_params(repo: Path, **study) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["profile"] = "smoke"
    params["studies"]["architectures"].update(study)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def shrink_s2_s3(repo: Path) -> None:
    """S2 on mlp_1 only, S3 with two variants of mlp_1: the pipeline's shape, in seconds."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["studies"]["activations"]["archs"] = ["mlp_1"]
    params["studies"]["learning_rates"].update(arch="mlp_1", variants=["lr_0.1", "scheduled"])
    path.write_text(yaml.safe_dump(params, sort_keys=False))


S2_S3_STAGES = {"activations_train@mlp_1-relu", "activations_train@mlp_1-sigmoid",
                "learning_rates_train@lr_0.1", "learning_rates_train@scheduled"}  # fmt: skip


def ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("annstudy_e2e")
    for name in TRACKED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, repo / name)
    (repo / ".gitignore").write_text("/data/\n")
    edit_params(repo, archs=["mlp_1", "lenet5"])
    shrink_s2_s3(repo)
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "config", "user.name", "annstudy tests")
    sh(repo, "git", "config", "user.email", "tests@annstudy.invalid")
    dvc(repo, "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "smoke")
    return repo


def test_repro_produces_report_and_metrics(repo):
    out = dvc(repo, "repro")
    assert ran_stages(out) == {
        "prepare@fashion_mnist", "train@mlp_1", "train@lenet5", "evaluate@mlp_1", "evaluate@lenet5", "report",
        *S2_S3_STAGES,
    }  # fmt: skip
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert set(metrics["architectures"]) == {"mlp_1", "lenet5"}
    for arch, m in metrics["architectures"].items():
        assert m["test_acc_mean"] > 0.3, (arch, m)  # chance is 0.1
        assert set(m) == {"test_acc_mean", "test_acc_std", "params", "train_seconds"}
    assert metrics["architectures"]["mlp_1"]["params"] == 25_450
    html = (repo / "reports/report.html").read_text()
    assert html.count('src="data:image/png;base64,') >= 5  # panel, 2 weight grids, confusion, errors
    md = (repo / "reports/report.md").read_text()
    assert "Profile **smoke**" in md and "| mlp_1 | 25,450 |" in md
    curves = (repo / "reports/plots/val_acc.tsv").read_text().splitlines()
    assert curves[0].split("\t") == ["step", "mlp_1", "lenet5"]
    # 1000 images / batch 50 = 20 steps, logged every 5
    assert [line.split("\t")[0] for line in curves[1:]] == ["5", "10", "15", "20"]


def test_second_repro_is_a_no_op(repo):
    out = dvc(repo, "repro")
    assert ran_stages(out) == set()
    assert "up to date" in dvc(repo, "status")


def test_dvc_metrics_and_plots_read_the_outputs(repo):
    shown = json.loads(dvc(repo, "metrics", "show", "--json"))
    assert "architectures" in json.dumps(shown)
    plots = json.loads(dvc(repo, "plots", "show", "--json"))
    assert {"reports/plots/val_acc.tsv", "reports/plots/train_loss.tsv"} <= set(plots["data"])


def test_epochs_change_reruns_training_not_prepare(repo):
    edit_params(repo, epochs=2, train_limit=500)
    status = dvc(repo, "status", "--json")
    changed = set(json.loads(status))
    assert "prepare@fashion_mnist" not in changed
    assert {"train@mlp_1", "train@lenet5"} <= changed


def test_forced_rerun_gives_identical_metrics(repo):
    sh(repo, "git", "checkout", "params.yaml")
    path = repo / "data/architectures/eval/mlp_1/eval.json"
    results = lambda: {k: v for k, v in json.loads(path.read_text()).items() if k != "eval_seconds"}  # noqa: E731
    before = results()
    out = dvc(repo, "repro", "--force", "--single-item", "train@mlp_1")
    assert ran_stages(out) == {"train@mlp_1"}
    dvc(repo, "repro", "--force", "--single-item", "evaluate@mlp_1")
    assert results() == before  # every number identical, wall time aside


def test_removing_an_architecture_does_not_retrain_the_others(repo):
    dvc(repo, "repro")
    edit_params(repo, archs=["mlp_1"])
    out = dvc(repo, "repro")
    assert ran_stages(out) == {"report"}
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert set(metrics["architectures"]) == {"mlp_1"}


def test_dvc_exp_run_with_set_param(repo):
    sh(repo, "git", "checkout", "params.yaml")
    dvc(repo, "repro")
    out = dvc(repo, "exp", "run", "-S", "studies.architectures.archs=[lenet5]")
    assert ran_stages(out) == {"report"}
    shown = dvc(repo, "exp", "show", "--json")
    assert "test_acc_mean" in shown and "lenet5" in shown


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (Debian: chromium)")
def test_report_renders_in_headless_chromium(repo, tmp_path):
    dvc(repo, "repro")
    shot = tmp_path / "report.png"
    result = check_report(repo / "reports/report.html", shot)
    figures = (repo / "reports/report.html").read_text().count("<figure>")
    assert result.images == figures >= 4  # panel, weight grid(s), confusion matrix, errors
    assert result.broken_images == []
    assert result.overflowing == [] and result.page_width <= result.window_width
    assert shot.stat().st_size > 50_000  # a real full-page PNG, not a blank one
