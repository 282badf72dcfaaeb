"""S1's tables: the main results table, and for the appendix the per-split accuracies, the effective
settings and the per-layer architecture tables."""

from __future__ import annotations

import math

from annstudy.models.summary import summarize as summarize_model
from annstudy.models.zoo import build_model
from annstudy.params.settings import Settings
from annstudy.report.document import Heading, Paragraph, Table
from annstudy.report.stats import pct, summarize
from annstudy.studies.architectures.config import ArchitecturesSettings
from annstudy.studies.architectures.references import PUBLISHED, PUBLISHED_DATASET, PUBLISHED_SOURCE
from annstudy.studies.architectures.results import ArchResult, verdict


def results_table(results: list[ArchResult], study: ArchitecturesSettings, n_test: int) -> Table:
    """The main table, 8 columns; the rest (CIs per split, times, published values) is in the appendix."""
    rows = []
    for r in results:
        train_acc, val_acc = r.final_accuracies
        div = f" ({len(r.diverged_seeds)} of {len(r.per_seed)} seeds diverged)" if r.diverged_seeds else ""
        if r.test.n > 0:
            acc = r.accuracy(n_test)
            numbers = [acc.fmt() + div, acc.fmt_sampling(), pct(val_acc), f"{(train_acc - val_acc) * 100:+.1f}"]
            judged = f"{verdict(train_acc, val_acc, study)} at {r.budget}"
            chosen, (best_seed, best_acc) = r.chosen_seed, r.best_test
            numbers.append(f"seed {chosen}: {pct(r.seed_test(chosen))}; best seed {best_seed}: {pct(best_acc)}")
        else:  # nothing to average: say so instead of printing nan
            numbers, judged = ["diverged (every seed)", "—", "—", "—", "—"], "—"
        rows.append([r.arch, f"{r.params:,}", r.reached, *numbers, judged])
    subset = results[0].run["train"]["train_eval_subset"] if results else 0
    stopped = any(r.stop_patience for r in results)
    return Table(
        [
            "architecture",
            "parameters",
            "epochs (best)" if stopped else "epochs",
            "test acc",
            "test sampling",
            "val acc",
            "train − val",
            "test: seed chosen on val; best seed",
            "verdict",
        ],
        rows,
        caption=(_stopping_note(results) if stopped else "Eval-mode accuracies after the last epoch")
        + ", over the seeds that did not diverge. test acc: mean with "
        "the per-seed values (n ≤ 2) or the 95 % Student-t interval over seeds; test sampling: Wilson 95 % "
        f"interval over the {n_test:,} test images; train − val in points, train on "
        + ("the full split" if subset <= 0 else f"a fixed subset of {subset:,} training images")
        + ". test: seed chosen on val: the test accuracy of the seed with the highest validation accuracy (whose "
        "weights are shown); best seed: the highest test accuracy over seeds, which the exercise asks for — a "
        "maximum over noisy values, biased upwards, never used to choose. "
        "A verdict holds at its budget only: a 1-epoch model judged against 2-epoch ones is confounded.",
    )


def _stopping_note(results: list[ArchResult]) -> str:
    """The caption's start under early stopping: what the epochs column shows and which weights were evaluated."""
    rules = sorted({r.budget for r in results})
    return (
        f"Early stopping ({'; '.join(rules)}): epochs (best) is the range over seeds of the epochs trained and, "
        "in brackets, of the epoch with the lowest full-validation loss, whose weights every accuracy here is of. "
        "Eval-mode accuracies"
    )


def split_table(results: list[ArchResult], study: ArchitecturesSettings) -> Table:
    """Every compared accuracy with its spread per split, the chosen seed, times and the published value."""
    rows = []
    for r in results:
        h = r.healthy
        cells = [r.arch]
        for values in (h["train_acc"], h["val_acc"], h["test_acc"]):
            s = summarize(values, bounds=(0.0, 1.0))
            cells.append(f"{pct(s.mean)} ± {s.std * 100:.1f}" if s.n else "—")
        published = PUBLISHED.get(r.arch, "") if study.dataset == PUBLISHED_DATASET else "n/a (other dataset)"
        loss = r.val_loss_last
        cells.append(f"{loss:.3f}" if math.isfinite(loss) else "—")
        cells += [str(r.chosen_seed), f"{r.train_seconds:,.1f}", published + (" ¹" if published else "")]
        rows.append(cells)
    return Table(
        [
            "architecture",
            "train acc",
            "val acc",
            "test acc",
            "val loss",
            "seed shown (best val)",
            "train time (s)",
            "published",
        ],
        rows,
        caption="Final eval-mode accuracies per split: mean ± sample std over the seeds that did not diverge; "
        "val loss: the full validation split's cross-entropy after the last epoch, mean over seeds (recorded "
        f"every epoch: the train record's `epochs` table); train time summed over seeds. ¹ Source: {PUBLISHED_SOURCE}.",
    )


def settings_table(settings: Settings, meta: dict, results: list[ArchResult]) -> Table:
    """The effective S1 settings, in words a reader can check against studies.md."""
    study = settings.studies["architectures"]
    t = study.train
    devices = sorted({r.run["device"] for r in results}) or ["n/a"]
    return Table(
        ["setting", "value"],
        [
            [
                "dataset",
                f"{meta['name']} (train {meta['sizes']['train']:,} / val {meta['sizes']['val']:,}"
                f" / test {meta['sizes']['test']:,}), source: {meta['source']}",
            ],
            [
                "validation split",
                f"{meta['split']['val_per_class']} images per class, split seed {meta['split']['seed']}",
            ],
            ["input scaling", meta["scaling"]["description"]],
            ["optimizer", f"{t.optimizer}, lr {t.lr:g}" + (f", momentum {t.momentum:g}" if t.momentum else "")],
            ["batch size", str(t.batch_size)],
            ["epochs", ", ".join(f"{a} {study.train_for(a).epochs}" for a in study.archs)],
            ["seeds", ", ".join(map(str, t.seeds))],
            [
                "training images used",
                "all" if t.train_limit <= 0 else f"{t.train_limit:,}, stratified (the first of each class)",
            ],
            [
                "logging",
                f"every {t.log_every} steps: training loss and accuracy averaged over the batches "
                "since the previous log (train mode), validation accuracy in eval mode on "
                + (
                    "the full validation set"
                    if t.val_subset <= 0
                    else f"a fixed, evenly spaced subset of {t.val_subset:,} validation images"
                )
                + "; after every epoch on the full validation set",
            ],
            ["device", ", ".join(devices)],
            [
                "engine",
                (
                    "seeds of an architecture trained together as one stacked network"
                    if t.vectorize
                    else "seeds trained one after another"
                )
                + (", channels-last convolutions" if t.channels_last else ""),
            ],
        ],
        caption="Effective S1 settings (profile values resolved).",
    )


def architecture_tables(results: list[ArchResult], image_shape: tuple[int, int, int], classes: int) -> list:
    """Per model: layer by layer output shape and parameters, totals, MACs, measured throughput."""
    shape = "x".join(map(str, image_shape))
    overview, per_model = [], []
    for r in results:
        summary = summarize_model(build_model(r.arch, image_shape, classes), image_shape, r.arch)
        overview.append(
            [r.arch, f"{summary.params:,}", f"{summary.macs:,}", f"{r.throughput:,.0f}", f"{r.wall_seconds:,.1f}"]
        )
        layers = [
            [str(row.index), row.layer, "x".join(map(str, row.output_shape)), f"{row.params:,}", f"{row.macs:,}"]
            for row in summary.layers
        ]
        total = ["", "**total**", "", f"**{summary.params:,}**", f"**{summary.macs:,}**"]
        per_model += [
            Heading(r.arch, level=4),
            Table(["#", "layer", "output shape", "parameters", "MACs"], layers + [total]),
        ]
    return [
        Heading("Architecture tables", level=3),
        Paragraph(
            f"Layer by layer on {shape} inputs. MACs: multiply-accumulates per image in the forward "
            "pass (convolutions and dense layers). Throughput: training images per second over all "
            "seeds, measured in the train stage (includes logging)."
        ),
        Table(["architecture", "parameters", "MACs / image", "train images/s", "train wall (s)"], overview),
        *per_model,
    ]
