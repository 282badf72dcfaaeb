"""The worked checks equal their hand-computed values."""

from __future__ import annotations

import math

from annstudy.studies.architectures import worked_checks as wc


def test_conv_output_shape_is_5_maps_of_28_by_39():
    assert wc.conv_output_shape() == [5, 28, 39]


def test_huber_loss_by_hand():
    # |d| = 0.9, 0.4, 4.8, 2: 0.5 d^2 below delta 1, |d| - 0.5 above
    assert math.isclose(wc.huber_loss(), (0.405 + 0.08 + 4.3 + 1.5) / 4, rel_tol=1e-6)


def test_mean_cross_entropy_by_hand():
    assert math.isclose(wc.mean_cross_entropy(), -(math.log(0.7) + math.log(0.3)) / 2, rel_tol=1e-6)


def test_iterations_round_the_last_batch_up():
    assert wc.iterations(54_000, 50, 15) == (1_080, 16_200)
    assert wc.iterations(1_001, 50, 2) == (21, 42)


def test_section_has_every_check_and_the_figure(tmp_path):
    blocks, metrics = wc.section(54_000, 50, 1, tmp_path)
    assert metrics == {
        "conv_output_shape": [5, 28, 39],
        "huber_loss": 1.57125,
        "mean_cross_entropy": round(-(math.log(0.7) + math.log(0.3)) / 2, 6),
        "batches_and_iterations": [1_080, 1_080],
    }
    assert len(blocks[2].rows) == 4
    assert (tmp_path / "figures/worked_activations.png").stat().st_size > 10_000
