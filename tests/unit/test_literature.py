"""Comparison with the literature: the one verdict rule (report/literature.py) and each study's table of it."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from annstudy.report.document import Document, Paragraph
from annstudy.report.literature import (
    DEMONSTRATION_PROFILES,
    Reference,
    bar_note,
    cells,
    demonstration_note,
    judged,
    verdict,
)
from annstudy.report.markdown import to_markdown
from annstudy.report.stats import Accuracy
from annstudy.studies.architectures import literature as s1
from annstudy.studies.architectures.results import ArchResult
from annstudy.studies.hyperparameters import literature as s4
from annstudy.studies.hyperparameters.results import VariantSummary
from annstudy.studies.mnist1d import literature as mnist1d
from annstudy.studies.mnist1d.config import Mnist1dSettings

MLP = (0.87, 0.88)  # Fashion-MNIST's published MLP range


def test_a_mean_inside_the_range_is_reproduced():
    assert verdict(0.875, 0.870, 0.880, *MLP) == "reproduced"
    assert verdict(0.87, None, None, *MLP) == "reproduced"  # the edges belong to the range


def test_an_interval_that_overlaps_the_range_is_reproduced_though_its_mean_lies_outside():
    assert verdict(0.860, 0.845, 0.875, *MLP) == "reproduced"
    assert verdict(0.890, 0.879, 0.901, *MLP) == "reproduced"


def test_an_interval_wholly_below_or_above_is_below_or_above():
    assert verdict(0.795, 0.764, 0.826, *MLP) == "below"  # quick's mlp_1 after 2 epochs
    assert verdict(0.935, 0.925, 0.945, 0.89, 0.92) == "above"
    assert verdict(0.40, 0.395, 0.405, 0.58, 0.65) == "below"


def test_without_an_interval_the_mean_alone_is_judged():
    assert verdict(0.86, None, None, *MLP) == "below"
    assert verdict(0.885, None, None, *MLP) == "above"
    assert verdict(0.97, None, None, 0.97, 0.97) == "reproduced"  # a single published value


def test_an_empty_range_or_a_missing_mean_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        verdict(0.9, None, None, 0.92, 0.89)
    with pytest.raises(ValueError, match="no mean"):
        verdict(math.nan, None, None, *MLP)


def test_two_seeds_are_judged_by_their_mean_three_by_their_t_interval():
    ref = Reference(*MLP, "0.87–0.88")
    assert judged(Accuracy((0.86, 0.865), 10_000), ref) == "below"  # n = 2: mean 0.8625, no interval
    # n = 3: mean 0.86, t-interval 0.86 ± 4.303 · 0.01 / √3 = [0.835, 0.885] reaches the range
    assert judged(Accuracy((0.85, 0.86, 0.87), 10_000), ref) == "reproduced"


def test_a_bar_is_reached_straddled_or_missed():
    assert bar_note(Accuracy((0.80, 0.81, 0.82), 10_000), 0.80).endswith("on the bar (the interval straddles it)")
    assert bar_note(Accuracy((0.86, 0.865, 0.87), 10_000), 0.85) == "exercise bar ≥ 0.85: reached"  # [0.853, 0.877]
    assert bar_note(Accuracy((0.78, 0.785), 10_000), 0.80) == "exercise bar ≥ 0.80: not reached"
    assert bar_note(Accuracy((), 10_000), 0.80) == "exercise bar ≥ 0.80"


def test_only_demonstration_profiles_get_the_below_convergence_sentence():
    assert DEMONSTRATION_PROFILES == ("quick", "smoke")
    assert isinstance(demonstration_note("quick"), Paragraph) and "says nothing" in demonstration_note("smoke").text
    assert demonstration_note("full") is None and demonstration_note("converged") is None


def _arch(arch: str, accs: tuple[float, ...]) -> ArchResult:
    per_seed = [{"seed": i, "test_acc": a, "diverged": False} for i, a in enumerate(accs)]
    return ArchResult(arch, {"train": {"epochs": 15}}, {"per_seed": per_seed}, pd.DataFrame())


S1_RESULTS = [
    _arch("mlp_1", (0.874, 0.876, 0.878)),
    _arch("cnn_5", (0.80, 0.81, 0.82)),
    _arch("lenet5", (0.90, 0.91)),
    _arch("cnn_bn4", (0.93, 0.935, 0.94)),
]


def test_s1_table_on_fashion_mnist_judges_every_architecture_and_its_bar():
    rows = [cells(r) for r in s1.rows(S1_RESULTS, "fashion_mnist", 10_000)]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("mlp_1 (15 epochs)", "0.87–0.88 (MLP)", "*reproduced*"),
        ("cnn_5 (15 epochs)", "0.89–0.92 (small CNN)", "*below*"),
        ("lenet5 (15 epochs)", "0.89–0.92 (small CNN)", "*reproduced*"),  # n = 2: mean 0.905
        ("cnn_bn4 (15 epochs)", "0.89–0.92 (small CNN)", "*above*"),  # [0.923, 0.947]
    ]
    assert [r[4] for r in rows] == ["exercise bar ≥ 0.80: reached", "", "", "exercise bar ≥ 0.85: reached"]
    assert rows[1][1] == "81.0 % [78.5, 83.5]"


def test_s1_table_on_cifar10_gray_has_no_figure_for_lenet5_and_none_on_image_csv():
    rows = [cells(r) for r in s1.rows(S1_RESULTS, "cifar10_gray", 10_000)]
    assert [r[3] for r in rows] == ["*above*", "*above*", "—", "—"]
    assert rows[2][4] == "no published figure for lenet5 on cifar10_gray"
    blocks = s1.blocks(S1_RESULTS, "image_csv", 500, "full")
    md = to_markdown(Document("t", blocks))
    assert "they do not apply to `image_csv`, so no architecture gets a verdict" in md
    assert [r[3] for r in blocks[-1].rows] == ["—"] * 4
    assert "says nothing about the literature" in to_markdown(Document("t", s1.blocks(S1_RESULTS, "x", 1, "quick")))


def _mnist1d(epochs: int) -> Mnist1dSettings:
    return Mnist1dSettings.model_validate(
        {
            "seeds": [0, 1, 2],
            "data_seed": 42,
            "num_samples": 5000,
            "train_split": 0.8,
            "models": ["mlp", "cnn"],
            "mlp_hidden": [100, 100],
            "cnn_channels": 25,
            "optimizer": "adam",
            "lr": 0.01,
            "batch_size": 100,
            "epochs": epochs,
            "published_acc": {"mlp": 0.68, "cnn": 0.94},
            "tolerance": 0.03,
        }
    )


MNIST1D_ACCS = {"mlp": Accuracy((0.66, 0.68, 0.70), 1000), "cnn": Accuracy((0.85, 0.86, 0.87), 1000)}


def test_mnist1d_budget_is_the_papers_at_150_epochs_of_40_steps():
    assert mnist1d.budget(_mnist1d(150)) == mnist1d.PAPER == mnist1d.Budget(6000, 100, 4000)
    assert mnist1d.budget(_mnist1d(30)) == mnist1d.Budget(1200, 100, 4000)
    assert mnist1d.confounders(_mnist1d(150)) == []
    assert mnist1d.confounders(_mnist1d(30)) == [
        "this run trains 1,200 steps of batch 100 on 4,000 series, the paper 6,000 steps of batch 100 on 4,000 series"
    ]


def test_mnist1d_table_judges_against_published_plus_minus_tolerance_and_flags_the_budget():
    at_paper = [cells(r) for r in mnist1d.rows(MNIST1D_ACCS, _mnist1d(150))]
    assert [(r[0], r[2], r[3], r[4]) for r in at_paper] == [
        ("mlp", "68 % ± 3 points", "*reproduced*", ""),
        ("cnn", "94 % ± 3 points", "*below*", ""),  # [0.835, 0.885] < 0.91
    ]
    short = [cells(r)[4] for r in mnist1d.rows(MNIST1D_ACCS, _mnist1d(30))]
    assert short == ["not at the paper's budget"] * 2
    table = mnist1d.blocks(MNIST1D_ACCS, _mnist1d(30), "quick")[1]
    assert "this run trained 1,200 steps of batch 100" in table.caption
    assert mnist1d.judged_band(MNIST1D_ACCS["cnn"], 0.94, 0.03) == "below"


def _variant(name: str, axis: str, value, tests: tuple[float, ...], val: float) -> VariantSummary:
    per_seed = pd.DataFrame(
        {"seed": range(len(tests)), "diverged": False, "test_acc": tests, "val_acc": [val] * len(tests)}
    )
    return VariantSummary(name, axis, value, per_seed, pd.DataFrame(), 1.0)


def test_digits_table_judges_the_base_and_each_sweeps_choice_against_097_plus_minus_002():
    base = _variant("base", "base", None, (0.96, 0.965, 0.97), 0.96)
    candidates = {
        "lr": [
            _variant("lr_0.001", "lr", 0.001, (0.95, 0.955, 0.96), 0.97),
            _variant("lr_0.1", "lr", 0.1, (0.5,), 0.5),
        ],
        "hidden": [_variant("hidden_16", "hidden", 16, (0.90, 0.905, 0.91), 0.92)],
    }
    rows = [cells(r) for r in s4.rows(base, candidates, 350)]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("base model", "97 % ± 2 points (small model)", "*reproduced*"),
        ("learning rate: 0.001 (chosen on val)", "97 % ± 2 points (small model)", "*reproduced*"),
        ("hidden units: 16 (chosen on val)", "97 % ± 2 points (small model)", "*below*"),  # [0.893, 0.917]
    ]
