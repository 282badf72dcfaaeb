"""S1-S3's early stopping (``stop_patience``), the `converged` profile, and the budget rule it relies on.

A stopped seed keeps its best epoch's weights while the rest of its stack trains on, so its record
must equal that of the same seed trained alone for exactly its best epochs; arms stopped by one rule
under one maximum are matched budgets in the claims, fixed-epoch arms at other epochs are not.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from annstudy.engine.seeds import train_seeds
from annstudy.params.settings import settings_from_raw
from annstudy.report import budgets
from annstudy.report.claims import Arm, Status, epochs_reached, training_budget
from annstudy.report.comparisons import compare
from annstudy.report.fidelity import banner, deviations
from annstudy.studies.learning_rates.claims import schedule_confounders
from conftest import blobs_dataset
from helpers.training import small_train_settings

# mlp_1 on the blobs at Adam 0.02: seed 0 stops after epoch 8 (best 7), seed 1 after 11 (best 10)
STOPPING = small_train_settings(seeds=(0, 1), epochs=12, lr=0.02, stop_patience=1)


@pytest.fixture(scope="module")
def stopped_runs():
    data = blobs_dataset(size=8)
    return data, train_seeds("mlp_1", data, replace(STOPPING, vectorize=True), bar=False)


def test_each_seed_stops_after_patience_epochs_without_a_lower_validation_loss(stopped_runs):
    _, runs = stopped_runs
    assert [(r.seed, r.epochs_trained, r.best_epoch) for r in runs] == [(0, 8, 7), (1, 11, 10)]
    for r in runs:
        losses = [e["val_loss"] for e in r.epochs]
        assert [e["epoch"] for e in r.epochs] == list(range(1, r.epochs_trained + 1))  # no rows after the stop
        assert losses.index(min(losses)) + 1 == r.best_epoch  # the full validation set's lowest loss
        assert r.steps == r.epochs_trained * 8  # its own steps: 120 images, batch 16 -> 8 per epoch
        assert r.epochs_trained - 1 < max(c["epoch"] for c in r.curve) <= r.epochs_trained  # curve ends at the stop


def test_stopped_seed_keeps_exactly_its_best_epochs_weights(stopped_runs):
    data, runs = stopped_runs
    for r in runs:  # the same seed alone, fixed epochs = its best epoch, no early stopping: bit for bit
        fixed = replace(STOPPING, seeds=(r.seed,), epochs=r.best_epoch, stop_patience=0, vectorize=False)
        (alone,) = train_seeds("mlp_1", data, fixed, bar=False)
        assert alone.epochs_trained == alone.best_epoch == r.best_epoch
        assert all(torch.equal(r.state_dict[k], alone.state_dict[k]) for k in alone.state_dict)
        assert alone.epochs == r.epochs[: r.best_epoch]


def test_channels_last_cnn_keeps_its_best_epochs_weights():
    """A channels-last convolution weight has no flat view: the best weights are kept per seed all the same,
    bit for bit those of the same stack trained for exactly the best epochs."""
    data = blobs_dataset(size=12)
    c = replace(STOPPING, epochs=6, channels_last=True, vectorize=True)
    runs = train_seeds("lenet5", data, c, bar=False)
    assert [(r.epochs_trained, r.best_epoch) for r in runs] == [(3, 2), (3, 2)]
    fixed = train_seeds("lenet5", data, replace(c, epochs=2, stop_patience=0), bar=False)
    for r, f in zip(runs, fixed, strict=True):
        assert all(torch.equal(r.state_dict[k], f.state_dict[k]) for k in f.state_dict)


def test_fixed_epochs_record_every_seed_at_its_last_epoch():
    runs = train_seeds("mlp_1", blobs_dataset(size=8), replace(STOPPING, epochs=3, stop_patience=0), bar=False)
    assert [(r.epochs_trained, r.best_epoch, r.steps) for r in runs] == [(3, 3, 24), (3, 3, 24)]


# ------------------------------------------------------------------ the converged profile


def test_converged_profile_resolves_one_rule_per_study(params):
    quick = settings_from_raw(params)
    assert {quick.studies[s].stop_patience for s in ("architectures", "activations", "learning_rates")} == {0}
    for name in ("full", "smoke"):
        assert {params["profiles"][name][s]["stop_patience"] for s in ("architectures", "activations")} == {0}
    params["profile"] = "converged"
    s = settings_from_raw(params)
    s1, s2, s3 = (s.studies[k] for k in ("architectures", "activations", "learning_rates"))
    assert (s1.train_for("cnn_bn4").epochs, s1.train.stop_patience, s1.train.train_limit) == (20, 3, 0)
    assert (s1.train.seeds, s1.train.log_every, s1.train.train_eval_subset) == ((0, 1, 2), 200, 10000)
    assert (s2.train_for("cnn_5").epochs, s2.train.stop_patience, s2.train.train_limit) == (15, 3, 20000)
    assert {v: (s3.train_for(v).epochs, s3.train_for(v).stop_patience) for v in s3.variants} == dict.fromkeys(
        ("lr_0.1", "lr_0.01", "lr_0.001", "scheduled", "adam"), (20, 3)
    )
    assert s3.patience == 2 and s3.train.train_limit == 20000  # the plateau rule is its own key
    assert s.studies["hyperparameters"].seeds == tuple(range(10)) and s.studies["mnist1d"].seeds == tuple(range(5))
    assert (s.studies["mnist1d"].epochs, s.studies["spiral"].max_epochs, s.studies["hyperparameters"].epochs) == (
        150,
        500,
        50,
    )
    text = banner(s, []).text
    assert "one early-stopping rule (patience 3; at most 20 epochs for S1, 15 for S2, 20 for S3)" in text
    assert "S2 and S3 on 20,000 stratified training images" in text and "demonstration" not in text
    changed = {(d.study, d.setting): (d.value, d.faithful) for d in deviations(s)}
    assert changed[("activations", "train_limit")] == ("20,000", "0")
    assert changed[("architectures", "stop_patience")] == ("3", "0")
    assert not any(study in ("hyperparameters", "spiral") and key != "seeds" for study, key in changed)


# ------------------------------------------------------------------ matched budgets


def _run(epochs: int, patience: int, trained: list[int], best: list[int]) -> dict:
    """A train record's summary as S1-S3 write it."""
    seeds = [{"seed": i, "epochs_trained": t, "best_epoch": b} for i, (t, b) in enumerate(zip(trained, best))]
    return {"train": {"epochs": epochs, "stop_patience": patience}, "seeds": seeds}


def _arm(label: str, run: dict, values: tuple[float, ...]) -> Arm:
    return Arm(label, values, budgets.budget(run), final_loss=0.3, accuracy=sum(values) / len(values), classes=10)


def test_same_stopping_rule_and_maximum_is_a_matched_budget_whatever_epoch_each_stopped():
    a = _run(30, 3, [9, 9, 9], [6, 6, 6])
    b = _run(30, 3, [14, 14, 14], [11, 11, 11])
    assert budgets.budget(a) == budgets.budget(b) == "≤ 30 epochs, stop patience 3"
    assert (budgets.reached(a), budgets.reached(b)) == ("9 (best 6)", "14 (best 11)")
    claim = compare("a beats b", _arm("a", a, (0.90, 0.91, 0.92)), _arm("b", b, (0.85, 0.86, 0.87)))
    assert claim.status is Status.SUPPORTED and claim.budget == "≤ 30 epochs, stop patience 3"


def test_fixed_epochs_that_differ_stay_confounded():
    a, b = _run(5, 0, [5, 5, 5], [5, 5, 5]), _run(10, 0, [10, 10, 10], [10, 10, 10])
    claim = compare("a beats b", _arm("a", a, (0.90, 0.91, 0.92)), _arm("b", b, (0.85, 0.86, 0.87)))
    assert claim.status is Status.CONFOUNDED and claim.reason == "unequal budgets (5 epochs vs 10 epochs)"
    # another rule, or another maximum, is another budget too
    assert training_budget(30, 3) not in (training_budget(30, 2), training_budget(20, 3), training_budget(30))


def test_epochs_reached_and_records_without_stopping_fields():
    assert epochs_reached([7, 12, 9], [4, 9, 6]) == "7–12 (best 4–9)"
    assert epochs_reached([15, 15], [15, 15]) == "15" and epochs_reached([], []) == "—"
    legacy = {"train": {"epochs": 2}, "seeds": [{"seed": 0}, {"seed": 1}]}  # written before stop_patience
    assert (budgets.budget(legacy), budgets.reached(legacy)) == ("2 epochs", "2")
    assert budgets.best_epochs(legacy) == {0: 2, 1: 2}


def test_schedule_must_fire_before_each_seeds_best_epoch():
    drops = {0: [4], 1: [9]}
    assert schedule_confounders(drops, {0: 7, 1: 8}) == [
        "the schedule did not fire for seed 1 before epoch 8 (its best): that seed is constant-rate SGD"
    ]
    assert schedule_confounders(drops, 10) == []
