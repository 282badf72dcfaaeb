"""The S7 section of the report: NumPy MLP and conv2d from scratch, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from annstudy.data.prepared import load_meta
from annstudy.data.registry import prepared_dir
from annstudy.params.settings import Settings
from annstudy.report.claims import Arm, Claim
from annstudy.report.comparisons import accuracy_bar, against
from annstudy.report.document import Figure, Heading, Paragraph, Table
from annstudy.report.figures import save_figure, seed_band
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Accuracy, Summary, summarize
from annstudy.report.units import percent, percent_interval
from annstudy.store.records import read_record
from annstudy.studies.from_scratch.config import FromScratchSettings
from annstudy.studies.from_scratch.run import conv2d_dir, mlp_dir

ACC_BAR = 0.77  # the exercise's bar for the NumPy MLP on fashion_mnist (studies.md S7)
GRAD_TOL = 1e-6  # float64 NumPy-vs-autograd tolerance
CONV_TOL = 1e-5  # float32 NumPy-vs-F.conv2d tolerance
SPLIT_COLORS = {"train": "#1f77b4", "val": "#ff7f0e"}  # colour = split, line style = implementation
IMPL_STYLES = {"numpy": "-", "torch": ":"}
IMPL_NAMES = {"numpy": "NumPy (scratch/mlp.py)", "torch": "PyTorch twin (autograd + SGD)"}
EPS = {"float64": float(np.finfo(np.float64).eps), "float32": float(np.finfo(np.float32).eps)}
CB = sns.color_palette("colorblind")  # colour-blind-safe: initial/trained, tolerance and ε lines


def _log_points(ax, values: list[float], y: list[float], floor: float, color, marker: str, label: str) -> None:
    """Differences on a log axis: an exact 0 cannot be drawn there, so it sits at ``floor`` as a hollow marker."""
    v = np.asarray(values, dtype=float)
    zero = v <= 0
    yy = np.asarray(y, dtype=float)
    ax.plot(v[~zero], yy[~zero], marker, color=color, ms=6, ls="", label=label)
    ax.plot(np.full(zero.sum(), floor), yy[zero], marker, mfc="none", mec=color, ms=6, ls="")


def difference_figure(grad: dict, conv_cases: list[tuple[str, float]], loss_gap: pd.Series | None, path: Path) -> Path:
    """NumPy − PyTorch, log scale: per-parameter max |Δ| of the gradients (initial and trained weights), max |Δ| of
    each conv2d case, and the |Δ| of the logged training loss along training (what SGD does with float32 rounding).

    Tolerance (dashed) and machine ε (dotted) give the scale: a difference near ε is rounding, not a bug.
    """
    panels = 3 if loss_gap is not None and len(loss_gap) else 2
    fig, axes = plt.subplots(1, panels, figsize=(3.4 * panels, 3.0))
    ax_g, ax_c = axes[0], axes[1]
    names = list(grad["initial"]["params"])
    ys = list(range(len(names)))[::-1]
    found = [grad[k]["params"][n]["max_abs_diff"] for k in ("initial", "trained") if k in grad for n in names]
    floor = min([v for v in found if v > 0] + [EPS[grad["dtype"]]]) / 10
    for i, (key, marker) in enumerate((("initial", "o"), ("trained", "s"))):
        if key in grad:
            values = [grad[key]["params"][n]["max_abs_diff"] for n in names]
            _log_points(ax_g, values, [y + 0.12 * (1 - 2 * i) for y in ys], floor, CB[i], marker, f"{key} weights")
    ax_g.axvline(GRAD_TOL, color=CB[3], ls="--", lw=1, label="tolerance")
    ax_g.axvline(EPS[grad["dtype"]], color="0.3", ls=":", lw=1, label="machine ε")
    ax_g.set_yticks(ys, names)
    ax_g.set(xscale="log", xlabel="max |NumPy − autograd|", title=f"Gradients ({grad['dtype']})")
    cases = [c[0] for c in conv_cases]
    yc = list(range(len(cases)))[::-1]
    conv_floor = EPS["float32"] / 100
    _log_points(ax_c, [c[1] for c in conv_cases], yc, conv_floor, CB[2], "D", "conv2d case (hollow: exactly 0)")
    ax_c.axvline(CONV_TOL, color=CB[3], ls="--", lw=1)
    ax_c.axvline(EPS["float32"], color="0.3", ls=":", lw=1)
    ax_c.set_yticks(yc, cases, fontsize=8)
    ax_c.set(xscale="log", xlabel="max |NumPy − F.conv2d|", title="conv2d outputs (float32)")
    ax_c.set_xlim(conv_floor / 3, CONV_TOL * 10)
    ax_c.set_ylabel("kernels O×C×kh×kw", fontsize=8)
    for ax in axes[:2]:
        ax.grid(axis="y", visible=False)
    if panels == 3:
        ax_l = axes[2]
        shown = loss_gap[loss_gap > 0]  # an exact 0 (the first log steps) has no place on a log axis
        ax_l.plot(shown.index, shown.to_numpy(), "-", color=CB[0], lw=1.4)
        ax_l.set(yscale="log", xlabel="training step", ylabel="|Δ| (nats)", title="Training loss, max over seeds")
    handles = [h for ax in axes[:2] for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.01))
    fig.suptitle("S7 NumPy − PyTorch differences (log scale)", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return save_figure(fig, path)


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


def loss_gap(curves: pd.DataFrame) -> pd.Series | None:
    """|NumPy − PyTorch| of the logged training loss per step, the largest over seeds (None without both)."""
    wide = curves.pivot_table(index=["seed", "step"], columns="impl", values="train_loss")
    return (wide["numpy"] - wide["torch"]).abs().groupby("step").max() if {"numpy", "torch"} <= set(wide) else None


def _case_name(i: int, case: dict) -> str:
    return "kernel bank" if i == 0 else "×".join(map(str, case["w"]))


def difference_blocks(grad: dict, conv: dict, curves: pd.DataFrame, out: Path) -> list:
    """The figure of every NumPy − PyTorch difference, with a caption (= alt text) that states what it shows."""
    cases = [conv["kernel_bank"], *conv["random_cases"]]
    named = [(_case_name(i, c), float(c["max_abs_diff"])) for i, c in enumerate(cases)]
    gap = loss_gap(curves)
    path = difference_figure(grad, named, gap, out / "figures" / "from_scratch_differences.png")
    g_ratio = grad["max_abs_diff"] / EPS[grad["dtype"]]
    c_ratio = conv["max_abs_diff"] / EPS["float32"]
    exact = sum(1 for _, v in named if v == 0)
    g_word = "far below" if grad["max_abs_diff"] <= GRAD_TOL else "ABOVE"
    c_ok = conv["max_abs_diff"] <= CONV_TOL
    c_word = "below" if c_ok else "ABOVE"
    text = (
        f"NumPy − PyTorch on a log scale. Gradients: the largest per-parameter difference is "
        f"{grad['max_abs_diff']:.1e} = {g_ratio:.1f}× the {grad['dtype']} ε, {g_word} the tolerance {GRAD_TOL:g} "
        f"(circles: initial weights, squares: trained). conv2d: {exact} of {len(named)} cases equal exactly "
        f"(hollow diamonds, drawn at the left edge), the largest difference {conv['max_abs_diff']:.1e} = "
        f"{c_ratio:.0f}× the float32 ε, {c_word} the tolerance {CONV_TOL:g}"
        f"{': rounding (summation order), not a bug' if c_ok else ''}. Dashed: tolerance; dotted: machine ε."
    )
    if gap is not None and len(gap):
        text += (
            f" Right: the training-loss difference is {gap.iloc[0]:.1g} at step {int(gap.index[0])} and reaches "
            f"{gap.max():.1e} nats as SGD carries the float32 rounding from step to step."
        )
    return [Figure(path.relative_to(out), text)]


def mlp_blocks(results: dict, curves: pd.DataFrame, out: Path) -> tuple[list, dict]:
    runs = pd.DataFrame(results["runs"])
    rows, summaries = [], {}
    for impl in ("numpy", "torch"):
        s = summaries[impl] = _impl_summary(runs, impl)
        mine = runs[runs["impl"] == impl]
        rows.append(
            [
                IMPL_NAMES[impl],
                f"{percent(s.mean)} ± {s.std * 100:.1f}" if s.n else "—",
                percent_interval(s.ci_low, s.ci_high) if s.n > 1 else "—",
                f"{mine['train_seconds'].mean():.1f}",
                f"{len(mine)} ({int(mine['diverged'].sum())} diverged)",
            ]
        )
    np_acc = summaries["numpy"]
    passed = np_acc.n > 0 and np_acc.mean >= ACC_BAR
    gap = loss_gap(curves)
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
            f"Exercise bar: NumPy MLP test accuracy ≥ {percent(ACC_BAR)} — "
            f"**{'met' if passed else 'not met'}** ({percent(np_acc.mean)} ± {np_acc.std * 100:.1f})."
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


def conv_blocks(check: dict, out: Path, differences: list = ()) -> list:
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
        *differences,
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
    """Test accuracy over the seeds that did not diverge (null when none did; the seeds are in the record)."""
    healthy = s.n > 0
    return {"test_acc": round(s.mean, 5) if healthy else None, "test_acc_std": round(s.std, 5) if healthy else None}


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
        *conv_blocks(conv, out, difference_blocks(results["grad_check"], conv, mlp_record.table("curves"), out)),
    ]
    metrics = {
        "n_test": int(load_meta(prepared_dir(study.dataset))["sizes"]["test"]),
        "numpy_mlp": _metric(summaries["numpy"]),
        "torch_mlp": _metric(summaries["torch"]),
        "grad_check": {"max_abs_diff": results["grad_check"]["max_abs_diff"]},
        "conv2d": {"max_abs_diff": conv["max_abs_diff"]},
    }
    seconds = {"from_scratch (mlp)": float(results["wall_seconds"])}
    seconds["from_scratch (conv2d)"] = float(conv["wall_seconds"])
    found = findings(study, results, conv)
    blocks[2:2] = [Paragraph(f"**{f.question}** {f.claim.sentence()}") for f in found]
    blocks += feature_map_questions(conv)
    return StudySection("from_scratch", blocks, metrics, seconds, [study.dataset], found, [settings_table(study)])


def _exact(statement: str, value: float, tol: float, what: str) -> Claim:
    """A numerical check: supported when the largest difference is within ``tol`` (a one-arm rule of claims.py)."""
    arm = Arm(what, (value,), "—")
    statistic = f"max |Δ| {value:.2e} vs tolerance {tol:g}"
    test = "largest elementwise difference (deterministic: no seeds)"
    return against(statement, arm, tol, (value, value), test, statistic=statistic, percent=False)


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
