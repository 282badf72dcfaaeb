"""The claim rule set (report/claims.py): one synthetic record per status, the family correction, the rule order."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from annstudy.report.claims import Arm, Evidence, Family, Status, did_not_train, judge
from annstudy.report.comparisons import Contrast, accuracy_bar, against, band, compare, holm_family
from annstudy.report.stats import (
    Accuracy,
    holm,
    seeds_for_equivalence,
    seeds_needed,
    summarize,
    tost_p,
    welch_p,
    wilson,
)
from annstudy.studies.learning_rates.claims import schedule_confounders


def arm(label: str, values: tuple[float, ...], budget: str = "15 epochs", loss: float = 0.4) -> Arm:
    return Arm(label, values, budget, final_loss=loss, accuracy=sum(values) / len(values), classes=10)


def test_supported_when_welch_rejects_equal_means():
    claim = compare("a beats b", arm("a", (0.90, 0.91, 0.92, 0.905)), arm("b", (0.80, 0.81, 0.79, 0.805)))
    assert claim.status is Status.SUPPORTED and claim.reason == ""
    assert claim.n == 4 and claim.budget == "15 epochs"
    assert claim.statistic == "a − b = +10.7 points"
    assert claim.test == f"Welch t-test, p = {claim.p:.2g}" and claim.p < 1e-4


def test_a_raw_p_below_alpha_whose_holm_p_is_not_is_never_supported():
    a, b = (0.90, 0.91, 0.92), (0.875, 0.89, 0.895)
    raw = welch_p(a, b)
    assert 0.04 < raw < 0.05  # supported alone ...
    assert compare("a beats b", arm("a", a), arm("b", b)).status is Status.SUPPORTED
    wide = tuple(v + 0.001 for v in a)  # ... a second, weaker contrast in the same family
    claims = holm_family(
        [Contrast("a beats b", arm("a", a), arm("b", b)), Contrast("c vs d", arm("c", wide), arm("d", a))],
        "one question",
    )
    q = holm([raw, welch_p(wide, a)])[0]
    assert q == pytest.approx(2 * raw) and q >= 0.05
    assert claims[0].status is Status.INCONCLUSIVE and claims[0].p == pytest.approx(q)
    assert claims[0].test.startswith(f"Welch t-test, Holm-adjusted p = {q:.2g} (family: 2 tests, one question)")
    # the seeds a decision needs are computed at the adjusted level alpha / 2, not at 0.05
    spread = math.sqrt((summarize(a).std ** 2 + summarize(b).std ** 2) / 2)
    diff = summarize(a).mean - summarize(b).mean
    needed = seeds_needed(diff, spread, 0.025)
    assert needed > seeds_needed(diff, spread, 0.05) and needed > 3
    assert claims[0].reason == (
        f"about {needed} seeds per arm would detect the observed difference at α = 0.05/2, 80 % power (3 run)"
    )
    with pytest.raises(ValueError, match="needs the Holm-adjusted p"):
        compare("a beats b", arm("a", a), arm("b", b), family=Family(2))


def test_three_seeds_half_a_point_apart_are_inconclusive_not_equivalent():
    a = (0.880, 0.888, 0.872)  # sd 0.8 points
    b = tuple(v - 0.005 for v in (0.880, 0.872, 0.888))  # 0.5 points lower, same spread
    claim = compare("a vs b", arm("a", a), arm("b", b))
    assert claim.statistic == "a − b = +0.5 points"
    tost = tost_p(a, b, 0.01)
    assert tost == pytest.approx(0.243, abs=5e-4) and claim.status is Status.INCONCLUSIVE
    assert claim.test == f"Welch t-test, p = {welch_p(a, b):.2g}; TOST ±1 point at α = 0.05, p = 0.24"
    # the fewest seeds that decide it: equivalence within 1 point (detecting 0.5 points needs more)
    equal, detect = seeds_for_equivalence(0.005, 0.008, 0.01), seeds_needed(0.005, 0.008)
    assert (equal, detect) == (33, 42)
    assert (
        claim.reason == "about 33 seeds per arm would show equivalence within ±1 point at α = 0.05, 80 % power (3 run)"
    )


def test_ten_seeds_a_tenth_of_a_point_apart_are_equivalent():
    a = tuple(0.90 + 0.002 * z for z in (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 0.2, -0.2, 0.0))
    b = tuple(v - 0.001 for v in a[::-1])
    claim = compare("a vs b", arm("a", a), arm("b", b))
    assert welch_p(a, b) > 0.05 and claim.statistic == "a − b = +0.1 points"
    assert claim.status is Status.EQUIVALENT and claim.p == pytest.approx(tost_p(a, b, 0.01)) and claim.p < 1e-8
    assert claim.reason == "the difference lies within ±1 point, the smallest that matters"
    # in a family of 5 the two one-sided tests run at 0.05 / 5 and must still reject
    family = Evidence(0.001, 0.002, 10, 0.9, claim.p, 0.01, Family(5))
    assert judge([arm("a", a), arm("b", b)], family)[0] is Status.EQUIVALENT
    weak = Evidence(0.001, 0.002, 10, 0.9, 0.02, 0.01, Family(5))  # 0.02 > 0.01: not at the adjusted level
    assert judge([arm("a", a), arm("b", b)], weak)[0] is Status.INCONCLUSIVE


def test_tost_matches_two_one_sided_welch_tests():
    a, b = [0.90, 0.905, 0.895, 0.91], [0.899, 0.902, 0.897, 0.905]
    upper = sps.ttest_ind(a, [v + 0.01 for v in b], equal_var=False, alternative="less").pvalue
    lower = sps.ttest_ind(a, [v - 0.01 for v in b], equal_var=False, alternative="greater").pvalue
    assert tost_p(a, b, 0.01) == pytest.approx(max(upper, lower))


def test_a_broken_manipulation_is_judged_on_its_effect():
    unscaled = Arm("mlp_1 relu on [0, 255]", (0.1, 0.1, 0.1), "1 epoch", final_loss=2.303, accuracy=0.1, classes=10)
    scaled = arm("mlp_1 relu on [-1, 1]", (0.79, 0.795, 0.788), "1 epoch")
    claim = compare("scaling to [0, 255] stops mlp_1 relu from training", unscaled, scaled, manipulation=True)
    assert claim.status is Status.SUPPORTED and claim.p is None
    assert claim.reason == (
        "mlp_1 relu on [0, 255]: final loss 2.303 within 0.05 of ln 10 = 2.303, while mlp_1 relu on [-1, 1] "
        "trained: failing to train is the effect"
    )
    assert claim.test == "did-not-train rule on each arm (final loss vs ln C, accuracy vs chance)"
    # the same arms in an accuracy claim are no evidence; both arms broken is no evidence either way
    assert compare("unscaled trails scaled", unscaled, scaled).status is Status.DID_NOT_TRAIN
    both = compare("x", unscaled, Arm("y", (0.1,) * 3, "1 epoch", 2.304, 0.1, 10), manipulation=True)
    assert both.status is Status.DID_NOT_TRAIN
    # a manipulation that did not break training is judged by the tests as any other claim
    fine = compare("x", arm("a", (0.90, 0.91, 0.92)), arm("b", (0.80, 0.81, 0.79)), manipulation=True)
    assert fine.status is Status.SUPPORTED and fine.test.startswith("Welch t-test, p = ")


def test_a_schedule_that_did_not_fire_for_one_seed_is_confounded():
    drops = {0: [4], 1: [3, 4], 2: []}  # seed 2 found no plateau: it trained at the constant rate throughout
    reasons = schedule_confounders(drops, epoch=5)
    assert reasons == ["the schedule did not fire for seed 2 before epoch 5: that seed is constant-rate SGD"]
    assert schedule_confounders({0: [4], 1: [3]}, epoch=5) == []
    assert schedule_confounders({0: [4], 1: [3]}, epoch=4) == [
        "the schedule did not fire for seed 0 before epoch 4: that seed is constant-rate SGD"
    ]
    sched, base = arm("schedule", (0.90, 0.91, 0.92), "5 epochs"), arm("sgd 0.1", (0.80, 0.81, 0.79), "5 epochs")
    claim = compare("schedule beats SGD", sched, base, reasons)
    assert claim.status is Status.CONFOUNDED and claim.reason == reasons[0]


def test_confounded_by_unequal_budgets():
    sched, adam = arm("schedule", (0.885, 0.890), "4 epochs"), arm("adam", (0.829, 0.830), "1 epoch")
    claim = compare("schedule beats Adam", sched, adam)
    assert claim.status is Status.CONFOUNDED and claim.reason == "unequal budgets (4 epochs vs 1 epoch)"
    assert claim.budget == "4 epochs vs 1 epoch"


def test_did_not_train_by_loss_at_ln_c_or_accuracy_at_chance():
    stuck = Arm("cnn_5 relu", (0.1, 0.1), "1 epoch", final_loss=2.302, accuracy=0.1, classes=10)
    assert did_not_train(stuck) == "cnn_5 relu: final loss 2.302 within 0.05 of ln 10 = 2.303"
    chance = Arm("x", (0.11,), "1 epoch", final_loss=1.9, accuracy=0.11, classes=10)
    assert did_not_train(chance) == "x: accuracy 11.0 % at chance (10.0 %)"
    assert did_not_train(Arm("ok", (0.5,), "1 epoch", final_loss=1.5, accuracy=0.5, classes=10)) is None
    # it wins over every other rule, unequal budgets included
    claim = compare("sigmoid vanishes", stuck, arm("sigmoid", (0.8, 0.81), "2 epochs"))
    assert claim.status is Status.DID_NOT_TRAIN and claim.reason.startswith("cnn_5 relu: final loss 2.302")


def test_one_seed_per_arm_is_inconclusive_and_says_a_test_needs_two():
    claim = compare("a beats b", arm("a", (0.9,)), arm("b", (0.8,)))
    assert claim.status is Status.INCONCLUSIVE and claim.p is None
    assert claim.test == "no test (fewer than 2 seeds per arm)"
    assert claim.reason == "a test needs at least 2 seeds per arm (1 run)"


def test_one_arm_claims_against_a_bar_and_a_band():
    one = arm("cnn_bn4", (0.88, 0.87, 0.89))
    assert against("meets 85 %", one, 0.85, (0.86, 0.90), "Wilson").status is Status.SUPPORTED
    unsure = against("meets 85 %", one, 0.85, (0.84, 0.90), "Wilson")
    assert unsure.status is Status.INCONCLUSIVE and unsure.reason == "the interval [84.0, 90.0] contains 85.0 %"
    # one model on 300 points: no seed spread is claimed, and more test points (not seeds) would decide
    spiral = accuracy_bar("the fold model", Accuracy((0.96,), 300), 0.95, "300 epochs", 5, "the target")
    assert (
        spiral.status is Status.INCONCLUSIVE
        and spiral.test == "95 % Wilson interval over 300 test items (one model: no seed spread)"
    )
    z = sps.norm.ppf(0.975)
    assert spiral.reason.endswith(
        f"about {math.ceil(z * z * 0.96 * 0.04 / 0.01**2):,} test items would put the "
        "sampling interval clear of it (300 used)"
    )
    # in a family of 7 bar claims the interval is at 1 - 0.05 / 7
    acc = Accuracy((0.86, 0.862, 0.858), 10_000)
    alone = accuracy_bar("x", acc, 0.85, "1 epoch", 10, "the bar")
    seven = accuracy_bar("x", acc, 0.85, "1 epoch", 10, "the bar", family=Family(7))
    assert alone.status is Status.SUPPORTED and seven.status is Status.INCONCLUSIVE
    assert seven.test.startswith("99.29 %: the t-interval over 3 seeds")
    # a published band: inside it (as the figure says), and the wording follows the mean
    cnn = Accuracy((0.919, 0.915, 0.923), 1000)
    inside = band("our cnn", cnn, 0.94, 0.03, "30 epochs", 10, "the published band")
    assert inside.statement == "our cnn (91.9 %) lands inside the published band 94 ± 3 %"
    assert inside.status is Status.INCONCLUSIVE  # the interval crosses 91 %
    low = band("our mlp", Accuracy((0.60, 0.61, 0.605), 1000), 0.68, 0.03, "30 epochs", 10, "the published band")
    assert low.statement.startswith("our mlp (60.5 %) lands below") and low.status is Status.SUPPORTED


def test_accuracy_uncertainty_stays_in_range_and_names_the_dominant_source():
    two = Accuracy((0.87, 0.876), 350)
    assert two.fmt() == "87.3 % (seeds 87.0, 87.6)"  # n <= 2: per-seed values, no t-interval
    low, high = wilson(0.873, 350)
    assert 0 <= low < 0.873 < high <= 1 and two.dominant == "test-set sampling"
    wide = Accuracy((0.01, 0.5, 0.99), 10_000)  # the t-interval [-1.2, 2.2] is clipped to [0, 1]
    assert (wide.summary.ci_low, wide.summary.ci_high) == (0.0, 1.0) and wide.dominant == "the seed spread"
    assert wide.interval_at(0.99) == (0.0, 1.0)
    assert wilson(1.0, 50)[1] == 1.0 and wilson(0.0, 50)[0] == 0.0
    assert summarize([-1.0, 1.0], bounds=(0.0, math.inf)).ci_low == 0.0
    assert Accuracy((0.5,), 100).fmt() == "50.0 % (seed 50.0)"
    assert pytest.approx(wilson(0.5, 100)[0], abs=1e-4) == 0.4038
