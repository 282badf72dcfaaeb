"""S1's DVC plots: their definitions in dvc.yaml's top-level ``plots:`` (collected by
annstudy/pipeline/plots.py through the registry) and the files they read, which the S1 report
section writes into the report stage's ``reports/plots``: one wide TSV per curve (step, one
column per architecture) and the confusion matrix as the rows DVC's ``confusion`` template counts.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pandas as pd

from annstudy.params.settings import Settings
from annstudy.pipeline.plots import ACC, LOSS
from annstudy.store.artifacts import write_tsv
from annstudy.studies.architectures.results import ArchResult
from annstudy.studies.architectures.run import CURVE_METRICS

REPORT_PLOTS = "reports/plots"  # the report stage's out/plots, where the files below are written
CONFUSION = f"{REPORT_PLOTS}/confusion.csv"
CURVES = {  # metric (CURVE_METRICS) -> (what it is, y label)
    "train_loss": ("training loss (mean over seeds)", LOSS),
    "train_acc": ("training accuracy (mean over seeds, running train-mode mean)", ACC),
    "train_acc_eval": ("training accuracy (mean over seeds, eval mode, fixed subset)", ACC),
    "val_acc": ("validation accuracy (mean over seeds, eval mode)", ACC),
}


def definitions(settings: Settings) -> list[dict[str, Any]]:
    """The four curves, one line per architecture (DVC fills in ``archs`` from params), and the confusion matrix."""
    curves = [
        {
            f"{REPORT_PLOTS}/{metric}.tsv": {
                "x": "step",
                "y": "${studies.architectures.archs}",
                "title": f"S1 {what}",
                "x_label": "step",
                "y_label": y_label,
            }
        }
        for metric, (what, y_label) in CURVES.items()
    ]
    title = "S1 test confusion matrix: best architecture, its best seed on validation (as in the report)"
    props = {"template": "confusion", "x": "actual", "y": "predicted", "title": title}
    return [*curves, {CONFUSION: props | {"x_label": "true class", "y_label": "predicted class"}}]


def write_curves(results: list[ArchResult], out: Path) -> None:
    """``out/<metric>.tsv``: step, then the mean over seeds of each architecture."""
    for metric in CURVE_METRICS:
        columns = {r.arch: r.curves.groupby("step")[metric].mean() for r in results if not r.curves.empty}
        frame = pd.DataFrame(columns).rename_axis("step").reset_index()
        write_tsv(out / f"{metric}.tsv", frame)


UNSAFE = re.compile(r"[<>&\"'`\\\x00-\x1f\x7f]")  # what could leave a string in DVC's HTML/JS/Vega


def plot_labels(classes: list[str]) -> list[str]:
    """Class labels as DVC's plot renderer may see them. Labels are the user's data, and `dvc plots
    show` copies them into a <script> block unescaped: a label `</script><script>...` would run.
    Characters that matter to HTML or JavaScript become "_"; if that makes two labels equal, each
    gets its class index in front, so the plot never merges classes."""
    safe = [UNSAFE.sub("_", c) for c in classes]
    return safe if len(set(safe)) == len(safe) else [f"{i} {c}" for i, c in enumerate(safe)]


def confusion_rows(confusion: list[list[int]], classes: list[str]) -> list[tuple[str, str]]:
    """One (true, predicted) row per test image: what DVC's confusion template counts."""
    names = plot_labels(classes)
    return [(names[t], names[p]) for t, row in enumerate(confusion) for p, n in enumerate(row) for _ in range(n)]


def write_confusion(chosen: ArchResult, out: Path) -> Path:
    """``out/confusion.csv``: the confusion matrix the evaluate stage recorded for the chosen architecture's
    seed chosen on validation, the one the report shows."""
    path = out / Path(CONFUSION).name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["actual", "predicted"])
        writer.writerows(confusion_rows(chosen.evaluation["confusion"], chosen.evaluation["classes"]))
    return path
