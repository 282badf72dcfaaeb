"""S5 report section: linear neuron, non-linear 1D fit, 2D bell with five architectures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from annstudy.artifacts import load_torch, read_json
from annstudy.data.synthetic import nonlinear_function
from annstudy.params import Settings
from annstudy.records import prepare_stage_seconds, read_record
from annstudy.report import small_figures as figs
from annstudy.report.claims import Arm, compare
from annstudy.report.document import Document, Figure, Heading, Paragraph, Table
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Summary, summarize
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


def nonlinear_block(doc: Document, study: RegressionSettings, out: Path, metrics: dict) -> None:
    r = read_record(train_dir("nonlinear")).summary
    meta = read_json(prepared_dir() / "meta.json")
    data = load_torch(prepared_dir() / "nonlinear.pt")
    fits = load_torch(train_dir("nonlinear") / "fits.pt")
    mse = summarize(_finite(r["per_seed"], "train_mse"), bounds=POSITIVE)
    ratio = mse.mean / r["target_variance"]
    synthetic = meta["nonlinear_source"] == "synthetic"
    source = (
        f"f(x) = sin(2x) + 0.3·x² − 1 on [−3, 3] plus N(0, {study.nonlinear_noise:g}²) noise, "
        f"{study.nonlinear_points} points"
        if synthetic
        else f"the user's {meta['nonlinear_source']}"
    )
    verdict = "below" if ratio < 0.1 else "**not** below"
    doc.add(
        Heading("1D non-linear: a small MLP", level=3),
        Paragraph(
            f"Data: {source}. MLP {r['architecture']} (ReLU), {study.optimizer} lr {study.nonlinear_lr:g}, "
            f"{'full batch' if study.nonlinear_batch_size == 0 else f'batch {study.nonlinear_batch_size}'}, "
            f"{study.nonlinear_epochs} epochs, on standardised x and y. Final training MSE "
            f"{_sci(mse)} (95 % CI {_ci(mse)}) = {ratio:.3f} × the target variance "
            f"({r['target_variance']:.3g}): {verdict} the studies.md goal of 0.1."
        ),
    )
    grid, pred = fits["grid"].numpy(), fits["pred"].numpy()
    lines = [(grid, pred.mean(0), f"MLP (mean of {len(pred)} seeds)", "-")]
    if synthetic:
        lines.append((grid, nonlinear_function(grid), "f(x) (noise-free)", "--"))
    path = figs.fit_1d(
        data["x"].numpy()[:, 0],
        data["y"].numpy(),
        lines,
        out / "figures" / "regression_nonlinear_fit.png",
        "Non-linear 1D regression: data and fit",
    )
    doc.add(Figure(path.relative_to(out), "Data, the noise-free function and the MLP fit."))
    metrics["nonlinear"] = {
        "train_mse_mean": round(mse.mean, 6),
        "train_mse_over_variance": round(ratio, 5),
        "source": "synthetic" if synthetic else "csv",
    }


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


def _choice(summary: pd.DataFrame, small_archs: list[str], noise_var: float) -> str:
    """Which of the smallest / largest network to use with little data, from the measured test MSE."""
    small = summary[summary["data"] == "small"].set_index("arch")
    if len(small) < 2:
        return "Only one network was trained on the small set; no choice to make."
    lo, hi = small_archs
    a, b = small.loc[lo, "test"], small.loc[hi, "test"]
    better, worse = (lo, hi) if a.mean < b.mean else (hi, lo)
    separated = a.ci_high < b.ci_low or b.ci_high < a.ci_low
    strength = (
        "the 95 % intervals do not overlap" if separated else "but the 95 % intervals overlap, so this is not settled"
    )
    return (
        f"**Choice with {int(small['n_train'].iloc[0])} points: {better}**, the lower test MSE "
        f"({_sci(small.loc[better, 'test'])} against {_sci(small.loc[worse, 'test'])} for {worse}; {strength}). "
        f"Why: {_fit_phrase(lo, small.loc[lo], noise_var)}; {_fit_phrase(hi, small.loc[hi], noise_var)}. "
        "What matters for new points is the test error, not the training error, and here it favours "
        f"{better}."
    )


def bell_findings(summary: pd.DataFrame, small_archs: list[str], noise_var: float) -> list[Finding]:
    """Best bell network on the 10,000 test points (the true function known), and the small-data choice."""
    found = []
    for data, question in (
        ("full", "Which bell network fits best (test MSE, the function known)?"),
        ("small", "With the small training set: the smallest or the largest network?"),
    ):
        rows = summary[summary["data"] == data]
        if data == "small":
            rows = rows[rows["arch"].isin(small_archs)]
        if len(rows) < 2:
            continue
        ranked = rows.sort_values("test", key=lambda col: [s.mean for s in col])
        best, second = ranked.iloc[0], ranked.iloc[1]
        budget = f"{int(best['epochs'])} epochs"
        claim = compare(
            f"{best['arch']} has the lowest test MSE, ahead of {second['arch']} (noise floor {noise_var:.2g})",
            Arm(best["arch"], best["test_values"], budget),
            Arm(second["arch"], second["test_values"], f"{int(second['epochs'])} epochs"),
            unit="MSE",
        )
        found.append(Finding(question, claim, f"{best['test'].mean:.3g} vs {second['test'].mean:.3g}"))
    return found


def bell_block(doc: Document, study: RegressionSettings, out: Path, metrics: dict) -> list[Finding]:
    r = read_record(train_dir("bell")).summary
    data = load_torch(prepared_dir() / "bell.pt")
    fits = load_torch(train_dir("bell") / "fits.pt")
    summary = _bell_summary(pd.DataFrame(r["per_seed"]))
    full = summary[summary["data"] == "full"]
    n_seeds = len(study.seeds)
    doc.add(
        Heading("2D bell: five architectures", level=3),
        Paragraph(
            f"y = exp(−|x|²/4) + N(0, {study.bell_noise:g}²), x ~ U([−5, 5]²); {study.bell_train:,} training "
            f"and {study.bell_test:,} test points (noise variance {study.bell_noise**2:.2g} is the floor of "
            f"the test MSE). Adam, batch {study.bell_batch_size or 'full'}, {study.bell_epochs} epochs, "
            f"{n_seeds} seeds; MSE mean ± std (95 % t-CI of the test MSE)."
        ),
        Table(
            ["architecture", "parameters", "lr", "final training MSE", "test MSE", "test MSE 95 % CI"],
            [
                [row.arch, f"{row.params:,}", f"{row.lr:g}", _sci(row.train), _sci(row.test), _ci(row.test)]
                for row in full.itertuples()
            ],
            caption="2D bell, 1,000 training points.",
        ),
    )
    axis, x, y = fits["axis"].numpy(), data["x"].numpy(), data["y"].numpy()
    panels = [(f"{a} (seed {study.seeds[0]})", fits["surfaces"][f"{a}/full"][0].numpy()) for a in full["arch"]]
    path = figs.surfaces(
        axis,
        panels,
        x[::4],
        y[::4],
        out / "figures" / "regression_bell_surfaces.png",
        "2D bell: fitted surfaces (red: every 4th training point)",
    )
    doc.add(Figure(path.relative_to(out), "Fitted surface of each architecture over the training data."))
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
                    "test MSE (10,000)",
                    "test MSE 95 % CI",
                ],
                [
                    [row.arch, f"{row.params:,}", str(row.epochs), _sci(row.train), _sci(row.test), _ci(row.test)]
                    for row in small.itertuples()
                ],
            ),
            Paragraph(_choice(summary, r["small_archs"], study.bell_noise**2)),
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
            "train_mse_mean": round(row.train.mean, 6),
            "test_mse_mean": round(row.test.mean, 6),
            "test_mse_std": round(row.test.std, 6),
        }
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
    found = bell_findings(summary, r.get("small_archs", []), study.bell_noise**2)
    doc.add(*[Paragraph(f"**{f.question}** {f.claim.sentence()}") for f in found])
    doc.add(
        Paragraph(
            "**Not answered: which network the data alone would pick.** The bell stage records no validation "
            "MSE (every training point is used for fitting), so no choice can be made on held-out data; the "
            "test MSE above answers only the question where the true function is known."
        )
    )
    return found


def build(settings: Settings, out: Path) -> StudySection:
    study: RegressionSettings = settings.studies[STUDY]
    doc = Document("")
    doc.add(Heading("S5 Regression"))
    metrics: dict = {}
    linear_block(doc, study, out, metrics)
    nonlinear_block(doc, study, out, metrics)
    found = bell_block(doc, study, out, metrics)
    seconds = {f"regression_train_{p}": read_record(train_dir(p)).summary["wall_seconds"] for p in PARTS}
    seconds = prepare_stage_seconds(prepared_dir()) | seconds
    return StudySection(STUDY, doc.blocks, metrics, seconds, [], found, [settings_table(study)])
