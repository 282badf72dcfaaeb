"""End to end: `dvc repro` of the smoke profile in a temporary git + DVC repository.

The repro is the session's (tests/e2e/conftest.py); the tests below share a copy of its
workspace and change it in order (params edits, reruns, an experiment).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from annstudy.pipeline.codedeps import computed_deps
from annstudy.report.browser import DARK_BACKGROUND, check_report, find_chromium
from annstudy.report.compare import flatten
from annstudy.store.artifacts import read_json
from conftest import needs_fashion
from helpers.dvc_repo import copy_repo, dvc, edit_params, out_of_date, ran_stages, sh

INPUTS = {"inputs@fashion_mnist", "inputs@regression"}  # fingerprints of the user's files: run on every repro

pytestmark = [pytest.mark.slow, needs_fashion]


@pytest.fixture(scope="module")
def repo(smoke_run, tmp_path_factory) -> Path:
    """The finished smoke workspace (S1: mlp_1, lenet5), copied: the tests below change it."""
    return copy_repo(smoke_run.repo, tmp_path_factory.mktemp("annstudy_e2e") / "repo")


def test_repro_produces_report_and_metrics(smoke_run, repo):
    assert ran_stages(smoke_run.output) == {
        *INPUTS,
        "prepare@fashion_mnist",
        "architectures@mlp_1",
        "architectures@lenet5",
        "report",
        "hyperparameters",
        "activations",
        "learning_rates_sgd@0.1",
        "learning_rates_scheduled",
        "learning_rates_adam",
        "regression",
        "spiral",
        "signals",
        "mnist1d",
        "from_scratch",
    }
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    # headline numbers only (issue 27): accuracy per architecture and the validation choice
    assert set(metrics["architectures"]) == {"n_test", "chosen", "mlp_1", "lenet5"}
    n_test = read_json(repo / "data/prepared/fashion_mnist/meta.json")["sizes"]["test"]
    s1 = metrics["architectures"]
    assert s1["n_test"] == n_test and s1["chosen"]["arch"] in ("mlp_1", "lenet5")
    for arch in ("mlp_1", "lenet5"):
        m = metrics["architectures"][arch]
        assert set(m) == {"test_acc_mean", "test_acc_std"} and m["test_acc_mean"] > 0.3, (arch, m)  # chance is 0.1
    assert "worked_checks" not in metrics  # they are in the report
    assert len(flatten(metrics)) <= 80
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
    assert ran_stages(out) == INPUTS  # they look at the user's files; their unchanged bytes rerun nothing
    assert out_of_date(repo) == {}


def test_code_edits_rerun_only_the_stages_that_import_the_code(repo):
    """dvc.yaml's code deps are the stages' imports by package (annstudy/pipeline/codedeps.py): a report fix
    reruns the report alone, a change to the training loop every stage that imports engine/ (prepare too:
    its params validation reads engine/optim.py, and engine/ is one directory dep)."""

    def changed_by(path: str) -> set[str]:
        file = repo / path
        original = file.read_text()
        file.write_text(original + "# an edit\n")
        try:
            return set(out_of_date(repo))
        finally:
            file.write_text(original)

    assert changed_by("src/annstudy/report/stats.py") == {"report"}
    assert changed_by("src/annstudy/studies/spiral/report.py") == {"report"}
    assert changed_by("src/annstudy/studies/spiral/run.py") == {"spiral", "report"}
    engine = changed_by("src/annstudy/engine/loop.py")
    importers = {stage for stage, deps in computed_deps(repo).items() if "src/annstudy/engine" in deps}
    assert {name.split("@")[0] for name in engine} == importers - {"inputs"}  # inputs@: always changed, not listed
    assert "prepare@fashion_mnist" in engine
    assert {"architectures@mlp_1", "architectures@lenet5", "activations", "hyperparameters"} <= engine
    assert len(engine) == 14  # every stage of the smoke pipeline (16) but the inputs@
    assert out_of_date(repo) == {}


def test_dvc_metrics_and_plots_read_the_outputs(repo):
    shown = json.loads(dvc(repo, "metrics", "show", "--json"))
    assert "architectures" in json.dumps(shown)
    plots = json.loads(dvc(repo, "plots", "show", "--json"))
    assert "errors" not in plots, plots["errors"]
    ids = set(plots["data"])
    figures = {i for i in ids if i.startswith("reports/figures/")}
    assert len(figures) == len(list((repo / "reports/figures").glob("*.png"))) >= 20
    per_study = Counter("S1" if i.startswith("reports/plots/") else i.split()[0] for i in ids - figures)
    assert per_study == {"S1": 5, "S2": 2, "S3": 2, "S4": 5, "S5": 2, "S6": 3, "S7": 1}
    confusion = plots["data"]["reports/plots/confusion.csv"][0]["content"]["data"]["values"]
    assert len(confusion) == 10_000  # one row per Fashion-MNIST test image


def test_epochs_change_reruns_training_not_prepare(repo):
    edit_params(repo, epochs=2, train_limit=500)
    status = dvc(repo, "status", "--json")
    changed = set(json.loads(status))
    assert "prepare@fashion_mnist" not in changed
    assert {"architectures@mlp_1", "architectures@lenet5"} <= changed


@pytest.mark.parametrize(
    "study, change, expected",
    [
        ("learning_rates", {"adam_lr": 0.002}, {"learning_rates_adam"}),
        ("learning_rates", {"rates": [0.1, 0.05]}, {"learning_rates_sgd@0.05"}),  # a new rate is one new stage
        ("regression", {"bell_batch_size": 50}, {"regression"}),
        ("mnist1d", {"tolerance": 0.05}, set()),  # read by the report only
        ("spiral", {"target_acc": 0.9}, set()),
    ],
)
def test_one_setting_reruns_only_the_stages_that_read_it(repo, study, change, expected):
    """Stages list the exact keys they read (dvc.yaml): a sweep of Adam's rate leaves the
    constant-rate and scheduled S3 runs alone, a bell setting the other regression fits."""
    sh(repo, "git", "checkout", "params.yaml")
    edit_params(repo, lambda p: p["studies"][study].update(change))
    assert set(out_of_date(repo)) == expected | {"report"}


def test_forced_rerun_gives_identical_metrics(repo):
    sh(repo, "git", "checkout", "params.yaml")
    path = repo / "data/architectures/eval/mlp_1/live/metrics.json"
    results = lambda: {k: v for k, v in json.loads(path.read_text()).items() if k != "wall_seconds"}  # noqa: E731
    before = results()
    out = dvc(repo, "repro", "--force", "--single-item", "architectures@mlp_1")
    assert ran_stages(out) == {"architectures@mlp_1"}
    assert results() == before  # every number identical, wall time aside


def test_removing_an_architecture_does_not_retrain_the_others(repo):
    edit_params(repo, archs=["mlp_1"])
    out = dvc(repo, "repro")
    assert ran_stages(out) == {"report", *INPUTS}
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert set(metrics["architectures"]) == {"mlp_1", "chosen", "n_test"}  # headline: per arch + the choice
    assert metrics["architectures"]["chosen"]["arch"] == "mlp_1"


def test_dvc_exp_run_with_set_param(repo):
    sh(repo, "git", "checkout", "params.yaml")
    dvc(repo, "repro")
    sh(repo, "git", "add", "-A")  # the experiment's baseline: this commit, with its results
    sh(repo, "git", "commit", "-qm", "results")
    out = dvc(repo, "exp", "run", "-S", "studies.architectures.archs=[lenet5]")
    assert ran_stages(out) == {"report", *INPUTS}
    shown = dvc(repo, "exp", "show", "--json")
    assert "test_acc_mean" in shown and "lenet5" in shown
    # The compact view: only what differs between the baseline and the experiment, i.e. the
    # changed param and S1's metrics; no other study's params or metrics (they did not rerun).
    header = dvc(repo, "exp", "show", "--only-changed", "--hide-workspace", "--csv").splitlines()[0].split(",")
    assert "studies.architectures.archs" in header
    assert {c.split(".")[1] for c in header if c.startswith("studies.")} == {"architectures"}, header
    assert {c.split(".")[0] for c in header if c.endswith("test_acc_mean")} == {"architectures"}, header
    assert len(header) <= 20, header


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (Debian: chromium)")
def test_report_renders_in_headless_chromium(smoke_run, tmp_path):
    report = smoke_run.repo / "reports/report.html"  # the smoke repro's, S1 on mlp_1 and lenet5
    shot = tmp_path / "report.png"
    result = check_report(report, shot)
    page = report.read_text()
    charts = page.count('class="chart"')
    figures = page.count("<figure id=") - charts
    assert result.images == figures >= 4  # panel, weight grid(s), confusion matrix, errors
    assert result.broken_images == []
    assert result.charts == charts >= 2 and result.broken_charts == []  # S1's interactive curves drawn
    assert result.broken_links == []  # contents, figure and table anchors all land
    assert result.overflowing == [] and result.page_width <= result.window_width
    assert shot.stat().st_size > 50_000  # a real full-page PNG, not a blank one
    phone = check_report(report, tmp_path / "report_390.png", width=390)
    assert phone.images == figures and phone.broken_images == []
    assert phone.overflowing == [] and phone.page_width == phone.window_width == 390  # tables scroll in their box
    dark = check_report(report, tmp_path / "report_dark.png", width=390, color_scheme="dark")
    assert dark.background == DARK_BACKGROUND and dark.broken_images == [] and dark.overflowing == []
    assert dark.charts == charts and phone.charts == charts
    cards = page.count('<li class="finding ')
    assert result.findings == phone.findings == dark.findings == cards >= 5  # one card per key finding
    assert phone.hidden_findings == dark.hidden_findings == []  # answers and statuses on screen at 390 px
