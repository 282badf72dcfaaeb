"""`dvc plots show` (which the README recommends) renders the confusion data annstudy hands it:
a class label holding a script must stay text in DVC's HTML."""

from __future__ import annotations

import csv

import pytest

from annstudy.studies.architectures.plots import confusion_rows
from helpers.dvc_repo import dvc, sh

SCRIPT = "</script><script>alert(1)</script>"


@pytest.mark.slow
def test_a_script_label_does_not_run_in_dvc_plots_show(tmp_path):
    sh(tmp_path, "git", "init", "-q")
    dvc(tmp_path, "init", "-q")
    with (tmp_path / "confusion.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["actual", "predicted"])
        writer.writerows(confusion_rows([[2, 1], [0, 3]], [SCRIPT, "Trouser"]))
    (tmp_path / "dvc.yaml").write_text(
        "plots:\n  - confusion.csv:\n      template: confusion\n      x: actual\n      y: predicted\n"
    )
    dvc(tmp_path, "plots", "show", "--out", "shown")
    page = (tmp_path / "shown" / "index.html").read_text()
    assert "alert(1)" in page  # the label is there, as text
    assert "<script>alert(1)" not in page and "</script><script>" not in page
