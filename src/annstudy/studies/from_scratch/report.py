"""The S7 section of the report: NumPy MLP and conv2d from scratch, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from annstudy.data.prepared import load_meta
from annstudy.data.registry import prepared_dir
from annstudy.params import Settings
from annstudy.records import read_record
from annstudy.report.claims import Arm, Claim, accuracy_bar, against
from annstudy.report.document import Figure, Heading, Paragraph, Table
from annstudy.report.figures import save_figure, seed_band
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, Summary, summarize
from annstudy.studies.from_scratch.config import FromScratchSettings
from annstudy.studies.from_scratch.run import conv2d_dir, mlp_dir

ACC_BAR = 0.77  # the exercise's bar for the NumPy MLP on fashion_mnist (studies.md S7)
GRAD_TOL = 1e-6  # float64 NumPy-vs-autograd tolerance
CONV_TOL = 1e-5  # float32 NumPy-vs-F.conv2d tolerance
SPLIT_COLORS = {"train": "#1f77b4", "val": "#ff7f0e"}  # colour = split, line style = implementation
IMPL_STYLES = {"numpy": "-", "torch": ":"}
IMPL_NAMES = {"numpy": "NumPy (scratch/mlp.py)", "torch": "PyTorch twin (autograd + SGD)"}


def curves_figure(curves: pd.DataFrame, path: Path, title: str) -> Path:
    """Loss and accuracy along training: colour = train/val, line style = NumPy (solid) / PyTorch (dotted)."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 4.8))
    for impl, frame in curves.groupby("impl", sort=False):
        for split, color in SPLIT_COLORS.items():
            label = f"{IMPL_NAMES[impl]}: {split}"
            seed_band(ax_loss, frame, "epoch", f"{split}_loss", color, label, IMPL_STYLES[impl])
            seed_band(ax_acc, frame, "epoch", f"{split}_acc", color, None, IMPL_STYLES[impl])
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy (nats)", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (fraction correct)", title="Accuracy")
    ax_acc.axhline(ACC_BAR, color="gray", lw=1, ls=":")
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title, fontsize=12)
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    return save_figure(fig, path)


def feature_map_figure(images: np.ndarray, maps: np.ndarray, kernels: list[str], labels: list[str], path: Path) -> Path:
    """Rows: images; first column the input, then one column per kernel (shared scale per column)."""
    n, k = maps.shape[:2]
    fig, axes = plt.subplots(n, k + 1, figsize=(1.45 * (k + 1), 1.5 * n + 0.6), squeeze=False)
    for col in range(k + 1):
        column = images if col == 0 else maps[:, col - 1]
        lo, hi = float(column.min()), float(column.max())
        for row in range(n):
            ax = axes[row, col]
            ax.imshow(column[row], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title("input" if col == 0 else kernels[col - 1], fontsize=9)
            if col == 0:
                ax.set_ylabel(labels[row], fontsize=8)
    fig.suptitle("S7 conv2d feature maps (NumPy): rows = test images, columns = kernels", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _impl_summary(runs: pd.DataFrame, impl: str) -> Summary:
    healthy = runs[(runs["impl"] == impl) & ~runs["diverged"]]
    return summarize(healthy["test_acc"])


def _kernel_text(kernel: np.ndarray) -> str:
    return " / ".join(" ".join(f"{v:g}" for v in row) for row in kernel)


def mlp_blocks(results: dict, curves: pd.DataFrame, out: Path) -> tuple[list, dict]:
    runs = pd.DataFrame(results["runs"])
    rows, summaries = [], {}
    for impl in ("numpy", "torch"):
        s = summaries[impl] = _impl_summary(runs, impl)
        mine = runs[runs["impl"] == impl]
        rows.append(
            [
                IMPL_NAMES[impl],
                s.fmt(),
                s.fmt_ci(),
                f"{mine['train_seconds'].mean():.1f}",
                f"{len(mine)} ({int(mine['diverged'].sum())} diverged)",
            ]
        )
    np_acc = summaries["numpy"]
    passed = np_acc.n > 0 and np_acc.mean >= ACC_BAR
    wide = curves.pivot_table(index=["seed", "step"], columns="impl", values="train_loss")
    gap = (wide["numpy"] - wide["torch"]).abs().groupby("step").max() if {"numpy", "torch"} <= set(wide) else None
    agree = summarize([a["test_pred_agreement"] for a in results["agreement"]])
    twin_text = (
        (
            f"The largest |NumPy − PyTorch| difference of the logged training loss is {gap.iloc[0]:.2g} at the first "
            f"log step ({int(gap.index[0])} steps) and {gap.max():.2g} over the whole run; float32 rounding differs "
            "between the two (different summation orders in the matrix products), and SGD amplifies the tiny "
            f"differences step after step. On the test set the two predict the same class for {agree.mean:.2%} of "
            "the images (mean over seeds)."
        )
        if gap is not None and len(gap)
        else "No curve to compare."
    )
    title = f"S7 NumPy MLP vs its PyTorch twin: mean over {runs['seed'].nunique()} seeds, band ±1 std"
    path = curves_figure(curves, out / "figures" / "from_scratch_mlp_curves.png", title)
    blocks = [
        Heading("NumPy MLP vs the PyTorch MLP of the same shape", level=3),
        Paragraph(
            f"Both start from the same weights (0.01·randn, zero biases, drawn with NumPy from the seed), take the "
            f"same mini-batches in the same order and the same learning rate; trained on the first "
            f"{results['train_images']:,} training images, tested on the full test split. "
            f"Exercise bar: NumPy MLP test accuracy ≥ {ACC_BAR:g} — "
            f"**{'met' if passed else 'not met'}** ({np_acc.fmt()})."
        ),
        Table(
            ["implementation", "test acc (mean ± std)", "95 % CI", "train time / seed (s)", "seeds"],
            rows,
            caption="Accuracy after the last step; train time includes the validation passes at log steps.",
        ),
        Paragraph(twin_text),
        Figure(
            path.relative_to(out),
            "Loss and accuracy along training: train (mean over the batches since the "
            "previous point, weights changing) and validation (whole split); colour = split, solid = NumPy, "
            "dotted = PyTorch twin (hidden under the solid line wherever the two agree)."
            " Gray dotted line: the 0.77 bar.",
        ),
    ]
    return blocks, summaries


def grad_blocks(check: dict) -> list:
    initial = check["initial"]["params"]
    trained = check.get("trained", {}).get("params", {})  # absent when training diverged
    na = {"max_abs_diff": float("nan"), "max_abs_grad": float("nan")}
    rows = [
        [
            name,
            f"{initial[name]['max_abs_diff']:.2e}",
            f"{trained.get(name, na)['max_abs_diff']:.2e}",
            f"{trained.get(name, na)['max_abs_grad']:.2e}",
        ]
        for name in initial
    ]
    ok = check["max_abs_diff"] <= GRAD_TOL
    return [
        Heading("Gradient check", level=3),
        Paragraph(
            f"The hand-derived backward pass (`annstudy/scratch/mlp.py`) against torch autograd, in "
            f"{check['dtype']}, on the same weights and the same batch of {check['batch']} training images "
            f"(seed {check['seed']}), at the initial and at the trained weights. Largest absolute difference: "
            f"**{check['max_abs_diff']:.2e}** ({'≤' if ok else '>'} {GRAD_TOL:g}: "
            f"{'the gradients agree' if ok else 'the check FAILS'})."
        ),
        Table(
            ["parameter", "max |Δ| initial", "max |Δ| trained", "max |grad| trained"],
            rows,
            caption="Δ = NumPy gradient − autograd gradient, elementwise.",
        ),
    ]


def conv_blocks(check: dict, out: Path) -> list:
    src = conv2d_dir()
    images, kernels, maps = (np.load(src / f"{name}.npy") for name in ("images", "kernels", "maps"))
    cases = [check["kernel_bank"], *check["random_cases"]]
    rows = [
        [
            "kernel bank on test images" if i == 0 else "random",
            "x".join(map(str, c["x"])),
            "x".join(map(str, c["w"])),
            f"{c['max_abs_diff']:.2e}",
        ]
        for i, c in enumerate(cases)
    ]
    ok = check["max_abs_diff"] <= CONV_TOL
    path = feature_map_figure(
        images, maps, check["kernels"], check["labels"], out / "figures" / "from_scratch_feature_maps.png"
    )
    return [
        Heading("conv2d forward pass", level=3),
        Paragraph(
            f"`annstudy/scratch/conv2d.py` (sliding windows + one tensordot, i.e. im2col) against "
            f"`torch.nn.functional.conv2d`, no padding, stride 1, {check['dtype']}. Largest absolute difference "
            f"over all cases: **{check['max_abs_diff']:.2e}** ({'≤' if ok else '>'} {CONV_TOL:g})."
        ),
        Table(["case", "input N×C×H×W", "kernels O×C×kh×kw", "max |NumPy − torch|"], rows),
        Table(
            ["kernel", "3×3 weights (rows separated by /)"],
            [[name, _kernel_text(k)] for name, k in zip(check["kernels"], kernels)],
            caption="The fixed kernel bank (annstudy/scratch/conv2d.py KERNELS).",
        ),
        Figure(
            path.relative_to(out),
            "Feature maps of the NumPy conv2d: one row per test image (the first test "
            "image of each class), the input then one column per kernel; gray scale shared within a column.",
        ),
        Paragraph(
            "**Reading the figure.** A column applies *one* kernel, i.e. one fixed local rule, to every image, so a "
            "column looks alike across images: sobel_x lights up vertical edges (signed: dark→bright left to right "
            "is bright, the opposite is dark), sobel_y horizontal edges, laplacian outlines every contour and is "
            "zero on flat regions, the blur softens, sharpen boosts local contrast — whatever the garment. A row "
            "shows *one* image through different kernels, so it differs across kernels: each kernel keeps a "
            "different part of the same image (edges of one orientation, outlines, smooth shape). The maps are "
            f"{maps.shape[2]}×{maps.shape[3]}: a 3×3 kernel without padding loses one pixel on every border. "
            "A convolutional layer learns such kernels instead of having them chosen by hand."
        ),
    ]


def feature_map_questions(conv: dict) -> list:
    """studies.md's S7 question on the feature maps: conceptual, answered short, with the run's kernels named."""
    kernels = ", ".join(conv["kernels"])
    answer = (
        f"A column is one kernel ({kernels}) slid over every image: the same weights at every position and "
        "in every image, so each column shows the same kind of feature (edges of one orientation, outlines, a "
        "smoothed copy) whatever the garment. A row is one image seen through different kernels, so each map "
        "keeps a different feature of it. A convolutional layer is such a bank of shared local detectors, one "
        "feature map per kernel; it learns the kernels from data instead of having them chosen by hand."
    )
    question = (
        "Why do the maps in one kernel's column look alike across images, those in one image's row not, "
        "and what does that say about convolutional layers?"
    )
    return questions_block([(question, answer, None)])


def _metric(s: Summary) -> dict:
    healthy = s.n > 0
    return {
        "test_acc": round(s.mean, 5) if healthy else None,
        "test_acc_std": round(s.std, 5) if healthy else None,
        "seeds": s.n,
        "diverged": not healthy,
    }


def build(settings: Settings, out: Path) -> StudySection:
    """The S7 section: MLP side by side with PyTorch, gradient check, conv2d check and feature maps."""
    study = settings.studies["from_scratch"]
    mlp_record = read_record(mlp_dir())  # a clear error when a stage has not run
    results, conv = mlp_record.summary, read_record(conv2d_dir()).summary
    mlp, summaries = mlp_blocks(results, mlp_record.table("curves"), out)
    blocks = [
        Heading("S7 From scratch"),
        Paragraph(
            f"A one-hidden-layer MLP ({study.hidden} ReLU units, softmax, cross-entropy, mini-batch gradient "
            f"descent) and a conv2d forward pass written in NumPy (`src/annstudy/scratch/`, no torch inside), "
            f"each checked against PyTorch, on `{study.dataset}` (inputs in [−1, 1] flattened to 784 features; "
            f"validation = the prepared val split). Device of the PyTorch twin: {results['device']}."
        ),
        *mlp,
        *grad_blocks(results["grad_check"]),
        *conv_blocks(conv, out),
    ]
    metrics = {
        "numpy_mlp": _metric(summaries["numpy"]),
        "torch_mlp": _metric(summaries["torch"]),
        "grad_check": {"max_abs_diff": results["grad_check"]["max_abs_diff"]},
        "conv2d": {"max_abs_diff": conv["max_abs_diff"]},
    }
    seconds = {"from_scratch_mlp": float(results["wall_seconds"]), "from_scratch_conv2d": float(conv["wall_seconds"])}
    found = findings(study, results, conv)
    blocks[2:2] = [Paragraph(f"**{f.question}** {f.claim.sentence()}") for f in found]
    blocks += feature_map_questions(conv)
    return StudySection("from_scratch", blocks, metrics, seconds, [study.dataset], found, [settings_table(study)])


def _exact(statement: str, value: float, tol: float, what: str) -> Claim:
    """A numerical check: supported when the largest difference is within ``tol`` (a one-arm rule of claims.py)."""
    arm = Arm(what, (value,), "—")
    statistic = f"max |Δ| {value:.2e} vs tolerance {tol:g}"
    return against(statement, arm, tol, (value, value), "largest elementwise difference", statistic=statistic)


def findings(study: FromScratchSettings, results: dict, conv: dict) -> list[Finding]:
    """The exercise's bar for the NumPy MLP, and the two agreement checks against PyTorch."""
    runs = pd.DataFrame(results["runs"])
    healthy = runs[(runs["impl"] == "numpy") & ~runs["diverged"]]
    acc = Accuracy(
        tuple(float(v) for v in healthy["test_acc"]), int(load_meta(prepared_dir(study.dataset))["sizes"]["test"])
    )
    found = []
    if acc.n:
        budget = f"{study.epochs} epochs"
        claim = accuracy_bar("the NumPy MLP", acc, ACC_BAR, budget, 10, "the exercise's bar")
        found.append(Finding("Does the NumPy MLP reach the exercise's bar?", claim, acc.fmt()))
    grad = results["grad_check"]["max_abs_diff"]
    word = "agree with" if grad <= GRAD_TOL else "differ from"
    claim = _exact(f"the NumPy gradients {word} torch autograd", grad, GRAD_TOL, "gradient check")
    found.append(Finding("Are the hand-written gradients right?", claim, f"{grad:.1e}"))
    diff = conv["max_abs_diff"]
    word = "equals" if diff <= CONV_TOL else "differs from"
    claim = _exact(f"the NumPy conv2d {word} F.conv2d", diff, CONV_TOL, "conv2d check")
    found.append(Finding("Is the NumPy conv2d right?", claim, f"{diff:.1e}"))
    return found
