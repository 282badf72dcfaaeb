"""S6 signals report section: normal vs abnormal 1D signals with a small MLP."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from annstudy.artifacts import load_torch
from annstudy.params import Settings
from annstudy.records import prepare_stage_seconds, read_record
from annstudy.report import small_figures as figs
from annstudy.report.claims import accuracy_bar
from annstudy.report.document import Document, Figure, Heading, Paragraph
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, pct
from annstudy.studies.signals.config import SignalsSettings
from annstudy.studies.signals.run import STUDY, prepared_dir, train_dir


def build(settings: Settings, out: Path) -> StudySection:
    study: SignalsSettings = settings.studies[STUDY]
    r = read_record(train_dir()).summary
    data = load_torch(prepared_dir() / "data.pt")
    epochs = read_record(train_dir()).table("epochs")
    batches = read_record(train_dir()).table("batches")
    per_seed = pd.DataFrame(r["per_seed"])
    ok = per_seed[per_seed["diverged_step"].isna()]
    acc = Accuracy(tuple(float(v) for v in ok["test_acc"]), int(r["sizes"]["test"]))
    claim = accuracy_bar(
        "the signal MLP", acc, 0.5, f"{study.epochs} epochs", 2, "chance", verbs=("beats", "does not beat")
    )
    findings = [Finding("Can an MLP tell normal from abnormal signals?", claim, acc.fmt())]
    last = epochs[epochs["epoch"] == epochs["epoch"].max()]
    sizes = r["sizes"]
    doc = Document("")
    doc.add(
        Heading("S6 Signals"),
        Paragraph(
            f"{study.n_signals} signals of length {study.length}: beat trains (mean period {study.period:g} "
            "samples, ×U(0.8, 1.2) per signal, ±3 % jitter) on a slow baseline wander, plus white noise "
            f"σ {study.noise:g}. *Abnormal* signals (half of them) turn irregular from a random beat on: "
            "intervals ×U(0.5, 1.5) and half of those beats reshaped (wider, smaller or inverted). "
            f"Split {sizes['train']}/{sizes['val']}/{sizes['test']} (train/validation/test). "
            f"MLP {r['architecture']} (ReLU, {r['params']:,} parameters), {study.optimizer} lr {study.lr:g}, "
            f"batch {study.batch_size}, {study.epochs} epochs, {len(study.seeds)} seeds."
        ),
        Paragraph(
            f"**Test accuracy {acc.fmt_full()}**; final-epoch train accuracy "
            f"{pct(last['train_acc'].mean())}, validation accuracy {pct(last['val_acc'].mean())} "
            f"(means over seeds; chance is 50 %). {claim.sentence()}"
        ),
    )
    fig_dir = out / "figures"
    path = figs.signal_examples(
        data["x"].numpy(),
        data["y"].numpy(),
        ["normal (0)", "abnormal (1)"],
        fig_dir / "signals_examples.png",
        "Example training signals of each class",
    )
    doc.add(Figure(path.relative_to(out), "Three training signals of each class."))
    path = figs.curves(
        batches,
        "step",
        [("batch_loss", "mini-batch cost")],
        fig_dir / "signals_batch_cost.png",
        f"Signals: cost per mini-batch (mean over {len(study.seeds)} seeds, ±1 std)",
        "mini-batch (step)",
        "cross-entropy of the mini-batch",
        log=True,
    )
    doc.add(Figure(path.relative_to(out), "Cost of every mini-batch."))
    path = figs.panels(
        epochs,
        "epoch",
        [
            ("cross-entropy", [("train_loss", "train"), ("val_loss", "validation")]),
            ("accuracy", [("train_acc", "train"), ("val_acc", "validation")]),
        ],
        fig_dir / "signals_epochs.png",
        "Signals: per-epoch cost and accuracy (mean over seeds, ±1 std)",
        "epoch",
    )
    doc.add(Figure(path.relative_to(out), "Per-epoch train and validation cost and accuracy (end-of-epoch weights)."))
    metrics = {
        "mlp": {
            "test_acc_mean": round(acc.summary.mean, 5),
            "test_acc_std": round(acc.summary.std, 5),
            "val_acc_final": round(float(last["val_acc"].mean()), 5),
        },
        "diverged": bool(len(ok) < len(per_seed)),
    }
    seconds = prepare_stage_seconds(prepared_dir()) | {"signals_train": r["wall_seconds"]}
    return StudySection(STUDY, doc.blocks, metrics, seconds, [], findings, [settings_table(study)])
