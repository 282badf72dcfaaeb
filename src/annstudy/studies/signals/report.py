"""S6 signals report section: normal vs abnormal 1D signals with a small MLP, SGD at two learning rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

from annstudy.params.settings import Settings
from annstudy.report import small_figures as figs
from annstudy.report.claims import Arm, Claim
from annstudy.report.comparisons import accuracy_bar, compare
from annstudy.report.document import Document, Figure, Heading, Paragraph, Table
from annstudy.report.questions import MEASURED, questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, pct
from annstudy.store.artifacts import load_torch
from annstudy.store.records import prepare_stage_seconds, read_record
from annstudy.studies.signals.config import SignalsSettings
from annstudy.studies.signals.run import STUDY, prepared_dir, train_dir

BEAT_HEIGHT = 0.6  # a peak above this counts as a beat (beats have height 1, the noise std is 0.2 by default)


def beat_stats(x: np.ndarray, period: float) -> dict[str, float]:
    """Median over signals of the beat count and of the beat-interval variation (std / mean of the gaps).

    What the plotted examples show, measured on every signal of a class rather than read off three:
    regular beat trains have a small variation, irregular (abnormal) ones a large one.
    """
    counts, variation = [], []
    for row in x:
        peaks, _ = find_peaks(row, height=BEAT_HEIGHT, distance=max(1, int(0.4 * period)))
        counts.append(len(peaks))
        gaps = np.diff(peaks)
        if len(gaps) >= 2:
            variation.append(float(gaps.std() / gaps.mean()))
    return {
        "count": float(len(x)),
        "beats": float(np.median(counts)) if counts else float("nan"),
        "interval_variation": float(np.median(variation)) if variation else float("nan"),
    }


def _accuracy(per_seed: pd.DataFrame, n_test: int) -> Accuracy:
    ok = per_seed[per_seed["diverged_step"].isna()]
    return Accuracy(tuple(float(v) for v in ok["test_acc"]), n_test)


def rate_rows(epochs: pd.DataFrame, per_seed: pd.DataFrame, rates: list[float], n_test: int) -> list[list[str]]:
    """Per rate: before training (epoch 0), after the last epoch, and the test accuracy of the final weights."""
    rows = []
    for lr in rates:
        e = epochs[epochs["lr"] == lr]
        first, last = e[e["epoch"] == e["epoch"].min()], e[e["epoch"] == e["epoch"].max()]
        rows.append(
            [
                f"{lr:g}",
                f"{first['train_loss'].mean():.3f} / {pct(first['train_acc'].mean())} / {pct(first['val_acc'].mean())}",
                f"{last['train_loss'].mean():.3f} / {last['val_loss'].mean():.3f}",
                f"{pct(last['train_acc'].mean())} / {pct(last['val_acc'].mean())}",
                _accuracy(per_seed[per_seed["lr"] == lr], n_test).fmt(),
            ]
        )
    return rows


def _epochs_to(epochs: pd.DataFrame, lr: float, level: float) -> int | None:
    """First epoch whose mean validation accuracy reaches ``level`` (None if never)."""
    mean = epochs[epochs["lr"] == lr].groupby("epoch")["val_acc"].mean()
    hit = mean[mean >= level]
    return int(hit.index[0]) if len(hit) else None


def build(settings: Settings, out: Path) -> StudySection:
    study: SignalsSettings = settings.studies[STUDY]
    record = read_record(train_dir())
    r = record.summary
    data = load_torch(prepared_dir() / "data.pt")
    epochs, batches = record.table("epochs"), record.table("batches")
    per_seed = pd.DataFrame(r["per_seed"])
    rates = [float(v) for v in r["rates"]]
    sizes = r["sizes"]
    n_test = int(sizes["test"])
    budget = f"{study.epochs} epochs"
    x, y = data["x"].numpy(), data["y"].numpy()
    facts = {k: beat_stats(x[y == k], study.period) for k in (0, 1)}

    accs = {lr: _accuracy(per_seed[per_seed["lr"] == lr], n_test) for lr in rates}
    bars: dict[float, Claim] = {
        lr: accuracy_bar(f"SGD lr {lr:g}", acc, 0.5, budget, 2, "chance", verbs=("beats", "does not beat"))
        for lr, acc in accs.items()
        if acc.values
    }
    findings = [Finding(f"Signals, SGD lr {lr:g}: better than chance?", c, accs[lr].fmt()) for lr, c in bars.items()]
    by_rate = sorted((lr for lr in rates if accs[lr].values), key=lambda lr: accs[lr].summary.mean, reverse=True)
    rate_claim = None
    if len(by_rate) >= 2:
        hi, lo = by_rate[0], by_rate[1]
        rate_claim = compare(
            f"SGD lr {hi:g} ends with a higher test accuracy than lr {lo:g}",
            Arm(f"lr {hi:g}", accs[hi].values, budget, accuracy=accs[hi].summary.mean, classes=2),
            Arm(f"lr {lo:g}", accs[lo].values, budget, accuracy=accs[lo].summary.mean, classes=2),
        )
        findings.append(
            Finding("Signals: which SGD learning rate?", rate_claim, f"{accs[hi].fmt()} vs {accs[lo].fmt()}")
        )

    doc = Document("")
    doc.add(
        Heading("S6 Signals"),
        Paragraph(
            f"{study.n_signals:,} signals of length {study.length}: beat trains (mean period {study.period:g} "
            "samples, ×U(0.8, 1.2) per signal, ±3 % jitter) on a slow baseline wander, plus white noise "
            f"σ {study.noise:g}. *Abnormal* signals (half of them) turn irregular from a random beat on: "
            "intervals ×U(0.5, 1.5) and half of those beats reshaped (wider, smaller or inverted). "
            f"Split {sizes['train']}/{sizes['val']}/{sizes['test']} (train/validation/test). "
            f"MLP {r['architecture']} (ReLU, {r['params']:,} parameters), {study.optimizer} at lr "
            f"{' and '.join(f'{lr:g}' for lr in rates)} (each from the same initial weights), batch "
            f"{study.batch_size}, {study.epochs} epochs, {len(study.seeds)} seeds. Train and validation cost and "
            "accuracy are measured on the whole split before the first step (epoch 0) and after every epoch."
        ),
        Table(
            [
                "lr",
                "epoch 0: train cost / train acc / val acc",
                f"epoch {study.epochs}: train / val cost",
                f"epoch {study.epochs}: train / val acc",
                "test acc (final weights)",
            ],
            rate_rows(epochs, per_seed, rates, n_test),
            caption="Means over seeds; the cost is the cross-entropy (ln 2 = 0.693 is the uniform guess). "
            "Chance accuracy is 50 %.",
        ),
        Paragraph(" ".join(c.sentence() for c in [*bars.values(), *([rate_claim] if rate_claim else [])])),
    )
    fig_dir = out / "figures"
    path = figs.signal_examples(
        x, y, ["normal (0)", "abnormal (1)"], fig_dir / "signals_examples.png", "Example training signals of each class"
    )
    doc.add(Figure(path.relative_to(out), "Three training signals of each class."))
    label = "lr {:g}".format
    path = figs.grouped_panels(
        batches,
        "step",
        "lr",
        [("cross-entropy of the mini-batch (log scale)", [("batch_loss", "mini-batch", "-")])],
        fig_dir / "signals_batch_cost.png",
        f"Signals: cost per mini-batch (mean over {len(study.seeds)} seeds, ±1 std)",
        "mini-batch (SGD step)",
        group_label=label,
        log=[True],
    )
    doc.add(Figure(path.relative_to(out), "Cost of every mini-batch, one colour per learning rate."))
    path = figs.grouped_panels(
        epochs,
        "epoch",
        "lr",
        [
            ("cross-entropy", [("train_loss", "train", "-"), ("val_loss", "validation", "--")]),
            ("accuracy", [("train_acc", "train", "-"), ("val_acc", "validation", "--")]),
        ],
        fig_dir / "signals_epochs.png",
        "Signals: per-epoch cost and accuracy, epoch 0 = before training (mean over seeds, ±1 std)",
        "epoch",
        group_label=label,
    )
    doc.add(
        Figure(
            path.relative_to(out),
            "Per-epoch train (solid) and validation (dashed) cost and accuracy, from the untrained network "
            "(epoch 0) on; one colour per learning rate.",
        )
    )
    doc.add(*questions(study, sizes, facts, epochs, accs, rates, rate_claim))
    # headline only: test accuracy per rate (the curves and the data's facts are in the record and the report)
    metrics = {"n_test": n_test} | {
        f"sgd_{lr:g}": {
            "test_acc_mean": round(accs[lr].summary.mean, 5) if accs[lr].values else None,
            "test_acc_std": round(accs[lr].summary.std, 5) if accs[lr].values else None,
        }
        for lr in rates
    }
    metrics["diverged"] = bool(per_seed["diverged_step"].notna().any())
    seconds = prepare_stage_seconds(prepared_dir()) | {"signals (train)": r["wall_seconds"]}
    return StudySection(STUDY, doc.blocks, metrics, seconds, [], findings, [settings_table(study)])


def questions(
    study: SignalsSettings,
    sizes: dict,
    facts: dict[int, dict[str, float]],
    epochs: pd.DataFrame,
    accs: dict[float, Accuracy],
    rates: list[float],
    rate_claim: Claim | None,
) -> list:
    """studies.md's signal questions (count, length, what the examples show) and the exercise's two rates."""
    n, a = facts[0], facts[1]
    items = [
        (
            "How many signals are there, and how long is each?",
            f"{study.n_signals:,} signals ({sizes['train']:,} train / {sizes['val']:,} validation / "
            f"{sizes['test']:,} test), each {study.length} samples long; the training split holds "
            f"{int(n['count'])} normal and {int(a['count'])} abnormal signals.",
            MEASURED,
        ),
        (
            "What do the plotted examples show?",
            f"Normal signals are regular beat trains: median {n['beats']:.0f} beats per signal, the gaps "
            f"between beats vary by {n['interval_variation'] * 100:.0f} % (std / mean, median over the "
            f"training signals). Abnormal ones turn irregular part-way: {a['beats']:.0f} beats above "
            f"{BEAT_HEIGHT:g}, gaps varying by {a['interval_variation'] * 100:.0f} %, some beats wider, smaller "
            "or inverted. Noise and a slow baseline "
            "wander are common to both, so the class is in the rhythm and the beat shape, not the level.",
            MEASURED,
        ),
    ]
    if rate_claim is not None:
        parts = []
        for lr in rates:
            e = epochs[epochs["lr"] == lr].groupby("epoch")["val_acc"].mean()
            reach = _epochs_to(epochs, lr, 0.9)
            when = f"reaches 90 % validation accuracy at epoch {reach}" if reach is not None else "never reaches 90 %"
            last = epochs[(epochs["lr"] == lr) & (epochs["epoch"] == epochs["epoch"].max())]
            gap = float(last["train_acc"].mean() - last["val_acc"].mean())
            fit = f" ({gap * 100:.0f} points below its training accuracy)" if gap > 0.03 else ""
            parts.append(f"lr {lr:g} starts at {pct(e.iloc[0])} (epoch 0), {when}, ends at {pct(e.iloc[-1])}{fit}")
        items.append(
            (
                "How does the learning rate (SGD 0.05 vs 0.005) change training?",
                "; ".join(parts) + f"; test accuracy {' vs '.join(accs[lr].fmt() for lr in rates)}.",
                rate_claim,
            )
        )
    return questions_block(items)
