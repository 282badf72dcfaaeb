"""S6 MNIST-1D report section: our MLP and CNN next to the published accuracies."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from annstudy.params.settings import Settings
from annstudy.report import figures
from annstudy.report import small_figures as figs
from annstudy.report.claims import Arm
from annstudy.report.comparisons import band, compare
from annstudy.report.document import Document, Figure, Heading, Paragraph, Table
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, summarize
from annstudy.store.records import prepare_stage_seconds, read_record
from annstudy.studies.mnist1d import literature
from annstudy.studies.mnist1d.config import Mnist1dSettings
from annstudy.studies.mnist1d.run import STUDY, prepared_dir, train_dir


def forest_figure(
    accs: dict[str, Accuracy], published: dict[str, float], tolerance: float, budget: str, path: Path, out: Path
) -> Figure:
    """Our test accuracy per model against the published one drawn as its tolerance band (published ± tolerance);
    the caption (= alt text) says for each model whether it lands inside the band."""
    rows, verdicts = [], []
    for name, acc in accs.items():
        if not acc.n:
            continue
        ref = published.get(name)
        band = None if ref is None else (ref - tolerance, ref + tolerance)
        rows.append(figures.forest_row(f"{name} ({budget})", acc, band))
        if ref is not None:
            verdicts.append(f"{name} {acc.mean * 100:.1f} %: {literature.judged_band(acc, ref, tolerance)}")
    figures.forest_plot(rows, path, "MNIST-1D test accuracy vs published", band_label="published ± tolerance", width=7)
    caption = (
        "Our test accuracy per model (seed interval over the test-sampling interval) against the published "
        f"accuracy ± the study's tolerance {tolerance * 100:g} points (gray band), verdicts as in the table "
        "above: " + "; ".join(verdicts) + "."
    )
    return Figure(path.relative_to(out), caption)


def build(settings: Settings, out: Path) -> StudySection:
    study: Mnist1dSettings = settings.studies[STUDY]
    published = study.published_acc
    rows, frames, seconds = [], [], {}
    accs: dict[str, Accuracy] = {}
    findings: list[Finding] = []
    n_test = round(study.num_samples * (1 - study.train_split))
    metrics: dict = {"n_test": n_test}
    budget = f"{study.epochs} epoch{'s' if study.epochs != 1 else ''}"
    short = literature.confounders(study)  # only the paper's budget is compared with the paper
    diverged = False
    for name in study.models:
        r = read_record(train_dir(name)).summary
        per_seed = pd.DataFrame(r["per_seed"])
        ok = per_seed[per_seed["diverged_step"].isna()]
        diverged |= len(ok) < len(per_seed)
        acc = summarize(ok["test_acc"], bounds=(0.0, 1.0))
        accs[name] = Accuracy(tuple(float(v) for v in ok["test_acc"]), n_test)
        ref = published.get(name)
        if ref is not None and accs[name].n:
            claim = band(f"our {name}", accs[name], ref, study.tolerance, budget, 10, "the published band", short)
            findings.append(Finding(f"Does our {name} match the published figure?", claim, accs[name].fmt()))
        rows.append([name, f"{r['params']:,}", str(r["steps"]), accs[name].fmt(), accs[name].fmt_sampling()])
        # headline only: the published numbers and the gap to them are in the report
        metrics[name] = {"test_acc_mean": round(acc.mean, 5), "test_acc_std": round(acc.std, 5)}
        frames.append(read_record(train_dir(name)).table("epochs").assign(model=name))
        seconds[f"mnist1d ({name})"] = r["wall_seconds"]
    doc = Document("")
    doc.add(
        Heading("S6 MNIST-1D"),
        Paragraph(
            f"MNIST-1D built locally by the `mnist1d` package (`make_dataset`, seed {study.data_seed}, "
            f"{study.num_samples:,} series of length 40, {study.train_split:.0%} for training). MLP "
            f"40-{'-'.join(map(str, study.mlp_hidden))}-10 and the paper's 1D CNN (3 Conv1d layers of "
            f"{study.cnn_channels} channels, kernels 5/3/3, stride 2, ReLU, linear head); {study.optimizer} lr "
            f"{study.lr:g}, batch {study.batch_size}, {study.epochs} epochs, {len(study.seeds)} seeds. "
            "Published figures: Greydanus (2020), MNIST-1D README (6,000 steps of batch 100 = 150 epochs)."
        ),
        Table(
            [
                "model",
                "parameters",
                "steps",
                "test accuracy (ours)",
                "test sampling (Wilson)",
            ],
            rows,
        ),
        *literature.blocks(accs, study, settings.profile),
    )
    fig_dir = out / "figures"
    doc.add(forest_figure(accs, published, study.tolerance, budget, fig_dir / "mnist1d_accuracy.png", out))
    epochs = pd.concat(frames, ignore_index=True)
    series = [
        (f"{m}_{k}", f"{m} {k.replace('_acc', '')}", i, "-" if k == "train_acc" else "--")
        for i, m in enumerate(study.models)
        for k in ("train_acc", "test_acc")
    ]
    wide = epochs.pivot_table(index=["seed", "epoch"], columns="model", values=["train_acc", "test_acc"])
    wide.columns = [f"{m}_{k}" for k, m in wide.columns]
    path = figs.curves(
        wide.reset_index(),
        "epoch",
        series,
        fig_dir / "mnist1d_curves.png",
        "MNIST-1D: accuracy per epoch, train solid, test dashed (mean over seeds, ±1 std)",
        "epoch",
        "accuracy",
    )
    doc.add(Figure(path.relative_to(out), "Train and test accuracy per epoch (the test set is only watched)."))
    metrics["diverged"] = diverged
    if {"mlp", "cnn"} <= set(accs) and accs["mlp"].n and accs["cnn"].n:
        better = "beats" if accs["cnn"].mean >= accs["mlp"].mean else "trails"
        claim = compare(
            f"the 1D CNN {better} the MLP on test",
            Arm("cnn", accs["cnn"].values, budget, None, accs["cnn"].mean, 10),
            Arm("mlp", accs["mlp"].values, budget, None, accs["mlp"].mean, 10),
        )
        key = f"{(accs['cnn'].mean - accs['mlp'].mean) * 100:+.1f} points"
        findings.insert(0, Finding("MNIST-1D: MLP vs CNN?", claim, key))
    doc.add(*[Paragraph(f"**{f.question}** {f.claim.sentence()}") for f in findings])
    if {"mlp", "cnn"} <= set(accs) and accs["mlp"].n and accs["cnn"].n:
        params = {row[0]: row[1] for row in rows}  # model -> parameter count as shown in the table
        answer = (
            f"CNN {accs['cnn'].fmt()} against MLP {accs['mlp'].fmt()} test accuracy ({findings[0].key}), with "
            f"{params['cnn']} parameters against {params['mlp']}. Why (conceptual): MNIST-1D shifts, scales and "
            "pads each digit pattern, so where a feature sits varies; a convolution applies the same small "
            "filter at every position (weight sharing, translation equivariance) and finds it wherever it is, "
            "whereas the MLP must learn every position separately from 4,000 examples."
        )
        doc.add(*questions_block([("How do the MLP and the CNN compare, and why?", answer, findings[0].claim)]))
    seconds = prepare_stage_seconds(prepared_dir()) | seconds
    return StudySection(STUDY, doc.blocks, metrics, seconds, [], findings, [settings_table(study)])
