"""The exercise's questions block (report/questions.py) and the measured answers built for it."""

from __future__ import annotations

import numpy as np

from annstudy.report.claims import Arm, Status
from annstudy.report.comparisons import compare
from annstudy.report.document import Heading, Paragraph
from annstudy.report.questions import questions_block
from annstudy.studies.signals.report import beat_stats
from annstudy.studies.spiral.report import region_facts


def test_questions_block_shows_each_answer_with_its_status():
    claim = compare("a beats b", Arm("a", (0.9, 0.91, 0.92), "5 epochs"), Arm("b", (0.5, 0.52, 0.51), "5 epochs"))
    blocks = questions_block([("Q1?", "A1.", claim), ("Q2?", "A2.", None), ("Q3?", "A3.", Status.INCONCLUSIVE)])
    assert isinstance(blocks[0], Heading) and blocks[0].level == 3
    texts = [b.text for b in blocks[1:] if isinstance(b, Paragraph)]
    assert texts == ["**Q1?** A1. — *supported*", "**Q2?** A2. — *conceptual*", "**Q3?** A3. — *inconclusive*"]
    assert questions_block([]) == []


def test_region_facts_count_points_outside_their_region_and_where_they_lie():
    axis = np.linspace(-1, 1, 5)  # cells at -1, -0.5, 0, 0.5, 1
    pred = np.zeros((5, 5), dtype=int)
    pred[:, 3:] = 1  # class 1 on the right (x >= 0.5)
    x = np.array([[-1.0, 0.0], [1.0, 0.0], [0.1, 0.0], [0.9, 0.9]])
    y = np.array([0, 1, 1, 1])  # the third point (x = 0.1, radius 0.1) lies in class 0's region
    facts = region_facts(axis, pred, x, y)
    assert facts["in_own_region"] == 0.75 and facts["errors"] == 1
    assert np.isclose(facts["radius_errors"], 0.1) and facts["radius_all"] > facts["radius_errors"]


def test_beat_stats_tell_regular_from_irregular_beat_trains():
    t = np.arange(400)

    def train(times):
        return np.exp(-0.5 * ((t[None, :] - np.asarray(times)[:, None]) / 3.0) ** 2).sum(0)

    regular = train(np.arange(20, 400, 40))
    irregular = train([20, 45, 110, 130, 200, 290, 305, 380])
    assert beat_stats(regular[None], 40)["interval_variation"] < 0.01
    assert beat_stats(irregular[None], 40)["interval_variation"] > 0.3
    assert beat_stats(regular[None], 40)["beats"] == 10
