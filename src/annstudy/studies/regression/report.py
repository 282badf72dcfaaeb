"""S5 report section: linear neuron, non-linear 1D fit, 2D bell with five architectures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from annstudy.data.synthetic import nonlinear_function
from annstudy.params.settings import Settings
from annstudy.report import small_figures as figs
from annstudy.report.claims import Arm, Claim, against, compare
from annstudy.report.document import Document, Figure, Heading, Paragraph, Table
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Summary, summarize
from annstudy.store.artifacts import load_torch, read_json
from annstudy.store.records import prepare_stage_seconds, read_record
from annstudy.studies.regression.config import RegressionSettings
from annstudy.studies.regression.run import PARTS, STUDY, prepared_dir, train_dir


def _finite(rows: list[dict], key: str) -> list[float]:
    return [r[key] for r in rows if r.get("diverged_step") is None and np.isfinite(r[key])]


def _sci(s: Summary) -> str:
    return f"{s.mean:.3g} ± {s.std:.2g}"


def _ci(s: Summary) -> str:
    """The t-interval (clipped at 0: an MSE is never negative); none with n <= 2, where it means nothing."""
    return f"n/a ({s.n} seed{'s' if s.n != 1 else ''})" if s.n <= 2 else f"[{s.ci_low:.3g}, {s.ci_high:.3g}]"


POSITIVE = (0.0, float("inf"))


def linear_block(doc: Document, study: RegressionSettings, out: Path, metrics: dict) -> None:
    r = read_record(train_dir("linear")).summary
    data = load_torch(prepared_dir() / "linear.pt")
    batches = read_record(train_dir("linear")).table("batches")
    rows = [[f"seed {p['seed']}", f"{p['w']:.4f}", f"{p['b']:.4f}", f"{p['train_mse']:.4f}"] for p in r["per_seed"]]
    w, b = summarize(_finite(r["per_seed"], "w")), summarize(_finite(r["per_seed"], "b"))
    rows += [
        ["mean ± std", w.fmt(), b.fmt(), summarize(_finite(r["per_seed"], "train_mse")).fmt()],
        ["least squares (same points)", f"{r['least_squares']['w']:.4f}", f"{r['least_squares']['b']:.4f}", ""],
        ["true", f"{r['true']['a']:g}", f"{r['true']['b']:g}", f"σ² = {study.linear_sigma**2:g}"],
    ]
    doc.add(
        Heading("1D linear: one linear neuron", level=3),
        Paragraph(
            f"y = {study.linear_a:g}·x + {study.linear_b:g} + N(0, {study.linear_sigma:g}²), "
            f"x ~ U(0, {study.linear_x_max:g}), {study.linear_points} points; one neuron y = w·x + b, "
            f"SGD lr {study.linear_lr:g}, batch {study.linear_batch_size}, {study.linear_epochs} epochs, "
            "MSE. The least-squares line on the same points is the best any (w, b) can reach; the "
            "gap between it and the truth is sampling noise, not training error."
        ),
        Table(["run", "w", "b", "final training MSE"], rows, caption="Learned (w, b) against the true (a, b)."),
    )
    path = figs.curves(
        batches,
        "step",
        [("batch_loss", "mini-batch cost")],
        out / "figures" / "regression_linear_cost.png",
        f"Linear neuron: cost per mini-batch (mean over {len(r['per_seed'])} seeds, ±1 std)",
        "mini-batch (step, log scale)",
        "MSE of the mini-batch",
        log=True,
        logx=True,
    )
    doc.add(Figure(path.relative_to(out), "Cost of every mini-batch during SGD."))
    x = data["x"].numpy()[:, 0]
    grid = np.linspace(0, study.linear_x_max, 50)
    lines = [
        (grid, study.linear_a * grid + study.linear_b, "true line", "--"),
        (grid, w.mean * grid + b.mean, f"fitted (mean w = {w.mean:.3f}, b = {b.mean:.3f})", "-"),
    ]
    path = figs.fit_1d(
        x,
        data["y"].numpy(),
        lines,
        out / "figures" / "regression_linear_fit.png",
        "Linear neuron: data and fitted line",
    )
    doc.add(Figure(path.relative_to(out), "Data and the fitted line."))
    metrics["linear"] = {
        "w_mean": round(w.mean, 5),
        "b_mean": round(b.mean, 5),
        "true_a": study.linear_a,
        "true_b": study.linear_b,
    }


GOAL = 0.1  # studies.md: the non-linear fit ends with a training cost below 0.1


def _seed_interval(values: list[float]) -> tuple[tuple[float, float], str]:
    """The 95 % t-interval of the mean with 3 or more seeds; with n <= 2 the range of the values themselves."""
    s = summarize(values, bounds=POSITIVE)
    if s.n <= 2:
        return (min(values), max(values)), f"every seed's value (n = {s.n}, no t-interval)"
    return (s.ci_low, s.ci_high), "95 % t-interval of the mean over seeds"


def nonlinear_goal(values: list[float], budget: str) -> Claim:
    """Whether the final training cost is below :data:`GOAL` given the seed spread (a one-arm claim)."""
    interval, how = _seed_interval(values)
    mean = summarize(values).mean
    verb = "below" if mean < GOAL else "not below"
    return against(
        f"the non-linear fit's final training cost is {verb} {GOAL:g}",
        Arm("non-linear MLP", tuple(values), budget),
        GOAL,
        interval,
        how,
        statistic=f"final cost {mean:.3g} vs {GOAL:g}",
    )


def nonlinear_block(doc: Document, study: RegressionSettings, out: Path, metrics: dict) -> list:
    record = read_record(train_dir("nonlinear"))
    r = record.summary
    meta = read_json(prepared_dir() / "meta.json")
    data = load_torch(prepared_dir() / "nonlinear.pt")
    fits = load_torch(train_dir("nonlinear") / "fits.pt")
    values = _finite(r["per_seed"], "train_mse")
    mse = summarize(values, bounds=POSITIVE)
    ratio = mse.mean / r["target_variance"]
    synthetic = meta["nonlinear_source"] == "synthetic"
    source = (
        f"f(x) = sin(2x) + 0.3·x² − 1 on [−3, 3] plus N(0, {study.nonlinear_noise:g}²) noise, "
        f"{study.nonlinear_points} points"
        if synthetic
        else f"the user's {meta['nonlinear_source']}"
    )
    y = data["y"].numpy()
    n = len(y)
    batch = study.nonlinear_batch_size
    per_epoch = 1 if batch <= 0 or batch >= n else -(-n // batch)
    steps = per_epoch * study.nonlinear_epochs
    how = "full batch" if per_epoch == 1 else f"mini-batches of {batch} ({batch / n:.0%} of the data, reshuffled)"
    budget = f"{study.nonlinear_epochs} epochs"
    goal = nonlinear_goal(values, budget) if values else None
    doc.add(
        Heading("1D non-linear: a small MLP", level=3),
        Paragraph(
            f"Data: {source}; y spans [{y.min():.2f}, {y.max():.2f}] (variance {r['target_variance']:.3g}), "
            f"the scale every cost below is in. MLP {r['architecture']} (ReLU), {study.nonlinear_optimizer} lr "
            f"{study.nonlinear_lr:g}, {how}, {study.nonlinear_epochs} epochs = {steps:,} steps, trained on "
            f"standardised x and y (costs converted back to y's units). **Final training cost (MSE) "
            f"{_sci(mse)}** (95 % CI {_ci(mse)}) = {ratio:.3f} × the variance of y; goal: below {GOAL:g}: "
            + (goal.sentence() if goal else "every seed diverged.")
        ),
    )
    scale = float(r.get("cost_scale", 1.0))
    batches = record.table("batches").assign(cost=lambda f: f["batch_loss"] * scale)
    epochs = record.table("epochs").assign(
        step=lambda f: f["epoch"] * per_epoch, cost=lambda f: f["train_loss"] * scale
    )
    final = ", ".join(f"seed {p['seed']}: {p['train_mse']:.4f}" for p in r["per_seed"])
    path = figs.cost_panels(
        [
            (
                f"{r['architecture']}, {study.nonlinear_optimizer} lr {study.nonlinear_lr:g}",
                [
                    (batches, "step", "cost", "mini-batch cost", "-"),
                    (epochs, "step", "cost", f"whole training set, end of epoch (final {mse.mean:.3g})", "-"),
                ],
            )
        ],
        out / "figures" / "regression_nonlinear_cost.png",
        f"Non-linear 1D fit: training cost (mean over {len(r['per_seed'])} seeds, ±1 std)",
        "SGD step (mini-batch)",
        "MSE (y units, log scale)",
        goal=(GOAL, f"goal {GOAL:g}"),
    )
    doc.add(Figure(path.relative_to(out), f"Training cost over the iterations; final cost per seed: {final}."))
    grid, pred = fits["grid"].numpy(), fits["pred"].numpy()
    lines = [(grid, pred.mean(0), f"MLP (mean of {len(pred)} seeds)", "-")]
    if synthetic:
        lines.append((grid, nonlinear_function(grid), "f(x) (noise-free)", "--"))
    path = figs.fit_1d(
        data["x"].numpy()[:, 0],
        y,
        lines,
        out / "figures" / "regression_nonlinear_fit.png",
        "Non-linear 1D regression: data and fit",
    )
    doc.add(Figure(path.relative_to(out), "Data, the noise-free function and the MLP fit."))
    metrics["nonlinear"] = {
        "final_cost": round(mse.mean, 6),
        "final_cost_max": round(max(values), 6) if values else None,
        "train_mse_over_variance": round(ratio, 5),
        "optimizer": study.nonlinear_optimizer,
        "steps": steps,
        "source": "synthetic" if synthetic else "csv",
    }
    return [goal] if goal else []


def _bell_summary(per_seed: pd.DataFrame) -> pd.DataFrame:
    ok = per_seed[per_seed["diverged_step"].isna()]
    rows = []
    for (arch, size), g in ok.groupby(["arch", "data"], sort=False):
        rows.append(
            {
                "arch": arch,
                "data": size,
                "n_train": int(g["n_train"].iloc[0]),
                "params": int(g["params"].iloc[0]),
                "lr": float(g["lr"].iloc[0]),
                "epochs": int(g["epochs"].iloc[0]),
                "train": summarize(g["train_mse"], bounds=POSITIVE),
                "test": summarize(g["test_mse"], bounds=POSITIVE),
                "test_values": tuple(float(v) for v in g["test_mse"]),
            }
        )
    return pd.DataFrame(rows)


def _fit_phrase(arch: str, row, noise_var: float) -> str:
    """Reads a training MSE against the noise variance: above it the net cannot follow the bell."""
    where = "above" if row.train.mean > noise_var else "below"
    meaning = "it underfits" if where == "above" else "it fits part of the noise"
    return f"{arch} ends with training MSE {row.train.mean:.2g}, {where} the noise variance {noise_var:.2g} ({meaning})"


def cv_per_seed(cv: list[dict]) -> dict[str, tuple[float, ...]]:
    """Per architecture: each seed's cross-validation MSE (mean over its folds; diverged folds dropped)."""
    frame = pd.DataFrame(cv)
    if frame.empty:
        return {}
    ok = frame[frame["diverged_step"].isna() & np.isfinite(frame["val_mse"])]
    means = ok.groupby(["arch", "seed"], sort=False)["val_mse"].mean()
    return {arch: tuple(float(v) for v in g) for arch, g in means.groupby(level=0, sort=False)}


@dataclass(frozen=True)
class Pick:
    """One "which network" answer: the question, the arm with the lowest mean MSE, and its claim."""

    key: str  # full_test | small_test | small_data_alone
    question: str
    best: str
    claim: Claim
    numbers: str  # "best mean vs runner-up mean"

    @property
    def finding(self) -> Finding:
        return Finding(self.question, self.claim, self.numbers)


def lowest(key: str, question: str, arms: list[Arm], what: str) -> Pick | None:
    """The arm with the lowest mean ``what`` (an MSE) against the runner-up; None with fewer than two arms."""
    ranked = sorted((a for a in arms if a.values), key=lambda a: summarize(a.values).mean)
    if len(ranked) < 2:
        return None
    best, second = ranked[:2]
    claim = compare(f"{best.label} has the lowest {what}, ahead of {second.label}", best, second, unit="MSE")
    numbers = f"{summarize(best.values).mean:.3g} vs {summarize(second.values).mean:.3g}"
    return Pick(key, question, best.label, claim, numbers)


def bell_picks(summary: pd.DataFrame, small_archs: list[str], cv: dict[str, tuple[float, ...]]) -> dict[str, Pick]:
    """The three answers, kept apart: best on 1,000 points and on the small set knowing the function (test
    MSE on 10,000 fresh points), and the small-set choice from the data alone (k-fold CV MSE)."""

    def arms(data: str, values) -> list[Arm]:
        rows = summary[summary["data"] == data]
        if data == "small":
            rows = rows[rows["arch"].isin(small_archs)]
        return [Arm(row.arch, values(row), f"{row.epochs} epochs") for row in rows.itertuples()]

    small = summary[summary["data"] == "small"]
    n_small = int(small["n_train"].iloc[0]) if len(small) else 0
    cases = [
        (
            "full_test",
            "Which bell network fits best (1,000 points; test MSE, the true function known)?",
            arms("full", lambda row: row.test_values),
            "test MSE",
        ),
        (
            "small_test",
            f"With {n_small} points, knowing the true function: the smallest or the largest network?",
            arms("small", lambda row: row.test_values),
            "test MSE on 10,000 fresh points",
        ),
        (
            "small_data_alone",
            f"With {n_small} points, from the data alone: which network would be picked?",
            arms("small", lambda row: cv.get(row.arch, ())),
            f"cross-validation MSE on the {n_small} points",
        ),
    ]
    picks = {}
    for key, question, compared, what in cases:
        if (pick := lowest(key, question, compared, what)) is not None:
            picks[key] = pick
    return picks


def _choice(picks: dict[str, Pick], summary: pd.DataFrame, small_archs: list[str], noise_var: float, folds: int) -> str:
    """The two small-data answers side by side, and why the test error favours the winner."""
    small = summary[summary["data"] == "small"].set_index("arch")
    true_fn, data_alone = picks.get("small_test"), picks.get("small_data_alone")
    if len(small) < 2 or true_fn is None:
        return "Only one network was trained on the small set; no choice to make."
    text = (
        f"**Knowing the true function: {true_fn.best}** (test MSE on 10,000 fresh points, {true_fn.numbers}; "
        f"*{true_fn.claim.status.value}*). "
    )
    if data_alone is not None:
        agree = "the same network" if data_alone.best == true_fn.best else "a different network"
        text += (
            f"**From the data alone: {data_alone.best}** ({folds}-fold cross-validation MSE on the "
            f"{int(small['n_train'].iloc[0])} points, {data_alone.numbers}; *{data_alone.claim.status.value}*): "
            f"{agree}. "
        )
    lo, hi = small_archs
    return text + f"Why: {_fit_phrase(lo, small.loc[lo], noise_var)}; {_fit_phrase(hi, small.loc[hi], noise_var)}."


def bell_cost_figure(epochs: pd.DataFrame, summary: pd.DataFrame, n_small: int, out: Path, noise: float) -> Path:
    """Training cost per epoch of every bell network, 1,000 points left and the small set right, with the noise
    floor noise² as a line: the level a perfect fit of the bell reaches on fresh data."""
    panels = []
    for data, name in (("full", "1,000 training points"), ("small", f"{n_small} training points (full batch)")):
        rows = summary[summary["data"] == data]
        series = [
            (
                epochs[(epochs["arch"] == row.arch) & (epochs["data"] == data)],
                "epoch",
                "train_loss",
                f"{row.arch}: final {row.train.mean:.2g}",
                "-",
            )
            for row in rows.itertuples()
        ]
        if series:
            panels.append((name, series))
    return figs.cost_panels(
        panels,
        out / "figures" / "regression_bell_cost.png",
        "2D bell: training cost per epoch (whole training set; mean over seeds, ±1 std)",
        "epoch",
        "training MSE (log scale)",
        goal=(noise**2, f"noise floor {noise:g}²"),
    )


def bell_truth(axis: np.ndarray) -> np.ndarray:
    """The noise-free bell exp(−|x|²/4) on the grid, laid out as run.py's surfaces (row = x₂, column = x₁)."""
    gx, gy = np.meshgrid(axis, axis, indexing="xy")
    return np.exp(-(gx**2 + gy**2) / 4.0)


def error_map_figure(axis: np.ndarray, fitted: dict[str, np.ndarray], study: RegressionSettings, out: Path) -> Figure:
    """Fitted − true for every 1,000-point network on one colour scale, beside the true surface; the caption
    names the closest and the farthest fit by their RMS error over the grid, read against the noise sd."""
    truth = bell_truth(axis)
    rms = {a: float(np.sqrt(np.mean((z - truth) ** 2))) for a, z in fitted.items()}
    panels = [(f"{a}\nRMS {rms[a]:.3f}", z) for a, z in fitted.items()]
    seed = study.seeds[0]
    path = figs.error_maps(
        axis,
        truth,
        panels,
        out / "figures" / "regression_bell_errors.png",
        f"2D bell, 1,000 points: fitted − true (seed {seed}; one colour scale)",
    )
    lo, hi = min(rms, key=rms.get), max(rms, key=rms.get)
    caption = (
        f"The true bell (left) and each network's error, fitted − true, on one symmetric colour scale (red: above "
        f"the truth, blue: below; seed {seed}). {lo} deviates least (RMS {rms[lo]:.3f} over the grid, "
        f"{rms[lo] / study.bell_noise:.1f}× the noise sd {study.bell_noise:g}), {hi} most (RMS {rms[hi]:.3f}, "
        f"{rms[hi] / study.bell_noise:.1f}× the noise sd); errors largest where the map is darkest."
    )
    return Figure(path.relative_to(out), caption)


def bell_block(doc: Document, study: RegressionSettings, out: Path, metrics: dict) -> dict[str, Pick]:
    record = read_record(train_dir("bell"))
    r = record.summary
    data = load_torch(prepared_dir() / "bell.pt")
    fits = load_torch(train_dir("bell") / "fits.pt")
    summary = _bell_summary(pd.DataFrame(r["per_seed"]))
    cv = cv_per_seed(r.get("cv", []))
    folds = r.get("cv_folds", study.bell_small_folds)
    full = summary[summary["data"] == "full"]
    n_seeds = len(study.seeds)
    doc.add(
        Heading("2D bell: five architectures", level=3),
        Paragraph(
            f"y = exp(−|x|²/4) + N(0, {study.bell_noise:g}²), x ~ U([−5, 5]²); {study.bell_train:,} training "
            f"and {study.bell_test:,} test points (noise variance {study.bell_noise**2:.2g} is the floor of "
            f"the test MSE). {study.optimizer}, batch {study.bell_batch_size or 'full'}, {study.bell_epochs} epochs, "
            f"{n_seeds} seeds; MSE mean ± std (95 % t-CI of the test MSE)."
        ),
        Table(
            ["architecture", "parameters", "lr", "final training MSE", "test MSE", "test MSE 95 % CI", "test ÷ floor"],
            [
                [
                    row.arch,
                    f"{row.params:,}",
                    f"{row.lr:g}",
                    _sci(row.train),
                    _sci(row.test),
                    _ci(row.test),
                    f"{row.test.mean / study.bell_noise**2:.1f}×",
                ]
                for row in full.itertuples()
            ],
            caption=f"2D bell, 1,000 training points. Test ÷ floor: the mean test MSE over the noise floor "
            f"{study.bell_noise:g}² = {study.bell_noise**2:.2g} (1× = a perfect fit of the noise-free bell).",
        ),
    )
    path = bell_cost_figure(record.table("epochs"), summary, r["n_small"], out, study.bell_noise)
    doc.add(
        Figure(
            path.relative_to(out),
            "Training cost of every bell network; the final cost is in the legend, the dotted line is the noise "
            f"floor {study.bell_noise:g}² = {study.bell_noise**2:.2g} that no fit of the noise-free bell goes below "
            "on fresh data (training cost under it = fitting the noise).",
        )
    )
    axis, x, y = fits["axis"].numpy(), data["x"].numpy(), data["y"].numpy()
    doc.add(error_map_figure(axis, {a: fits["surfaces"][f"{a}/full"][0].numpy() for a in full["arch"]}, study, out))
    picks = bell_picks(summary, r.get("small_archs", []), cv)
    if "full_test" in picks:
        doc.add(Paragraph(f"**{picks['full_test'].question}** {picks['full_test'].claim.sentence()}"))
    small = summary[summary["data"] == "small"]
    if len(small):
        doc.add(
            Heading(f"2D bell with {r['n_small']} training points", level=4),
            Table(
                [
                    "architecture",
                    "parameters",
                    "epochs (full batch)",
                    "final training MSE",
                    f"{folds}-fold CV MSE (the {r['n_small']} points)",
                    "test MSE (10,000)",
                    "test MSE 95 % CI",
                ],
                [
                    [
                        row.arch,
                        f"{row.params:,}",
                        str(row.epochs),
                        _sci(row.train),
                        _sci(summarize(cv[row.arch], bounds=POSITIVE)) if cv.get(row.arch) else "—",
                        _sci(row.test),
                        _ci(row.test),
                    ]
                    for row in small.itertuples()
                ],
                caption=f"Cross-validation: {folds} folds of the {r['n_small']} points, each network trained as "
                "on all of them (same epochs, full batch) on the other folds; the MSE on the held-out fold, "
                "averaged over folds per seed. It uses the training data only: the choice a practitioner can make.",
            ),
            Paragraph(_choice(picks, summary, r["small_archs"], study.bell_noise**2, folds)),
        )
        panels = [
            (f"{a}, {r['n_small']} points (seed {study.seeds[0]})", fits["surfaces"][f"{a}/small"][0].numpy())
            for a in small["arch"]
        ]
        n = r["n_small"]
        path = figs.surfaces(
            axis,
            panels,
            x[:n],
            y[:n],
            out / "figures" / "regression_bell_small.png",
            f"2D bell: the smallest and the largest network on {n} points",
        )
        doc.add(Figure(path.relative_to(out), "Surfaces fitted to the small training set (red points)."))
    for row in summary.itertuples():
        key = f"bell_{row.arch}" if row.data == "full" else f"bell_small_{row.arch}"
        metrics[key] = {
            "params": row.params,
            "lr": row.lr,
            "final_cost": round(row.train.mean, 6),
            "train_mse_mean": round(row.train.mean, 6),
            "test_mse_mean": round(row.test.mean, 6),
            "test_mse_std": round(row.test.std, 6),
        }
        if row.data == "small" and cv.get(row.arch):
            metrics[key]["cv_mse_mean"] = round(summarize(cv[row.arch]).mean, 6)
    metrics["bell_best"] = {key: pick.best for key, pick in picks.items()}
    diverged = [p for p in r["per_seed"] if p["diverged_step"] is not None]
    if diverged:
        doc.add(
            Paragraph(
                "**Diverged** (non-finite loss, excluded): "
                + ", ".join(
                    f"{p['arch']} ({p['data']}) seed {p['seed']} at step {p['diverged_step']}" for p in diverged
                )
            )
        )
    metrics["diverged"] = bool(diverged)
    return picks


def _noise_phrase(row, noise_var: float) -> str:
    """A final training MSE read against the noise floor: near it the network follows the bell, far above it cannot."""
    ratio = row.train.mean / noise_var
    meaning = "it follows the bell down to the noise" if ratio < 2 else "it does not follow the bell's shape yet"
    return f"ends at training MSE {row.train.mean:.2g} = {ratio:.1f}× the noise variance {noise_var:.2g} ({meaning})"


def questions(picks: dict[str, Pick], summary: pd.DataFrame, noise_var: float, folds: int) -> list:
    """studies.md's S5 questions, answered from the bell runs (each with its claim's status)."""
    items = []
    if (best := picks.get("full_test")) is not None:
        full = summary[summary["data"] == "full"].set_index("arch")
        row, smallest = full.loc[best.best], full.sort_values("params").iloc[0]
        why = f"{best.best}: the lowest test MSE ({best.numbers} for the runner-up); it {_noise_phrase(row, noise_var)}"
        if smallest.name != best.best:
            small_phrase = _noise_phrase(smallest, noise_var)
            why += f"; the smallest, {smallest.name} ({smallest.params:,} parameters), {small_phrase}"
        why += "."
        items.append(("Which bell network fits best, and why?", why, best.claim))
    for key, question, how in (
        (
            "small_test",
            "With 50 points, which network is best when the true function is known?",
            "test MSE on 10,000 fresh points",
        ),
        (
            "small_data_alone",
            "With 50 points, which network would the data alone pick?",
            f"{folds}-fold cross-validation MSE on the training points",
        ),
    ):
        if (pick := picks.get(key)) is not None:
            items.append((question, f"{pick.best}, by {how} ({pick.numbers}).", pick.claim))
    return questions_block(items)


def build(settings: Settings, out: Path) -> StudySection:
    study: RegressionSettings = settings.studies[STUDY]
    doc = Document("")
    doc.add(Heading("S5 Regression"))
    metrics: dict = {}
    linear_block(doc, study, out, metrics)
    goal = nonlinear_block(doc, study, out, metrics)
    picks = bell_block(doc, study, out, metrics)
    summary = _bell_summary(pd.DataFrame(read_record(train_dir("bell")).summary["per_seed"]))
    doc.add(*questions(picks, summary, study.bell_noise**2, study.bell_small_folds))
    found = [Finding("Does the non-linear SGD fit reach a cost below 0.1?", c, c.statistic) for c in goal]
    found += [pick.finding for pick in picks.values()]
    seconds = {f"regression_train_{p}": read_record(train_dir(p)).summary["wall_seconds"] for p in PARTS}
    seconds = prepare_stage_seconds(prepared_dir()) | seconds
    return StudySection(STUDY, doc.blocks, metrics, seconds, [], found, [settings_table(study)])
