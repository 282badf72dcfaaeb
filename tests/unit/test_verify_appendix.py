"""The report's "Reproduced?" appendix: this run's metrics against docs/results/<profile>/metrics.json."""

from __future__ import annotations

import copy
import json
import math

from annstudy.params.settings import settings_from_raw
from annstudy.report.document import Document, Paragraph, Table
from annstudy.report.markdown import to_markdown
from annstudy.report.render import collect_metrics, reproduced
from annstudy.report.section import StudySection
from annstudy.report.verify import as_written, reference_path, reproduced_blocks

REFERENCE = {
    "architectures": {
        "n_test": 10000,
        "mlp_1": {"test_acc_mean": 0.80, "test_acc_std": 0.01},
        "cnn_4": {"test_acc_mean": 0.78, "test_acc_std": 0.02},
    },
}


def _rerun() -> dict:
    rerun = copy.deepcopy(REFERENCE)
    rerun["architectures"]["mlp_1"]["test_acc_mean"] = 0.83  # +0.03 beyond 3 · 0.01 · √(2/3) = 0.0245
    rerun["architectures"]["cnn_4"]["test_acc_mean"] = 0.80  # +0.02 within 3 · 0.02 · √(2/3) = 0.0490
    return rerun


def _publish(root, profile: str, metrics: dict) -> None:
    reference_path(profile, root).parent.mkdir(parents=True)
    reference_path(profile, root).write_text(json.dumps(metrics))


def test_a_short_comparison_lists_every_metric_with_its_verdict(tmp_path):
    _publish(tmp_path, "quick", REFERENCE)
    heading, text, table = reproduced_blocks(_rerun(), "quick", {"architectures": 3}, tmp_path)
    assert heading.text == "Reproduced?"
    assert "**reproduced 4/5 (identical 3), differs 1: architectures.mlp_1.test_acc_mean**" in text.text
    assert [(r[0], r[3], r[5]) for r in table.rows] == [
        ("`architectures.n_test`", "+0", "*identical*"),
        ("`architectures.mlp_1.test_acc_mean`", "+0.03", "*differs*"),
        ("`architectures.mlp_1.test_acc_std`", "+0", "*identical*"),
        ("`architectures.cnn_4.test_acc_mean`", "+0.02", "*reproduced*"),
        ("`architectures.cnn_4.test_acc_std`", "+0", "*identical*"),
    ]
    assert table.rows[1][4] == f"{3 * 0.01 * math.sqrt(2 / 3):.3g}" == "0.0245"
    assert table.rows[3][4] == "0.049"
    md = to_markdown(Document("t", [heading, text, table]))
    assert "| `architectures.mlp_1.test_acc_mean` | 0.8 | 0.83 | +0.03 | 0.0245 | *differs* |" in md


def test_a_long_comparison_lists_only_the_metrics_that_differ(tmp_path):
    reference = copy.deepcopy(REFERENCE) | {"spiral": {f"fold_{i}": {"acc": 0.9} for i in range(12)}}
    _publish(tmp_path, "quick", reference)
    rerun = _rerun() | {"spiral": copy.deepcopy(reference["spiral"]), "new_study": {"x": 1}}
    _, text, table = reproduced_blocks(rerun, "quick", {"architectures": 3}, tmp_path)
    assert "reproduced 16/17 (identical 15), differs 1" in text.text
    assert "1 metrics of this run are not in the reference (not judged)." in text.text
    assert [r[0] for r in table.rows] == ["`architectures.mlp_1.test_acc_mean`"]
    assert table.caption.startswith("The metrics that differ")


def test_no_reference_for_the_profile_is_one_sentence(tmp_path):
    blocks = reproduced_blocks(_rerun(), "converged", {}, tmp_path)
    assert [type(b) for b in blocks[1:]] == [Paragraph]
    assert blocks[1].text == (
        f"No published reference for profile `converged` (`{tmp_path}/converged/metrics.json` does not exist)."
    )


def test_the_metrics_are_judged_as_written_and_each_studys_means_over_its_seeds(params, tmp_path, monkeypatch):
    assert as_written({"a": (1, 2), "b": {"c": 0.5}}) == {"a": [1, 2], "b": {"c": 0.5}}
    monkeypatch.chdir(tmp_path)  # the reference is read from docs/results/<profile>, relative to the stage's root
    sections = [StudySection("architectures", [], _rerun()["architectures"], other_metrics={"extra": {"k": (1,)}})]
    metrics = collect_metrics(sections)
    assert metrics == {"architectures": _rerun()["architectures"], "extra": {"k": (1,)}}
    _publish(tmp_path / "docs/results", "quick", REFERENCE | {"extra": {"k": [1]}})
    params["profile"] = "quick"
    settings = settings_from_raw(params)
    assert len(settings.studies["architectures"].seeds) == 3
    text = next(b for b in reproduced(settings, metrics) if isinstance(b, Paragraph)).text
    assert "reproduced 5/6 (identical 4), differs 1: architectures.mlp_1.test_acc_mean" in text
    params["profiles"]["quick"]["seeds"] = [0]  # one seed: a mean is one draw, its tolerance √3 times wider
    table = [b for b in reproduced(settings_from_raw(params), metrics) if isinstance(b, Table)][0]
    assert table.rows[3][4] == f"{3 * 0.02 * math.sqrt(2):.3g}" == "0.0849"  # √(2/1), not √(2/3)
