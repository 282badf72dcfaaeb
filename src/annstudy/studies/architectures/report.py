"""The S1 section of the report: architecture comparison on images."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from annstudy.data.prepared import PreparedDataset, load_meta, load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.engine.evaluation import evaluate
from annstudy.models.summary import summarize as summarize_model
from annstudy.models.zoo import build_model, first_layer_weight
from annstudy.params.settings import Settings
from annstudy.report import figures, interactive
from annstudy.report.claims import Arm, Claim, Status, accuracy_bar, compare
from annstudy.report.document import Chart, Document, Figure, Heading, Paragraph, Table
from annstudy.report.interactive import Panel
from annstudy.report.questions import MEASURED, questions_block
from annstudy.report.section import Finding, StudySection
from annstudy.report.stats import Accuracy, Comparison, Summary, pairwise, pct, summarize
from annstudy.store.artifacts import load_torch, write_tsv
from annstudy.store.records import read_record
from annstudy.studies.architectures import worked_checks
from annstudy.studies.architectures.config import ArchitecturesSettings
from annstudy.studies.architectures.run import CURVE_METRICS, eval_dir, train_dir

# studies.md, "Published ranges to compare against" (only shown for this dataset).
PUBLISHED_SOURCE = "studies.md, S1 'Published ranges to compare against' (from the exercises)"
PUBLISHED_DATASET = "fashion_mnist"
BARS = {"mlp": 0.80, "cnn": 0.85}  # the exercise's bars: >= 0.80 plain ANN, >= 0.85 CNN
PUBLISHED_RANGES = {  # the same ranges as numbers, for the forest plot
    "mlp_1": (0.87, 0.88),
    "mlp_2": (0.87, 0.88),
    "cnn_3": (0.89, 0.92),
    "cnn_4": (0.89, 0.92),
    "cnn_5": (0.89, 0.92),
    "lenet5": (0.89, 0.92),
    "cnn_bn4": (0.85, 0.85),  # a bar, not a range
}
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
    epoch_rows: pd.DataFrame | None = None  # per seed and epoch: val_loss, val_acc on the full validation split

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

    @property
    def epochs(self) -> int:
        return int(self.run["train"]["epochs"])

    @property
    def budget(self) -> str:
        return f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"

    @property
    def val_mean(self) -> float:
        """Mean validation accuracy over healthy seeds: what every choice of architecture uses."""
        return float(self.healthy["val_acc"].mean()) if len(self.healthy) else float("nan")

    @property
    def chosen_seed(self) -> int:
        """The seed whose weights are shown: highest validation accuracy (ties: lowest seed), never test."""
        frame = self.healthy if len(self.healthy) else self.per_seed
        best = max(frame.to_dict("records"), key=lambda row: (row["val_acc"], -row["seed"]))
        return int(best["seed"])

    def seed_test(self, seed: int) -> float:
        return float(self.per_seed.set_index("seed").loc[seed, "test_acc"])

    @property
    def best_test(self) -> tuple[int, float] | None:
        """The exercise's "best test accuracy over seeds": (seed, accuracy), reported beside the chosen seed,
        never used to choose (it is the maximum of noisy values, biased upwards)."""
        frame = self.healthy
        if not len(frame):
            return None
        row = max(frame.to_dict("records"), key=lambda r: (r["test_acc"], -r["seed"]))
        return int(row["seed"]), float(row["test_acc"])

    @property
    def val_loss_last(self) -> float:
        """Mean over healthy seeds of the last epoch's full-validation loss (recorded every epoch)."""
        e = self.epoch_rows
        if e is None or e.empty or "val_loss" not in e:
            return float("nan")
        healthy = set(self.healthy["seed"])
        last = e[e["seed"].isin(healthy)].sort_values("epoch").groupby("seed")["val_loss"].last()
        return float(last.mean()) if len(last) else float("nan")

    def accuracy(self, n_test: int) -> Accuracy:
        return Accuracy(tuple(float(v) for v in self.healthy["test_acc"]), n_test)

    def arm(self, classes: int) -> Arm:
        """The architecture as one side of a claim: per-seed test accuracy, budget, final train loss."""
        h = self.healthy
        loss = float(h["train_loss"].mean()) if "train_loss" in h and len(h) else None
        return Arm(self.arch, tuple(float(v) for v in h["test_acc"]), self.budget, loss, self.test.mean, classes)


def load_results(archs: tuple[str, ...], root: str | Path = "data") -> list[ArchResult]:
    results = []
    for arch in archs:
        tdir, edir = train_dir(arch, root), eval_dir(arch, root)
        train, evaluation = read_record(tdir), read_record(edir)
        results.append(
            ArchResult(arch, train.summary, evaluation.summary, train.table("curves"), train.table("epochs"))
        )
    return results


def _rank_key(r: ArchResult) -> tuple[bool, float]:
    """Order by mean *validation* accuracy; an architecture whose seeds all diverged ranks last."""
    return (r.test.n > 0, r.val_mean if r.test.n > 0 else 0.0)


def is_cnn(arch: str) -> bool:
    return not arch.startswith("mlp")


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


def _table(results: list[ArchResult], study: ArchitecturesSettings, n_test: int) -> Table:
    """The main table, 8 columns; the rest (CIs per split, times, published values) is in the appendix."""
    rows = []
    for r in results:
        h = r.healthy
        train_acc, val_acc = h["train_acc"].mean(), h["val_acc"].mean()
        div = f" ({len(r.diverged_seeds)} of {len(r.per_seed)} seeds diverged)" if r.diverged_seeds else ""
        if r.test.n > 0:
            acc = r.accuracy(n_test)
            numbers = [acc.fmt() + div, acc.fmt_sampling(), pct(val_acc), f"{(train_acc - val_acc) * 100:+.1f}"]
            judged = f"{verdict(train_acc, val_acc, study)} at {r.budget}"
            chosen, (best_seed, best_acc) = r.chosen_seed, r.best_test
            numbers.append(f"seed {chosen}: {pct(r.seed_test(chosen))}; best seed {best_seed}: {pct(best_acc)}")
        else:  # nothing to average: say so instead of printing nan
            numbers, judged = ["diverged (every seed)", "—", "—", "—", "—"], "—"
        rows.append([r.arch, f"{r.params:,}", str(r.epochs), *numbers, judged])
    subset = results[0].run["train"]["train_eval_subset"] if results else 0
    return Table(
        [
            "architecture",
            "parameters",
            "epochs",
            "test acc",
            "test sampling",
            "val acc",
            "train − val",
            "test: seed chosen on val; best seed",
            "verdict",
        ],
        rows,
        caption="Eval-mode accuracies after the last epoch, over the seeds that did not diverge. test acc: mean with "
        "the per-seed values (n ≤ 2) or the 95 % Student-t interval over seeds; test sampling: Wilson 95 % "
        f"interval over the {n_test:,} test images; train − val in points, train on "
        + ("the full split" if subset <= 0 else f"a fixed subset of {subset:,} training images")
        + ". test: seed chosen on val: the test accuracy of the seed with the highest validation accuracy (whose "
        "weights are shown); best seed: the highest test accuracy over seeds, which the exercise asks for — a "
        "maximum over noisy values, biased upwards, never used to choose. "
        "A verdict holds at its budget only: a 1-epoch model judged against 2-epoch ones is confounded.",
    )


def _split_table(results: list[ArchResult], study: ArchitecturesSettings) -> Table:
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


def _better_matrix(results: list[ArchResult], alpha: float = 0.05) -> tuple[Table, list[Comparison]]:
    """'Is the row better than the column?' from Welch tests on per-seed test accuracy, Holm-corrected."""
    groups = {r.arch: list(r.healthy["test_acc"]) for r in results if r.test.n > 0}  # all-diverged: no data
    epochs = {r.arch: r.epochs for r in results}
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
            if epochs[a] != epochs[b]:
                mark = "‡"  # unequal budgets: not a comparison of the architectures alone
            row.append(f"{mark} {diff * 100:+.1f} (p={q:.2g})")
        rows.append(row)
    caption = (
        f"Row vs column: difference of mean test accuracy in percentage points; ▲ row better / ▼ row "
        f"worse where the Holm-adjusted Welch p < {alpha:g} (family: all {len(comparisons)} pairs), "
        "≈ where not shown to differ; ‡ *confounded*: the two were trained for different numbers of epochs."
    )
    return Table(["row vs column", *groups], rows, caption=caption), comparisons


def _best_claim(results: list[ArchResult], comparisons: list[Comparison], classes: int = 10) -> Claim | str:
    """The architecture chosen on validation against the validation runner-up, tested on test accuracy."""
    ranked = sorted((r for r in results if r.test.n > 0), key=lambda r: r.val_mean, reverse=True)
    if not ranked:
        return "Every seed of every architecture diverged: nothing to compare."
    if len(ranked) < 2:
        alone = "was trained" if len(results) == 1 else "has seeds that did not diverge"
        return f"Only {ranked[0].arch} {alone}."
    best, second = ranked[0], ranked[1]
    vs_second = next((c for c in comparisons if {c.a, c.b} == {best.arch, second.arch}), None)
    p = vs_second.p_adjusted if vs_second else None
    ahead = "ahead of" if best.test.mean >= second.test.mean else "behind"
    return compare(
        f"{best.arch} (highest validation accuracy, {pct(best.val_mean)}) is {ahead} the validation runner-up "
        f"{second.arch} on test",
        best.arm(classes),
        second.arm(classes),
        p=p,
    )


def claims(results: list[ArchResult], comparisons: list[Comparison], classes: int, n_test: int) -> list[Finding]:
    """The S1 findings: which to pick (validation), CNN vs MLP, and whether the pick meets the exercise's bar."""
    found = []
    best = _best_claim(results, comparisons, classes)
    trained = [r for r in results if r.test.n > 0]
    if isinstance(best, Claim):
        chosen = max(trained, key=lambda r: r.val_mean)
        found.append(Finding("Which architecture to pick (chosen on validation)?", best, chosen.accuracy(n_test).fmt()))
        kind = "cnn" if is_cnn(chosen.arch) else "mlp"
        acc = chosen.accuracy(n_test)
        what = f"the exercise's bar for a {kind.upper()}"
        bar = accuracy_bar(chosen.arch, acc, BARS[kind], chosen.budget, classes, what)
        found.append(
            Finding("Does the chosen network meet the exercise's bar?", bar, f"{acc.fmt()} vs {pct(BARS[kind])}")
        )
    cnns = [r for r in trained if is_cnn(r.arch)]
    mlps = [r for r in trained if not is_cnn(r.arch)]
    if cnns and mlps:
        pairs = [(max(cnns, key=lambda r: r.val_mean), max(mlps, key=lambda r: r.val_mean))]
        if pairs[0][0].epochs != pairs[0][1].epochs:  # also at a matched budget, where one exists
            mlp = pairs[0][1]
            matched = [r for r in cnns if r.epochs == mlp.epochs]
            if matched:
                pairs.append((max(matched, key=lambda r: r.val_mean), mlp))
        for cnn, mlp in pairs:
            better = "beats" if cnn.test.mean >= mlp.test.mean else "trails"
            equal = cnn.epochs == mlp.epochs
            claim = compare(
                f"the best CNN on validation{f' at {cnn.budget}' if equal and len(pairs) > 1 else ''}, {cnn.arch}, "
                f"{better} the best MLP, {mlp.arch}, on test",
                cnn.arm(classes),
                mlp.arm(classes),
            )
            diff = (cnn.test.mean - mlp.test.mean) * 100
            found.append(Finding("How does the CNN compare with the MLP?", claim, f"{diff:+.1f} points"))
    return found


# ---------------------------------------------------------------- the exercise's questions

WEAKEST_FIRST = [Status.DID_NOT_TRAIN, Status.CONFOUNDED, Status.UNDERPOWERED, Status.NOT_SIGNIFICANT, Status.SUPPORTED]
KIN = (  # structurally akin groups (studies.md S1): what differs between them
    (("mlp_1", "mlp_2"), "one hidden layer vs a second, bias-free FC-64 one"),
    (("cnn_3", "cnn_4", "cnn_5"), "small stacks of 3×3–7×7 convolutions with two max-pools, 3 to 6 conv layers"),
    (("lenet5", "cnn_bn4"), "conv blocks followed by dense layers (cnn_bn4 with BatchNorm and dropout)"),
)


def weakest(claims: list[Claim]) -> Claim:
    """An answer resting on several claims is as strong as its weakest."""
    return min(claims, key=lambda c: WEAKEST_FIRST.index(c.status))


def weight_layers(model) -> int:
    """Depth as the number of weighted (Linear/Conv) layers."""
    return sum(1 for m in model.modules() if getattr(m, "weight", None) is not None and m.weight.dim() > 1)


def _gaps(r: ArchResult) -> tuple[float, ...]:
    """Per healthy seed: final train − val accuracy (eval mode)."""
    h = r.healthy
    return tuple(float(t - v) for t, v in zip(h["train_acc"], h["val_acc"]))


def _cap(text: str) -> str:
    """Sentence case, leaving a leading identifier (``mlp_1``) as written."""
    first = text.split(" ", 1)[0]
    return text if "_" in first or any(ch.isdigit() for ch in first) else text[:1].upper() + text[1:]


def template_match(weight: torch.Tensor, class_means: torch.Tensor) -> tuple[float, int]:
    """For first-layer units that see the whole image (an MLP): per unit the largest |cosine| between its
    weights and a class-mean image (centred on the mean image); the median over units, and how many classes
    are some unit's best match. High values and many classes = units that look like class templates."""
    w = weight.detach().float().reshape(weight.shape[0], -1)
    m = class_means.reshape(class_means.shape[0], -1)
    m = m - m.mean(0, keepdim=True)
    cos = torch.nn.functional.normalize(w, dim=1) @ torch.nn.functional.normalize(m, dim=1).T  # [units, classes]
    best, which = cos.abs().max(dim=1)
    return float(best.median()), int(which.unique().numel())


WEIGHT_TILES = 16  # units/filters shown per side: 32 MLP tiles a side would double the page weight of the figure


def initial_first_layer(arch: str, image_shape: tuple[int, int, int], classes: int, seed: int) -> torch.Tensor:
    """The first layer as training initialised it: ``torch.manual_seed(seed)`` then the model (trainer.train_seed,
    models/stacked.stack_seeds), so the initialisation needs no file of its own."""
    with torch.random.fork_rng(devices=[]):  # the report's own random state stays as it was
        torch.manual_seed(seed)
        return first_layer_weight(build_model(arch, image_shape, classes))


def weights_caption(arch: str, seed: int, init: torch.Tensor, trained: torch.Tensor) -> str:
    """The caption (= alt text) of a weight figure: how far training moved the layer, and what that looks like."""
    change = figures.weight_change(init, trained)
    n = min(WEIGHT_TILES, trained.shape[0])
    return (
        f"{arch}, seed {seed} (best on validation): the first {n} of {trained.shape[0]} first-layer units at "
        f"initialisation (left) and trained (right) on one gray scale; training moved the layer by "
        f"‖W − W₀‖ / ‖W₀‖ = {100 * change:.0f} % (100 % = a change as large as the initial weights)."
    )


def _weights_answer(matches: dict[str, tuple[float, int]], archs: list[str]) -> str:
    mlp = [f"{a}: median {m:.2f}, best match of {k} classes" for a, (m, k) in matches.items()]
    cnn = [a for a in archs if a not in matches]
    text = (
        "MLP units see the whole image, so their weights (the weight figures) can be compared with the classes: "
        "largest |cosine| of a unit's weights with a centred class-mean image — " + "; ".join(mlp) + ". "
        if mlp
        else ""
    )
    if cnn:
        text += (
            f"The CNNs' first-layer filters ({', '.join(cnn)}) are a few pixels wide: local edge and contrast "
            "detectors shared by every class, not class templates; the MLP weights are the more interpretable."
        )
    return text


def questions(
    results: list[ArchResult],
    findings: list[Finding],
    comparisons: list[Comparison],
    study: ArchitecturesSettings,
    data: PreparedDataset,
    n_test: int,
) -> list[tuple]:
    """The exercise's S1 questions (studies.md), each answered from this run with the status of its claim."""
    classes = len(data.classes)
    trained = [r for r in results if r.test.n > 0]
    by = {r.arch: r for r in trained}
    claims = {f.question: f.claim for f in findings}
    items: list[tuple] = []
    gaps = {r.arch: _gaps(r) for r in trained}
    spread = ", ".join(f"{a} {sum(g) / len(g) * 100:+.1f}" for a, g in gaps.items() if g)
    items.append(
        (
            "What is generalization performance, and which plots show it?",
            "How well a network does on images it was not trained on (validation, test). The comparison panel "
            "shows it: eval-mode train (solid) against validation (dashed) accuracy along training, validation "
            "against train accuracy, and test against final train accuracy; the gap train − val (points, here "
            f"{spread or '—'}) measures it.",
            None,
        )
    )
    if len(trained) >= 2:
        ranked = sorted(trained, key=lambda r: sum(gaps[r.arch]) / max(len(gaps[r.arch]), 1))
        low, high = ranked[0], ranked[-1]
        claim = compare(
            f"{high.arch} has a larger train − val gap than {low.arch}",
            Arm(high.arch, gaps[high.arch], high.budget, None, high.test.mean, classes),
            Arm(low.arch, gaps[low.arch], low.budget, None, low.test.mean, classes),
        )
        verdicts = ", ".join(
            f"{r.arch} {verdict(r.healthy['train_acc'].mean(), r.healthy['val_acc'].mean(), study)}" for r in trained
        )
        items.append(
            (
                "How do the architectures compare in generalization?",
                f"{_cap(claim.statement)} ({claim.statistic}). Verdicts at their budgets: {verdicts}.",
                claim,
            )
        )
        shape = data.image_shape
        depth = {r.arch: weight_layers(build_model(r.arch, shape, classes)) for r in trained}
        order = sorted(trained, key=lambda r: r.params)
        small, big = order[0], order[-1]
        size = compare(
            f"the largest network, {big.arch} ({big.params:,} parameters), "
            f"{'beats' if big.test.mean >= small.test.mean else 'trails'} the smallest, {small.arch} "
            f"({small.params:,}), on test",
            big.arm(classes),
            small.arm(classes),
        )
        listing = "; ".join(
            f"{r.arch}: {r.params:,} parameters, {depth[r.arch]} weight layers, test {pct(r.test.mean)}, "
            f"gap {sum(gaps[r.arch]) / len(gaps[r.arch]) * 100:+.1f}"
            for r in order
        )
        items.append(
            (
                "How do parameter count and depth affect accuracy and generalization?",
                f"{listing}. {_cap(size.statement)} ({size.statistic}). Here parameters and depth do not rank the "
                "networks alike: the convolutions' weight sharing gives the CNNs more layers with fewer parameters.",
                size,
            )
        )
    matches = {}
    for r in trained:
        if is_cnn(r.arch):
            continue
        model = build_model(r.arch, data.image_shape, classes)
        model.load_state_dict(load_torch(train_dir(r.arch) / "weights.pt")[r.chosen_seed])
        means = torch.stack([data.train.x[data.train.y == k].mean(0) for k in range(classes)])
        matches[r.arch] = template_match(first_layer_weight(model), means)
    items.append(
        (
            "Are the first-layer weights interpretable, do units specialise to classes, and whose are most "
            "interpretable?",
            _weights_answer(matches, [r.arch for r in trained]),
            MEASURED if matches else None,
        )
    )
    kin_claims, kin_text = [], []
    lookup = {(c.a, c.b): c for c in comparisons} | {(c.b, c.a): c for c in comparisons}
    for group, what in KIN:
        present = [a for a in group if a in by]
        if len(present) < 2:
            continue
        parts = []
        for a, b in zip(present, present[1:]):
            c = compare(f"{a} vs {b}", by[a].arm(classes), by[b].arm(classes), p=_p(lookup.get((a, b))))
            kin_claims.append(c)
            parts.append(f"{c.statistic} ({c.status.value})")
        kin_text.append(f"{', '.join(present)} ({what}): " + "; ".join(parts))
    if kin_claims:
        items.append(
            (
                "Which architectures are structurally akin, and how do their results compare?",
                ". ".join(kin_text) + ".",
                weakest(kin_claims),
            )
        )
    pick = claims.get("Which architecture to pick (chosen on validation)?")
    if pick is not None:
        items.append(
            (
                "Which one would you pick, and why?",
                f"The one with the highest mean validation accuracy (the only fair basis): {pick.statement} "
                f"({pick.statistic}).",
                pick,
            )
        )
    cnn_mlp = [f.claim for f in findings if f.question == "How does the CNN compare with the MLP?"]
    if cnn_mlp:
        items.append(
            (
                "How does the CNN compare with the MLP?",
                " ".join(f"{_cap(c.statement)} ({c.statistic}, {c.status.value})." for c in cnn_mlp),
                cnn_mlp[0],
            )
        )
    items.append(_bars_item(trained, study, classes, n_test))
    return items


def _p(c: Comparison | None) -> float | None:
    return c.p_adjusted if c is not None else None


def _bars_item(trained: list[ArchResult], study: ArchitecturesSettings, classes: int, n_test: int) -> tuple:
    """Each network against the exercise's bar (Fashion-MNIST: ≥ 0.80 plain ANN, ≥ 0.85 CNN), with its curves."""
    question = "Does each network meet the exercise's bar (≥ 0.80 plain ANN, ≥ 0.85 CNN), and how are its curves?"
    if study.dataset != PUBLISHED_DATASET or not trained:
        return (question, f"The bars are the Fashion-MNIST exercise's; this run uses `{study.dataset}`.", None)
    bars, parts = [], []
    for r in trained:
        kind = "cnn" if is_cnn(r.arch) else "mlp"
        claim = accuracy_bar(r.arch, r.accuracy(n_test), BARS[kind], r.budget, classes, f"the {kind.upper()} bar")
        bars.append(claim)
        h = r.healthy
        judged = verdict(h["train_acc"].mean(), h["val_acc"].mean(), study)
        parts.append(f"{claim.statement}: {pct(r.test.mean)} ({claim.status.value}; curves: {judged})")
    return (question, "; ".join(parts) + ".", weakest(bars))


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


def forest(results: list[ArchResult], dataset: str, n_test: int, path: Path) -> Path:
    """One row per architecture that trained, with the published range when the dataset has one."""
    rows = []
    for r in results:
        if r.test.n == 0:
            continue
        ref = PUBLISHED_RANGES.get(r.arch) if dataset == PUBLISHED_DATASET else None
        rows.append(figures.forest_row(f"{r.arch} ({r.budget})", r.accuracy(n_test), ref))
    return figures.forest_plot(rows, path, f"S1 test accuracy on {dataset}")


def chosen_predictions(r: ArchResult, data: PreparedDataset, batch_size: int) -> tuple[list, list]:
    """Confusion matrix and misclassified indices of the validation-chosen seed (its stored weights on test).

    The evaluate stage keeps these for its own pick; the report recomputes them for the seed chosen
    on validation, so no test number takes part in any choice.
    """
    seed = r.chosen_seed
    weights = load_torch(train_dir(r.arch) / "weights.pt")
    model = build_model(r.arch, data.image_shape, len(data.classes))
    model.load_state_dict(weights[seed])
    preds = evaluate(model, data.test.x, data.test.y, batch_size).preds.numpy()
    truth = data.test.y.cpu().numpy()
    k = len(data.classes)
    confusion = np.bincount(truth * k + preds, minlength=k * k).reshape(k, k)
    wrong = np.flatnonzero(preds != truth)
    return confusion.tolist(), [{"index": int(i), "true": int(truth[i]), "pred": int(preds[i])} for i in wrong]


def section(
    doc: Document, settings: Settings, data: PreparedDataset, results: list[ArchResult], out: Path
) -> list[Finding]:
    """Append the S1 section (figures under ``out/figures``); returns its findings."""
    study = settings.studies["architectures"]
    fig_dir = out / "figures"
    n_test, classes = len(data.test.y), len(data.classes)
    matrix, comparisons = _better_matrix(results)
    findings = claims(results, comparisons, classes, n_test)
    doc.add(
        Heading("S1 Architectures"),
        Paragraph(
            f"{len(results)} architectures trained on `{study.dataset}` with {study.train.optimizer} "
            f"(lr {study.train.lr:g}), batch {study.train.batch_size}, "
            f"{_epochs_phrase(sorted({study.train_for(r.arch).epochs for r in results}))}, "
            f"{len(study.train.seeds)} seeds each. Every choice (architecture, the seed whose weights are "
            "shown) is made on validation accuracy; test accuracy only reports the chosen one."
        ),
        *[Paragraph(f"**{f.question}** {f.claim.sentence()}") for f in findings],
        _table(results, study, n_test),
        Paragraph(
            f"**Verdict rule** (from the final eval-mode accuracies, means over seeds): *underfitting* when "
            f"train accuracy < {study.underfit_train_acc:g}; otherwise *overfitting* when train − val "
            f"accuracy > {study.overfit_gap:g}; otherwise *generalizing*."
        ),
        Figure(
            forest(results, study.dataset, n_test, fig_dir / "architectures_forest.png").relative_to(out),
            "Test accuracy per architecture: the seed interval over the test-set sampling interval; gray: the "
            "published range for this dataset (studies.md), dotted: the exercise's bar.",
        ),
        Heading("Is A better than B?", level=3),
        matrix,
    )
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
            "Comparison panel: training loss; train and validation accuracy, both in eval mode at every log step "
            "(train on a fixed subset of training images; the running train-mode mean is recorded beside it as "
            "`train_acc`, not drawn); test vs final train accuracy; validation vs train accuracy along training.",
        ),
        *curve_charts(results, panel.relative_to(out)),
    )

    doc.add(
        Heading("First-layer weights", level=3),
        Paragraph(
            f"Weights of the first layer of each architecture's seed with the highest validation accuracy beside "
            f"the same units at initialisation (rebuilt: `torch.manual_seed(seed)`, then the model, as training "
            f"did), the first {WEIGHT_TILES} units or filters, one tile each (MLP units reshaped to the image size; "
            "one gray scale per figure, symmetric around 0, with its colour bar; colour for RGB inputs)."
        ),
    )
    for r in results:
        weights = load_torch(train_dir(r.arch) / "weights.pt")
        seed = r.chosen_seed
        model = build_model(r.arch, data.image_shape, classes)
        model.load_state_dict(weights[seed])
        trained, init = first_layer_weight(model), initial_first_layer(r.arch, data.image_shape, classes, seed)
        path = figures.weight_pair_grid(
            init,
            trained,
            data.image_shape,
            fig_dir / f"weights_{r.arch}.png",
            f"{r.arch}: first layer, seed {seed} (best validation accuracy)",
            WEIGHT_TILES,
        )
        doc.add(Figure(path.relative_to(out), weights_caption(r.arch, seed, init, trained)))

    best = max(results, key=_rank_key)
    seed = best.chosen_seed
    confusion, wrong = chosen_predictions(best, data, study.train.eval_batch_size)
    doc.add(
        Heading("Errors of the chosen architecture", level=3),
        Paragraph(
            f"Chosen on mean validation accuracy: **{best.arch}** ({pct(best.val_mean)} validation, test "
            f"{best.accuracy(n_test).fmt()}); confusion matrix and misclassified test images of its seed with "
            f"the highest validation accuracy ({seed})."
        ),
    )
    names = best.evaluation["classes"]
    path = figures.confusion_matrix(
        confusion, names, fig_dir / "confusion_best.png", f"{best.arch} (seed {seed}): test confusion matrix"
    )
    doc.add(Figure(path.relative_to(out), f"Confusion matrix of {best.arch}, seed {seed} (rows: true class)."))
    wrong = wrong[: study.misclassified_shown]
    if wrong:
        idx = [w["index"] for w in wrong]
        path = figures.misclassified_grid(
            data.test.x[idx],
            [w["true"] for w in wrong],
            [w["pred"] for w in wrong],
            names,
            fig_dir / "misclassified_best.png",
            f"{best.arch} (seed {seed}): first misclassified test images",
        )
        doc.add(Figure(path.relative_to(out), "Misclassified test images, titled true → predicted class."))
    return findings


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
            "val_selected_seed": r.chosen_seed if r.test.n else None,
            "val_selected_test_acc": _rounded(r.seed_test(r.chosen_seed)) if r.test.n else None,
            "best_test_seed": r.best_test[0] if r.best_test else None,
            "best_test_acc": _rounded(r.best_test[1]) if r.best_test else None,
            "val_loss": _rounded(r.val_loss_last),
        }
        for r in results
    }


CHARTED = {
    "val_acc": "validation accuracy",
    "train_acc_eval": "training accuracy (eval mode, fixed subset)",
    "train_loss": "training loss",
}


def curve_charts(results: list[ArchResult], fallback: Path) -> list[Chart]:
    """The panel's curves to explore in the HTML: every seed of every architecture, values on hover."""
    return interactive.curve_charts(
        {r.arch: r.curves for r in results},
        x="step",
        series="arch",
        panels=[Panel(metric, name) for metric, name in CHARTED.items()],
        study="S1",
        fallback=fallback,
        caption="S1 {name} at every log step, per seed (thin) and mean (thick), by architecture.",
    )


def write_plot_data(results: list[ArchResult], out: Path) -> None:
    """Wide TSVs (step, one column per architecture) for the top-level `plots:` of dvc.yaml."""
    for metric in CURVE_METRICS:
        columns = {r.arch: r.curves.groupby("step")[metric].mean() for r in results if not r.curves.empty}
        frame = pd.DataFrame(columns).rename_axis("step").reset_index()
        write_tsv(out / f"{metric}.tsv", frame)


def build(settings: Settings, out: Path) -> StudySection:
    """The S1 section: findings, results table, tests, figures; settings and per-layer tables in the appendix."""
    study = settings.studies["architectures"]
    data = load_prepared(prepared_dir(study.dataset))
    results = load_results(study.archs)
    doc = Document("")
    findings = section(doc, settings, data, results, out)
    checks, check_metrics = worked_checks.section(len(data.train.y), study.train.batch_size, results[0].epochs, out)
    doc.add(*checks)
    _, comparisons = _better_matrix(results)
    doc.add(*questions_block(questions(results, findings, comparisons, study, data, len(data.test.y))))
    appendix = Document("")
    appendix.add(run_settings(settings, load_meta(prepared_dir(study.dataset)), results), _split_table(results, study))
    architecture_tables(appendix, results, data.image_shape, len(data.classes))
    write_plot_data(results, out / "plots")
    seconds = {f"train@{r.arch}": r.wall_seconds for r in results}
    seconds |= {f"evaluate@{r.arch}": float(r.evaluation.get("wall_seconds", 0.0)) for r in results}
    return StudySection(
        "architectures",
        doc.blocks,
        metrics(results),
        seconds,
        [study.dataset],
        findings,
        appendix.blocks,
        other_metrics={"worked_checks": check_metrics},
    )
