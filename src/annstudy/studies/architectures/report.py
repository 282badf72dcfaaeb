"""The S1 section of the report: architecture comparison on images."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from annstudy.artifacts import load_torch, write_tsv
from annstudy.data.prepared import PreparedDataset, load_meta, load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.models.summary import summarize as summarize_model
from annstudy.models.zoo import build_model, first_layer_weight
from annstudy.params import Settings
from annstudy.records import read_record
from annstudy.report import figures
from annstudy.report.document import Document, Figure, Heading, Paragraph, Table
from annstudy.report.section import StudySection
from annstudy.report.stats import Comparison, Summary, pairwise, summarize
from annstudy.studies.architectures.config import ArchitecturesSettings
from annstudy.studies.architectures.run import CURVE_METRICS, eval_dir, train_dir

# studies.md, "Published ranges to compare against" (only shown for this dataset).
PUBLISHED_DATASET = "fashion_mnist"
PUBLISHED = {
    "mlp_1": "0.87–0.88 (MLP); exercise bar ≥ 0.80",
    "mlp_2": "0.87–0.88 (MLP)",
    "cnn_3": "0.89–0.92 (small CNN)",
    "cnn_4": "0.89–0.92 (small CNN)",
    "cnn_5": "0.89–0.92 (small CNN)",
    "lenet5": "0.89–0.92 (small CNN)",
    "cnn_bn4": "exercise bar ≥ 0.85",
}


@dataclass
class ArchResult:
    arch: str
    run: dict  # summary of the train stage's record
    evaluation: dict  # summary of the evaluate stage's record
    curves: pd.DataFrame  # tidy per-seed log

    @property
    def params(self) -> int:
        return int(self.run["params"])

    @property
    def train_seconds(self) -> float:
        return float(sum(s["train_seconds"] for s in self.run["seeds"]))

    @property
    def wall_seconds(self) -> float:
        """Wall time of the train stage's training (all seeds)."""
        return float(self.run.get("wall_seconds", self.train_seconds))

    @property
    def throughput(self) -> float:
        """Training images per second, all seeds together."""
        samples = sum(s["steps"] for s in self.run["seeds"]) * self.run["train"]["batch_size"]
        return samples / self.train_seconds if self.train_seconds else float("nan")

    @property
    def per_seed(self) -> pd.DataFrame:
        return pd.DataFrame(self.evaluation["per_seed"])

    @property
    def healthy(self) -> pd.DataFrame:
        frame = self.per_seed
        return frame[~frame["diverged"]]

    @property
    def test(self) -> Summary:
        return summarize(self.healthy["test_acc"])

    @property
    def diverged_seeds(self) -> list[tuple[int, int]]:
        return [(s["seed"], s["diverged_step"]) for s in self.run["seeds"] if s["diverged"]]


def load_results(archs: tuple[str, ...], root: str | Path = "data") -> list[ArchResult]:
    results = []
    for arch in archs:
        tdir, edir = train_dir(arch, root), eval_dir(arch, root)
        train, evaluation = read_record(tdir), read_record(edir)
        results.append(ArchResult(arch, train.summary, evaluation.summary, train.table("curves")))
    return results


def _rank_key(r: ArchResult) -> tuple[bool, float]:
    """Order by mean test accuracy; an architecture whose seeds all diverged ranks last."""
    return (r.test.n > 0, r.test.mean if r.test.n > 0 else 0.0)


def verdict(train_acc: float, val_acc: float, study: ArchitecturesSettings) -> str:
    """The stated rule: underfitting below a train-accuracy bar, else overfitting above a gap."""
    if train_acc < study.underfit_train_acc:
        return "underfitting"
    if train_acc - val_acc > study.overfit_gap:
        return "overfitting"
    return "generalizing"


def _epochs_phrase(epochs: list[int]) -> str:
    if len(epochs) == 1:
        return f"{epochs[0]} epoch{'s' if epochs[0] != 1 else ''}"
    return f"{', '.join(map(str, epochs[:-1]))} or {epochs[-1]} epochs (per architecture, see the table)"


def _table(results: list[ArchResult], study: ArchitecturesSettings) -> Table:
    rows = []
    for r in results:
        h = r.healthy
        train_acc, val_acc = h["train_acc"].mean(), h["val_acc"].mean()
        seeds = len(r.per_seed)
        div = f" ({len(r.diverged_seeds)} diverged)" if r.diverged_seeds else ""
        if r.test.n > 0:
            numbers = [
                r.test.fmt(),
                r.test.fmt_ci(),
                f"{r.evaluation['best_seed']}",
                f"{train_acc:.4f}",
                f"{val_acc:.4f}",
                f"{train_acc - val_acc:+.4f}",
            ]
            judged = verdict(train_acc, val_acc, study)
        else:  # nothing to average: say so instead of printing nan
            numbers, judged = ["—"] * 6, "diverged (every seed)"
        rows.append(
            [
                r.arch,
                f"{r.params:,}",
                str(r.run["train"]["epochs"]),
                *numbers,
                f"{r.train_seconds:,.1f}",
                f"{seeds}{div}",
                judged,
                PUBLISHED.get(r.arch, "") if study.dataset == PUBLISHED_DATASET else "n/a (other dataset)",
            ]
        )
    return Table(
        [
            "architecture",
            "parameters",
            "epochs",
            "test acc (mean ± std)",
            "95 % CI",
            "best seed",
            "train acc",
            "val acc",
            "train − val",
            "train time (s)",
            "seeds",
            "verdict",
            "published",
        ],
        rows,
        caption="Accuracies in eval mode after the last epoch: test and val on the full splits, train on "
        + (
            "the full split"
            if not results or results[0].run["train"]["train_eval_subset"] <= 0
            else f"a fixed subset of {results[0].run['train']['train_eval_subset']:,} training images"
        )
        + "; train time summed over seeds.",
    )


def _split_table(results: list[ArchResult]) -> Table:
    """Every compared accuracy with its spread: train, val, test and the train − val gap per seed."""
    rows = []
    for r in results:
        h = r.healthy
        cells = [r.arch]
        for values in (h["train_acc"], h["val_acc"], h["test_acc"], h["train_acc"] - h["val_acc"]):
            s = summarize(values)
            cells.append(f"{s.fmt()} {s.fmt_ci()}")
        rows.append(cells)
    return Table(
        ["architecture", "train acc", "val acc", "test acc", "train − val gap"],
        rows,
        caption="Final eval-mode accuracies per split: mean ± sample std [95 % Student-t CI] over the seeds "
        "that did not diverge; the gap is computed per seed, then summarized.",
    )


def _better_matrix(results: list[ArchResult], alpha: float = 0.05) -> tuple[Table, list[Comparison]]:
    """'Is the row better than the column?' from Welch tests on per-seed test accuracy, Holm-corrected."""
    groups = {r.arch: list(r.healthy["test_acc"]) for r in results if r.test.n > 0}  # all-diverged: no data
    comparisons = pairwise(groups, alpha)
    lookup = {(c.a, c.b): c for c in comparisons}
    rows = []
    for a in groups:
        row = [a]
        for b in groups:
            if a == b:
                row.append("—")
                continue
            c = lookup.get((a, b))
            diff, q = (c.diff, c.p_adjusted) if c else (-lookup[(b, a)].diff, lookup[(b, a)].p_adjusted)
            mark = ("▲" if diff > 0 else "▼") if q < alpha else "≈"
            row.append(f"{mark} {diff * 100:+.1f} (p={q:.2g})")
        rows.append(row)
    caption = (
        f"Row vs column: difference of mean test accuracy in percentage points; ▲ row better / ▼ row "
        f"worse where the Holm-adjusted Welch p < {alpha:g} (family: all {len(comparisons)} pairs), "
        "≈ where not shown to differ."
    )
    return Table(["row vs column", *groups], rows, caption=caption), comparisons


def _best_claim(results: list[ArchResult], comparisons: list[Comparison]) -> str:
    """One sentence on the best architecture that says only what the tests support."""
    ranked = sorted((r for r in results if r.test.n > 0), key=lambda r: r.test.mean, reverse=True)
    if not ranked:
        return "Every seed of every architecture diverged: nothing to compare."
    if len(ranked) < 2:
        alone = "was trained" if len(results) == 1 else "has seeds that did not diverge"
        return f"Only {ranked[0].arch} {alone}."
    best, second = ranked[0], ranked[1]
    beaten = [
        c
        for c in comparisons
        if c.significant and ((c.a == best.arch and c.diff > 0) or (c.b == best.arch and c.diff < 0))
    ]
    vs_second = next(c for c in comparisons if {c.a, c.b} == {best.arch, second.arch})
    verdict = "significantly better than" if vs_second.significant else "not significantly different from"
    return (
        f"Highest mean test accuracy: **{best.arch}** ({best.test.fmt()}), {verdict} the runner-up "
        f"{second.arch} ({second.test.fmt()}, Holm-adjusted p = {vs_second.p_adjusted:.2g}); it is "
        f"significantly better than {len(beaten)} of the other {len(ranked) - 1} architectures. "
        f"With {best.test.n} seeds per architecture the tests have little power: ≈ means "
        "'not shown to differ', not 'equal'."
    )


def architecture_tables(
    doc: Document, results: list[ArchResult], image_shape: tuple[int, int, int], classes: int
) -> None:
    """Per model: layer by layer output shape and parameters, totals, MACs, measured throughput."""
    shape = "x".join(map(str, image_shape))
    overview, per_model = [], []
    for r in results:
        summary = summarize_model(build_model(r.arch, image_shape, classes), image_shape, r.arch)
        overview.append(
            [r.arch, f"{summary.params:,}", f"{summary.macs:,}", f"{r.throughput:,.0f}", f"{r.wall_seconds:,.1f}"]
        )
        per_model += [
            Heading(r.arch, level=4),
            Table(
                ["#", "layer", "output shape", "parameters", "MACs"],
                [
                    [
                        str(row.index),
                        row.layer,
                        "x".join(map(str, row.output_shape)),
                        f"{row.params:,}",
                        f"{row.macs:,}",
                    ]
                    for row in summary.layers
                ]
                + [["", "**total**", "", f"**{summary.params:,}**", f"**{summary.macs:,}**"]],
            ),
        ]
    doc.add(
        Heading("Architecture tables", level=3),
        Paragraph(
            f"Layer by layer on {shape} inputs. MACs: multiply-accumulates per image in the forward "
            "pass (convolutions and dense layers). Throughput: training images per second over all "
            "seeds, measured in the train stage (includes logging)."
        ),
        Table(["architecture", "parameters", "MACs / image", "train images/s", "train wall (s)"], overview),
        *per_model,
    )


def section(doc: Document, settings: Settings, data: PreparedDataset, results: list[ArchResult], out: Path) -> None:
    """Append the S1 section; figures are written under ``out/figures``."""
    study = settings.studies["architectures"]
    fig_dir = out / "figures"
    doc.add(
        Heading("S1 Architectures"),
        run_settings(settings, load_meta(prepared_dir(study.dataset)), results),
        Paragraph(
            f"{len(results)} architectures trained on `{study.dataset}` with {study.train.optimizer} "
            f"(lr {study.train.lr:g}), batch {study.train.batch_size}, "
            f"{_epochs_phrase(sorted({study.train_for(r.arch).epochs for r in results}))}, "
            f"{len(study.train.seeds)} seeds each. Mean ± sample std over seeds; the 95 % confidence "
            "interval is Student's t with n − 1 degrees of freedom."
        ),
        _table(results, study),
        _split_table(results),
        Paragraph(
            f"**Verdict rule** (from the final eval-mode accuracies, means over seeds): *underfitting* when "
            f"train accuracy < {study.underfit_train_acc:g}; otherwise *overfitting* when train − val "
            f"accuracy > {study.overfit_gap:g}; otherwise *generalizing*."
        ),
    )
    matrix, comparisons = _better_matrix(results)
    doc.add(Heading("Is A better than B?", level=3), Paragraph(_best_claim(results, comparisons)), matrix)
    for r in results:
        if r.diverged_seeds:
            where = ", ".join(f"seed {s} at step {step}" for s, step in r.diverged_seeds)
            doc.add(Paragraph(f"**{r.arch} diverged** (non-finite loss): {where}; excluded from its statistics."))

    finals = pd.concat([r.per_seed.assign(arch=r.arch) for r in results], ignore_index=True)
    finals = finals[~finals["diverged"]]
    panel = figures.comparison_panel(
        {r.arch: r.curves for r in results},
        finals,
        fig_dir / "architectures_panel.png",
        f"S1 architectures on {study.dataset}: mean over {len(study.train.seeds)} seeds, band ±1 std",
    )
    doc.add(
        Figure(
            panel.relative_to(out),
            "Comparison panel: training loss, train/val accuracy, "
            "test vs final train accuracy, validation vs train accuracy.",
        )
    )

    doc.add(
        Heading("First-layer weights", level=3),
        Paragraph(
            "Weights of the first layer of each architecture's best-test seed, one tile per unit "
            "or filter (MLP units reshaped to the image size; gray scale, or colour for RGB inputs, "
            "symmetric around 0)."
        ),
    )
    for r in results:
        weights = load_torch(train_dir(r.arch) / "weights.pt")
        best = r.evaluation["best_seed"]
        model = build_model(r.arch, data.image_shape, len(data.classes))
        model.load_state_dict(weights[best])
        path = figures.weight_grid(
            first_layer_weight(model),
            data.image_shape,
            fig_dir / f"weights_{r.arch}.png",
            f"{r.arch}: first-layer weights (seed {best})",
        )
        doc.add(Figure(path.relative_to(out), f"{r.arch}: first-layer weights, seed {best}."))

    best = max(results, key=_rank_key)
    seed = best.evaluation["best_seed"]
    ev = best.evaluation
    doc.add(
        Heading("Errors of the best architecture", level=3),
        Paragraph(
            f"Best architecture by mean test accuracy: **{best.arch}** ({best.test.fmt()}); "
            f"confusion matrix and misclassified test images of its best seed ({seed})."
        ),
    )
    path = figures.confusion_matrix(
        ev["confusion"],
        ev["classes"],
        fig_dir / "confusion_best.png",
        f"{best.arch} (seed {seed}): test confusion matrix",
    )
    doc.add(Figure(path.relative_to(out), f"Confusion matrix of {best.arch}, seed {seed} (rows: true class)."))
    wrong = ev["misclassified"]
    if wrong:
        idx = [w["index"] for w in wrong]
        path = figures.misclassified_grid(
            data.test.x[idx],
            [w["true"] for w in wrong],
            [w["pred"] for w in wrong],
            ev["classes"],
            fig_dir / "misclassified_best.png",
            f"{best.arch} (seed {seed}): first misclassified test images",
        )
        doc.add(Figure(path.relative_to(out), "Misclassified test images, titled true → predicted class."))


def run_settings(settings: Settings, meta: dict, results: list[ArchResult]) -> Table:
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
            ["training images used", "all" if t.train_limit <= 0 else f"first {t.train_limit:,}"],
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


def _rounded(value: float) -> float | None:
    """JSON-safe: a NaN (no healthy seed to average) becomes null."""
    return None if math.isnan(value) else round(value, 5)


def metrics(results: list[ArchResult]) -> dict:
    """Headline numbers per architecture (compact, so `dvc exp show` stays readable).

    No wall times here (they are in the report): a metric that changes on every rerun would
    defeat `dvc exp show --only-changed`. Accuracies are over the seeds that did not diverge,
    null when every seed diverged; ``diverged`` flags an architecture with at least one
    diverged seed.
    """
    return {
        r.arch: {
            "test_acc_mean": _rounded(r.test.mean),
            "test_acc_std": _rounded(r.test.std),
            "params": r.params,
            "diverged": bool(r.diverged_seeds),
        }
        for r in results
    }


def write_plot_data(results: list[ArchResult], out: Path) -> None:
    """Wide TSVs (step, one column per architecture) for the top-level `plots:` of dvc.yaml."""
    for metric in CURVE_METRICS:
        columns = {r.arch: r.curves.groupby("step")[metric].mean() for r in results if not r.curves.empty}
        frame = pd.DataFrame(columns).rename_axis("step").reset_index()
        write_tsv(out / f"{metric}.tsv", frame)


def build(settings: Settings, out: Path) -> StudySection:
    """The S1 section: settings, results table, tests, figures, architecture tables."""
    study = settings.studies["architectures"]
    data = load_prepared(prepared_dir(study.dataset))
    results = load_results(study.archs)
    doc = Document("")
    section(doc, settings, data, results, out)
    architecture_tables(doc, results, data.image_shape, len(data.classes))
    write_plot_data(results, out / "plots")
    seconds = {f"train@{r.arch}": r.wall_seconds for r in results}
    seconds |= {f"evaluate@{r.arch}": float(r.evaluation.get("wall_seconds", 0.0)) for r in results}
    return StudySection("architectures", doc.blocks, metrics(results), seconds, [study.dataset])
