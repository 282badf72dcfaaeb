"""Every curve a DVC plot: the top-level ``plots:`` of dvc.yaml, derived from params.yaml.

The studies' curves already live in their stage records (annstudy/store/records.py): one TSV per
column under ``<out>/live/plots/metrics/<table>/<group>/``. DVC can overlay such files in
one plot (``y: {file: column}``), which is what `dvc plots show`, `dvc plots diff`, the VS
Code extension and Studio draw; but DVC's templating cannot turn a list of variants into
keys, so the definitions are written out here from the validated settings, as `annstudy
deps` does for code deps: ``python -m annstudy.pipeline.plots --write`` rewrites the section,
``--check`` (and a test) says when it is stale. Also here: the S1 confusion matrix as the
rows DVC's ``confusion`` template counts (written by the report stage), and the report's
figures as one directory of image plots.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from annstudy.params.settings import Settings, load_settings
from annstudy.store.records import live_dir, read_record
from annstudy.studies.architectures.run import eval_dir

CONFUSION = "reports/plots/confusion.csv"
FIGURES = "reports/figures"
HEADER = "# Every curve a DVC plot (annstudy/pipeline/plots.py; rewrite: python -m annstudy.pipeline.plots --write).\n"
LOSS, ACC = "cross-entropy", "accuracy"


def _table(out: str, table: str, group: str, column: str) -> str:
    return f"{live_dir(out).as_posix()}/plots/metrics/{table}/{group}/{column}.tsv"


def overlay(title: str, files: dict[str, str], x_label: str, y_label: str) -> dict[str, Any]:
    """One plot, one line per file (``file -> column``), over dvclive's ``step`` column."""
    return {title: {"x": "step", "y": files, "title": title, "x_label": x_label, "y_label": y_label}}


def s1_curves() -> list[dict[str, Any]]:
    """S1's wide TSVs (one column per architecture, written by the report stage)."""
    axes = [
        ("train_loss", "training loss (mean over seeds)", LOSS),
        ("train_acc", "training accuracy (mean over seeds, running train-mode mean)", ACC),
        ("train_acc_eval", "training accuracy (mean over seeds, eval mode, fixed subset)", ACC),
        ("val_acc", "validation accuracy (mean over seeds, eval mode)", ACC),
    ]
    return [
        {
            f"reports/plots/{metric}.tsv": {
                "x": "step",
                "y": "${studies.architectures.archs}",
                "title": f"S1 {what}",
                "x_label": "step",
                "y_label": y_label,
            }
        }
        for metric, what, y_label in axes
    ]


def s1_confusion() -> dict[str, Any]:
    title = "S1 test confusion matrix: best architecture, its best seed on validation (as in the report)"
    props = {"template": "confusion", "x": "actual", "y": "predicted", "title": title}
    return {CONFUSION: props | {"x_label": "true class", "y_label": "predicted class"}}


def s2_s3(settings: Settings) -> list[dict[str, Any]]:
    """S2: loss and first-layer gradient norm per variant; S3: loss and validation accuracy per rate."""
    act, lr = settings.studies["activations"], settings.studies["learning_rates"]

    def files(study: str, variants: tuple[str, ...], column: str) -> dict[str, str]:
        return {_table(f"data/{study}/train/{v}", "curves_mean", "mean", column): column for v in variants}

    return [
        overlay("S2 training loss per activation", files("activations", act.variants, "train_loss"), "step", LOSS),
        overlay(
            "S2 first-layer gradient norm",
            files("activations", act.variants, "grad_norm"),
            "step",
            "L2 norm of the first layer's gradient",
        ),
        overlay("S3 training loss per learning rate", files("learning_rates", lr.variants, "train_loss"), "step", LOSS),
        overlay("S3 validation accuracy per rate", files("learning_rates", lr.variants, "val_acc"), "step", ACC),
    ]


def s4(settings: Settings) -> list[dict[str, Any]]:
    """S4: one validation-accuracy plot per sweep axis, the base model in each."""
    hp = settings.studies["hyperparameters"]
    base = {_table("data/hyperparameters/train/base", "epochs_mean", "variant=base", "val_acc"): "val_acc"}
    return [
        overlay(
            f"S4 validation accuracy, sweep of {axis}",
            base
            | {
                _table(f"data/hyperparameters/train/{axis}", "epochs_mean", f"variant={v.name}", "val_acc"): "val_acc"
                for v in hp.variants(axis)
            },
            "epoch",
            ACC,
        )
        for axis in hp.axes
    ]


def s5_s7(settings: Settings) -> list[dict[str, Any]]:
    """S5 regression fits, S6 spiral / signals / MNIST-1D, S7 NumPy against PyTorch."""
    bell = [f"arch={a}/data=full" for a in settings.studies["regression"].bell_archs]  # small data: 2 of them
    models = settings.studies["mnist1d"].models
    rates = settings.studies["signals"].rates
    small = ("train_acc", "val_acc")
    fits, impls = ("linear", "nonlinear"), ("numpy", "torch")
    return [
        overlay(
            "S5 regression: training MSE of the linear neuron and the 1D fit",
            {_table(f"data/regression/train/{p}", "epochs_mean", "mean", "train_loss"): "train_loss" for p in fits},
            "epoch",
            "MSE",
        ),
        overlay(
            "S5 2D bell: training MSE per architecture (full data)",
            {_table("data/regression/train/bell", "epochs_mean", g, "train_loss"): "train_loss" for g in bell},
            "epoch",
            "MSE",
        ),
        overlay(
            "S6 spiral: training and validation accuracy",
            {_table("data/spiral/train", "epochs_mean", "mean", c): c for c in small},
            "epoch",
            ACC,
        ),
        overlay(
            "S6 signals: validation accuracy per SGD learning rate (epoch 0 = before training)",
            {_table("data/signals/train", "epochs_mean", f"lr={lr}", "val_acc"): "val_acc" for lr in rates},
            "epoch",
            ACC,
        ),
        overlay(
            "S6 MNIST-1D: test accuracy, MLP against 1D CNN",
            {_table(f"data/mnist1d/train/{m}", "epochs_mean", "mean", "test_acc"): "test_acc" for m in models},
            "epoch",
            ACC,
        ),
        overlay(
            "S7 NumPy MLP against PyTorch: validation accuracy",
            {_table("data/from_scratch/mlp", "curves_mean", f"impl={i}", "val_acc"): "val_acc" for i in impls},
            "epoch",
            ACC,
        ),
    ]


def plot_definitions(settings: Settings) -> list[dict[str, Any]]:
    """The whole top-level ``plots:`` list, study by study, then the report's figures."""
    return [
        *s1_curves(),
        s1_confusion(),
        *s2_s3(settings),
        *s4(settings),
        *s5_s7(settings),
        {FIGURES: None},
    ]


def confusion_rows(confusion: list[list[int]], classes: list[str]) -> list[tuple[str, str]]:
    """One (true, predicted) row per test image: what DVC's confusion template counts."""
    return [(classes[t], classes[p]) for t, row in enumerate(confusion) for p, n in enumerate(row) for _ in range(n)]


def best_evaluation(archs: tuple[str, ...] | list[str], root: str | Path = "data") -> dict[str, Any]:
    """The evaluate record of the architecture with the best mean validation accuracy over healthy seeds
    (chosen on validation, as in the report)."""

    def mean_val(summary: dict[str, Any]) -> float:
        accs = [s["val_acc"] for s in summary["per_seed"] if not s["diverged"] and s["val_acc"] is not None]
        return sum(accs) / len(accs) if accs else float("-inf")

    summaries = [read_record(eval_dir(arch, root)).summary for arch in archs]
    return max(summaries, key=mean_val)


def write_confusion(settings: Settings, out: str | Path = CONFUSION, root: str | Path = "data") -> Path:
    """``reports/plots/confusion.csv``: the validation-chosen architecture's validation-chosen seed, as the report."""
    ev = best_evaluation(settings.studies["architectures"].archs, root)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["actual", "predicted"])
        writer.writerows(confusion_rows(ev["confusion"], ev["classes"]))
    return path


def section_text(settings: Settings) -> str:
    """The section as `annstudy deps --write` (ruamel, annstudy/pipeline/codedeps.py) lays dvc.yaml out."""
    writer = YAML()
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.width = 4096
    body = io.StringIO()
    writer.dump({"plots": plot_definitions(settings)}, body)
    return HEADER + body.getvalue()


def split_dvc_yaml(text: str) -> tuple[str, str]:
    """(everything before the top-level plots section and its comment, the section)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("plots:"))
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    return "".join(lines[:start]), "".join(lines[start:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m annstudy.pipeline.plots", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the plots section of dvc.yaml")
    parser.add_argument("--dvc-yaml", default="dvc.yaml")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    path = Path(args.dvc_yaml)
    head, current = split_dvc_yaml(path.read_text())
    wanted = section_text(load_settings(args.params))
    if args.write:
        path.write_text(head + wanted)
        print(f"{path}: plots section written ({len(plot_definitions(load_settings(args.params)))} plots)")
        return 0
    if current != wanted:
        print(f"{path}: the plots section is stale; run python -m annstudy.pipeline.plots --write", file=sys.stderr)
        return 1
    print(f"{path}: the plots section matches params")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
