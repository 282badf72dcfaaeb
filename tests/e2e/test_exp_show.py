"""`dvc exp show` stays readable (issue 27): reports/metrics.json holds headline numbers only.

The plain table is wide by nature (every knob of seven studies is a param column); the targets are
the views one reads: ``--only-changed`` after a one-knob experiment shows at most 20 columns, and
metrics.json holds at most 80 numbers (per-seed and per-variant detail is in the stage records and
the DVC plots). Both on the session's smoke workspace (tests/e2e/conftest.py).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from annstudy.report.compare import flatten
from annstudy.studies import STUDIES
from conftest import needs_fashion
from helpers.dvc_repo import dvc, ran_stages, sh

pytestmark = [pytest.mark.slow, needs_fashion]

MAX_METRICS = 80
MAX_COLUMNS = 20
# the studies whose headline is an accuracy on a test set: metrics.json gives its size (report/verify.py)
WITH_N_TEST = {"architectures", "learning_rates", "hyperparameters", "spiral", "signals", "mnist1d", "from_scratch"}


def test_metrics_json_holds_headline_numbers_only(smoke_run):
    metrics = json.loads((smoke_run.repo / "reports/metrics.json").read_text())
    leaves = flatten(metrics)
    assert len(leaves) <= MAX_METRICS, sorted(leaves)
    assert {study for study, numbers in metrics.items() if "n_test" in numbers} == WITH_N_TEST
    assert all(isinstance(metrics[s]["n_test"], int) and metrics[s]["n_test"] > 0 for s in WITH_N_TEST)
    s4 = metrics["hyperparameters"]
    axes = {"lr", "hidden", "optimizer", "penalty", "model"}
    assert set(s4) == {"n_test", "base", "numpy_sigmoid", *axes}
    assert all(set(s4[axis]) == {"chosen", "test_acc_mean"} for axis in axes)
    assert isinstance(s4["lr"]["chosen"], float) and s4["penalty"]["chosen"] in ("l1", "l2", "base")


def test_one_knob_experiment_shows_at_most_20_changed_columns(smoke_copy: Path):
    """`dvc exp run -S studies.hyperparameters.lr=0.01` reruns S4's stage and the report; `dvc exp show
    --only-changed` then shows the param, S4's changed headline numbers and the one changed dependency."""
    sh(smoke_copy, "git", "add", "-A")  # the experiment's baseline: this commit, with its results
    sh(smoke_copy, "git", "commit", "-qm", "results")
    out = dvc(smoke_copy, "exp", "run", "-S", "studies.hyperparameters.lr=0.01")
    assert {s for s in ran_stages(out) if not s.startswith("inputs@")} == {"hyperparameters", "report"}

    table = dvc(smoke_copy, "exp", "show", "--only-changed", "--csv")
    rows = list(csv.reader(io.StringIO(table)))
    header = rows[0]
    assert len(header) <= MAX_COLUMNS, header
    assert "studies.hyperparameters.lr" in header and len(rows) == 1 + 3  # workspace, baseline, the experiment
    assert [c for c in header if c.startswith(("studies.", "profile"))] == ["studies.hyperparameters.lr"]
    # metrics: S4's alone (the other studies' did not rerun), its base model's accuracy among them
    assert {c.split(".")[0] for c in header if c.split(".")[0] in STUDIES} == {"hyperparameters"}, header
    assert "hyperparameters.base.test_acc_mean" in header, header
