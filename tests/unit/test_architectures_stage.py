"""S1's train and evaluate stages on a tiny prepared dataset: what their records hold."""

from __future__ import annotations

import json

import pytest
import torch

from annstudy.engine.flops import training_flops_per_sample
from annstudy.params.settings import settings_from_raw
from annstudy.report.claims import Status
from annstudy.store.records import read_record
from annstudy.studies.architectures.run import STEPS, eval_dir, train_dir
from annstudy.studies.architectures.selection import chosen_on_validation, chosen_seed_row
from conftest import write_prepared_blobs


def test_train_records_throughput_and_evaluate_records_every_seed(params, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_prepared_blobs(tmp_path, "fashion_mnist")
    params["profile"] = "smoke"
    params["studies"]["architectures"]["archs"] = ["lenet5"]
    settings = settings_from_raw(params)
    assert STEPS["train"](settings, "lenet5") == train_dir("lenet5")
    first = (train_dir("lenet5") / "live/metrics.json").read_bytes()
    STEPS["train"](settings, "lenet5")  # the clock (throughput included) lives in timing.json: same bytes
    assert (train_dir("lenet5") / "live/metrics.json").read_bytes() == first
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
    by_val = max(evaluation["per_seed"], key=lambda r: (r["val_acc"], -r["seed"]))["seed"]
    assert evaluation["selected_seed"] == by_val  # the seed shown is chosen on validation


def test_train_accuracy_is_logged_in_eval_mode_on_a_fixed_training_subset(params, tmp_path, monkeypatch):
    """The last log step's train_acc_eval is the final weights' eval-mode accuracy on the fixed subset."""
    from annstudy.data.prepared import load_prepared
    from annstudy.engine.evaluation import evaluate, fixed_subset
    from annstudy.models.zoo import build_model
    from annstudy.store.artifacts import load_torch

    monkeypatch.chdir(tmp_path)
    write_prepared_blobs(tmp_path, "fashion_mnist")
    params["profile"] = "smoke"
    params["studies"]["architectures"].update(archs=["mlp_1"], train_log_subset=50)
    settings = settings_from_raw(params)
    STEPS["train"](settings, "mlp_1")
    record = read_record(train_dir("mlp_1"))
    curves = record.table("curves")
    assert {"train_acc", "train_acc_eval", "val_acc"} <= set(curves.columns)
    data = load_prepared(tmp_path / "data/prepared/fashion_mnist")
    idx = fixed_subset(len(data.train), 50)
    for seed, state in load_torch(train_dir("mlp_1") / "weights.pt").items():
        model = build_model("mlp_1", (1, 28, 28))
        model.load_state_dict(state)
        last = curves[curves["seed"] == seed].sort_values("step").iloc[-1]
        assert last["train_acc_eval"] == pytest.approx(evaluate(model, data.train.x[idx], data.train.y[idx], 50).acc)
    assert set(record.table("epochs").columns) >= {"val_loss", "val_acc"}  # validation loss every epoch


def test_section_ends_with_every_question_of_the_exercise_answered(params, tmp_path, monkeypatch):
    """S1's questions (studies.md) each get an answer with a status; conceptual ones are marked as such."""
    from annstudy.report.document import Heading
    from annstudy.studies.architectures import report

    monkeypatch.chdir(tmp_path)
    write_prepared_blobs(tmp_path, "fashion_mnist")
    meta_path = tmp_path / "data/prepared/fashion_mnist/meta.json"
    meta = json.loads(meta_path.read_text())  # what the report's settings table reads from a real prepare
    meta["split"] = {"seed": 0, "val_fraction": 0.1, "val_per_class": 20}
    meta["scaling"]["description"] = "blobs"
    meta_path.write_text(json.dumps(meta))
    params["profile"] = "smoke"
    params["studies"]["architectures"]["archs"] = ["mlp_1", "mlp_2", "cnn_3"]
    settings = settings_from_raw(params)
    for arch in ("mlp_1", "mlp_2", "cnn_3"):
        STEPS["train"](settings, arch)
        STEPS["evaluate"](settings, arch)
    section = report.build(settings, tmp_path / "reports")
    start = next(i for i, b in enumerate(section.blocks) if isinstance(b, Heading) and b.text.startswith("Questions"))
    answers = [b.text for b in section.blocks[start + 1 :]]
    asked = [a.split("**")[1] for a in answers]
    assert asked == [
        "What is generalization performance, and which plots show it?",
        "How do the architectures compare in generalization?",
        "How do parameter count and depth affect accuracy and generalization?",
        "Are the first-layer weights interpretable, do units specialise to classes, and whose are most interpretable?",
        "Which architectures are structurally akin, and how do their results compare?",
        "Which one would you pick, and why?",
        "How does the CNN compare with the MLP?",
        "Does each network meet the exercise's bar (≥ 0.80 plain ANN, ≥ 0.85 CNN), and how are its curves?",
    ]
    assert answers[0].endswith("*conceptual*") and answers[3].endswith("*measured*")
    assert "mlp_1: median" in answers[3] and "mlp_2: median" in answers[3]
    statuses = {s.value for s in Status}  # report/claims.py's Status: the one source of the names
    assert all(a.rsplit("— *", 1)[1].rstrip("*") in statuses for a in answers[1:3] + answers[4:])
    # headline only: accuracy per architecture, the validation choice (one model) and the test-set size
    m = section.metrics
    assert set(m) == {"n_test", "chosen", "mlp_1", "mlp_2", "cnn_3"} and m["n_test"] == 200
    assert all(set(m[a]) == {"test_acc_mean", "test_acc_std"} for a in ("mlp_1", "mlp_2", "cnn_3"))
    # DVC's confusion plot: the evaluate record of the architecture chosen on validation (first of equal means)
    # for its seed chosen on validation, one row per test image, as many right as that seed's test accuracy says
    archs = ("mlp_1", "mlp_2", "cnn_3")
    summaries = {a: read_record(eval_dir(a)).summary for a in archs}
    means = {a: sum(r["val_acc"] for r in s["per_seed"]) / len(s["per_seed"]) for a, s in summaries.items()}
    evaluation = summaries[max(archs, key=means.get)]
    rows = (tmp_path / "reports/plots/confusion.csv").read_text().splitlines()
    assert rows[0] == "actual,predicted" and len(rows) == 1 + 10 * 20
    right = sum(true == pred for true, pred in (row.split(",") for row in rows[1:]))
    seed_acc = {r["seed"]: r["test_acc"] for r in evaluation["per_seed"]}[evaluation["selected_seed"]]
    assert right == sum(evaluation["confusion"][k][k] for k in range(10)) == round(seed_acc * 200)
    # metrics.json's choice: the same architecture and the test accuracy of the same seed
    assert m["chosen"] == {"arch": max(archs, key=means.get), "test_acc": round(seed_acc, 5)}


def test_choices_on_validation_prefer_healthy_then_highest_then_first_listed():
    rows = [
        {"seed": 2, "diverged": False, "val_acc": 0.9},
        {"seed": 0, "diverged": True, "val_acc": 0.95},  # diverged: never chosen over a healthy seed
        {"seed": 1, "diverged": False, "val_acc": 0.9},  # ties with seed 2: the lower seed
    ]
    assert chosen_seed_row(rows)["seed"] == 1
    assert chosen_seed_row([{**r, "diverged": True} for r in rows])["seed"] == 0  # all diverged: among all
    nan = [{"seed": 0, "diverged": False, "val_acc": float("nan")}, {"seed": 1, "diverged": False, "val_acc": 0.1}]
    assert chosen_seed_row(nan)["seed"] == 1  # a NaN score ranks lowest
    scores = {"a": 0.5, "b": 0.9, "c": 0.7, "d": 0.7}
    assert chosen_on_validation("abcd", scores.get, lambda x: x != "b") == "c"  # b diverged; c listed before d
