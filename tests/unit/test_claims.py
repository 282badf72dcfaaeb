"""The claim rule set (report/claims.py): one synthetic record per status, and the rule order."""

from __future__ import annotations

import math

import pytest

from annstudy.report.claims import Arm, Status, against, compare, did_not_train, judge
from annstudy.report.stats import Accuracy, seeds_needed, summarize, wilson


def arm(label: str, values: tuple[float, ...], budget: str = "15 epochs", loss: float = 0.4) -> Arm:
    return Arm(label, values, budget, final_loss=loss, accuracy=sum(values) / len(values), classes=10)


def test_supported_when_welch_rejects_equal_means():
    claim = compare("a beats b", arm("a", (0.90, 0.91, 0.92, 0.905)), arm("b", (0.80, 0.81, 0.79, 0.805)))
    assert claim.status is Status.SUPPORTED and claim.reason == ""
    assert claim.n == 4 and claim.budget == "15 epochs"
    assert claim.statistic == "a − b = +10.7 points"


def test_not_significant_when_the_difference_is_below_the_smallest_that_matters():
    a = tuple(0.90 + 0.01 * ((i % 5) - 2) for i in range(10))
    b = tuple(v - 0.004 for v in a)  # 0.4 points apart, p = 0.56: more seeds would only pin down a negligible gap
    claim = compare("a vs b", arm("a", a), arm("b", b))
    assert claim.status is Status.NOT_SIGNIFICANT and claim.statistic == "a − b = +0.4 points"
    assert claim.reason == "the observed difference is below the smallest that matters here (1 point)"
    # a difference that matters, p just above 0.05, and seeds enough to detect it: not significant, with why
    ten = arm("a", a)
    status, reason = judge([ten, ten], 0.06, 0.02, 0.01, min_effect=0.01)
    assert seeds_needed(0.02, 0.01) == 4
    assert status is Status.NOT_SIGNIFICANT
    assert reason == "p ≥ 0.05 although about 4 seeds per arm would detect the observed difference (10 run)"
    # the same gap in a metric where any difference matters is underpowered instead
    loose = compare("a vs b", arm("a", a), arm("b", b), min_effect=0.0)
    assert math.ceil(2 * ((1.959964 + 0.841621) * summarize(a).std / 0.004) ** 2) == 219
    assert loose.status is Status.UNDERPOWERED and "about 219 seeds per arm (10 run)" in loose.reason


def test_underpowered_states_the_seeds_needed():
    a, b = (0.80, 0.84), (0.79, 0.81)  # diff 0.02, pooled std sqrt((0.0008 + 0.0002) / 2)
    claim = compare("a vs b", arm("a", a), arm("b", b))
    std = math.sqrt((summarize(a).std ** 2 + summarize(b).std ** 2) / 2)
    assert claim.status is Status.UNDERPOWERED
    assert seeds_needed(0.02, std) == math.ceil(2 * ((1.959964 + 0.841621) * std / 0.02) ** 2) == 20
    assert "about 20 seeds per arm (2 run)" in claim.reason


def test_confounded_by_unequal_budgets_and_by_a_schedule_that_never_fired():
    sched, adam = arm("schedule", (0.885, 0.890), "4 epochs"), arm("adam", (0.829, 0.830), "1 epoch")
    claim = compare("schedule beats Adam", sched, adam)
    assert claim.status is Status.CONFOUNDED and claim.reason == "unequal budgets (4 epochs vs 1 epoch)"
    assert claim.budget == "4 epochs vs 1 epoch"
    fired = compare("schedule beats constant", arm("s", (0.9, 0.91)), arm("c", (0.8, 0.81)), ["the rate never dropped"])
    assert fired.status is Status.CONFOUNDED and fired.reason == "the rate never dropped"


def test_did_not_train_by_loss_at_ln_c_or_accuracy_at_chance():
    stuck = Arm("cnn_5 relu", (0.1, 0.1), "1 epoch", final_loss=2.302, accuracy=0.1, classes=10)
    assert did_not_train(stuck) == "cnn_5 relu: final loss 2.302 within 0.05 of ln 10 = 2.303"
    chance = Arm("x", (0.11,), "1 epoch", final_loss=1.9, accuracy=0.11, classes=10)
    assert did_not_train(chance) == "x: accuracy 11.0 % at chance (10.0 %)"
    assert did_not_train(Arm("ok", (0.5,), "1 epoch", final_loss=1.5, accuracy=0.5, classes=10)) is None
    # it wins over every other rule, unequal budgets included
    claim = compare("sigmoid vanishes", stuck, arm("sigmoid", (0.8, 0.81), "2 epochs"))
    assert claim.status is Status.DID_NOT_TRAIN and claim.reason.startswith("cnn_5 relu: final loss 2.302")


def test_judge_without_a_test_and_one_arm_checks():
    status, reason = judge([arm("a", (0.9,)), arm("b", (0.8,))], None, 0.1, float("nan"))
    assert status is Status.UNDERPOWERED and reason == "at least 2 seeds per arm are needed for a test"
    one = arm("cnn_bn4", (0.88, 0.87, 0.89))
    assert against("meets 85 %", one, 0.85, (0.86, 0.90), "Wilson").status is Status.SUPPORTED
    unsure = against("meets 85 %", one, 0.85, (0.84, 0.90), "Wilson")
    assert unsure.status is Status.NOT_SIGNIFICANT and unsure.reason == "the interval [84.0, 90.0] contains 85.0 %"


def test_accuracy_uncertainty_stays_in_range_and_names_the_dominant_source():
    two = Accuracy((0.87, 0.876), 350)
    assert two.fmt() == "87.3 % (seeds 87.0, 87.6)"  # n <= 2: per-seed values, no t-interval
    low, high = wilson(0.873, 350)
    assert 0 <= low < 0.873 < high <= 1 and two.dominant == "test-set sampling"
    wide = Accuracy((0.01, 0.5, 0.99), 10_000)  # the t-interval [-1.2, 2.2] is clipped to [0, 1]
    assert (wide.summary.ci_low, wide.summary.ci_high) == (0.0, 1.0) and wide.dominant == "the seed spread"
    assert wilson(1.0, 50)[1] == 1.0 and wilson(0.0, 50)[0] == 0.0
    assert summarize([-1.0, 1.0], bounds=(0.0, math.inf)).ci_low == 0.0
    assert Accuracy((0.5,), 100).fmt() == "50.0 % (seed 50.0)"
    assert pytest.approx(wilson(0.5, 100)[0], abs=1e-4) == 0.4038
