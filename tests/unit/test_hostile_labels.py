"""Class labels are the user's data (an image CSV's label column): every output renders them
literally, whatever characters they hold."""

from __future__ import annotations

import numpy as np
import torch

from annstudy.report.document import Document, Paragraph, Table
from annstudy.report.figures import confusion_matrix, literal, misclassified_grid
from annstudy.report.markdown import to_markdown
from annstudy.studies.architectures.plots import confusion_rows, plot_labels

MATHS = r"$\frac{1}$"  # mathtext that does not parse: used to end the report stage with a ParseSyntaxException
SCRIPT = "</script><script>alert(1)</script>"


def test_a_maths_label_is_drawn_literally(tmp_path):
    classes = [MATHS, "b$c$d", "plain"]
    confusion = np.array([[3, 1, 0], [0, 2, 1], [1, 0, 4]])
    png = confusion_matrix(confusion, classes, tmp_path / "confusion.png", "confusion")
    grid = misclassified_grid(torch.zeros(2, 1, 8, 8), [0, 1], [1, 2], classes, tmp_path / "errors.png", "errors")
    assert png.stat().st_size > 1000 and grid.stat().st_size > 1000
    assert literal(MATHS) == r"\$\frac{1}\$"


def test_dvc_plot_labels_cannot_open_a_script():
    rows = confusion_rows([[1, 1], [0, 2]], [SCRIPT, "T-shirt/top"])
    assert (
        rows
        == [("_/script__script_alert(1)_/script_",) * 2, ("_/script__script_alert(1)_/script_", "T-shirt/top")]
        + [("T-shirt/top", "T-shirt/top")] * 2
    )
    assert not any(ch in cell for row in rows for cell in row for ch in "<>&\"'")
    assert plot_labels(["<a>", ">a<"]) == ["0 _a_", "1 _a_"]  # sanitising never merges two classes


def test_report_md_carries_no_raw_html_from_data():
    folder = "/data/<img src=x onerror=alert(1)>"
    doc = Document("t", [Paragraph(f"source: {folder}; p < 0.05"), Table(["label"], [[SCRIPT]])])
    md = to_markdown(doc)
    assert "<img" not in md and "<script" not in md and "</script" not in md
    assert "&lt;img src=x onerror=alert(1)>" in md and "p < 0.05" in md
