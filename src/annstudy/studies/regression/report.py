"""S5 report section: linear neuron, non-linear 1D fit, 2D bell with five architectures.

The section's layout only: results.py reads the records, claims.py decides what they support and
figures.py draws them; here the three parts are put in order with their tables and the questions.
"""

from __future__ import annotations

from pathlib import Path

from annstudy.params.settings import Settings
from annstudy.report.document import Heading, Paragraph, Table
from annstudy.report.section import Finding, StudySection, settings_table
from annstudy.report.stats import Summary, summarize
from annstudy.studies.regression.claims import GOAL, Pick, bell_picks, choice, nonlinear_goal, questions
from annstudy.studies.regression.config import RegressionSettings
from annstudy.studies.regression.figures import (
    bell_cost_figure,
    error_map_figure,
    linear_figures,
    nonlinear_cost_figure,
    nonlinear_fit_figure,
    small_surfaces_figure,
)
from annstudy.studies.regression.results import (
    POSITIVE,
    BellRun,
    LinearRun,
    NonlinearRun,
    finite,
    linear_metrics,
    load_bell,
    load_linear,
    load_nonlinear,
    nonlinear_metrics,
    stage_seconds,
    steps_per_epoch,
)
from annstudy.studies.regression.run import STUDY


def _sci(s: Summary) -> str:
    """A mean ± std of MSEs with three significant digits (they span orders of magnitude)."""
    return f"{s.mean:.3g} ± {s.std:.2g}"


def _ci(s: Summary) -> str:
    """The t-interval (clipped at 0: an MSE is never negative); none with n <= 2, where it means nothing."""
    return f"n/a ({s.n} seed{'s' if s.n != 1 else ''})" if s.n <= 2 else f"[{s.ci_low:.3g}, {s.ci_high:.3g}]"


def linear_blocks(run: LinearRun, study: RegressionSettings, out: Path) -> list:
    """The linear neuron: the setup, learned (w, b) per seed against least squares and the truth, two figures."""
    r = run.summary
    rows = [[f"seed {p['seed']}", f"{p['w']:.4f}", f"{p['b']:.4f}", f"{p['train_mse']:.4f}"] for p in r["per_seed"]]
    rows += [
        ["mean ± std", run.w.fmt(), run.b.fmt(), summarize(finite(r["per_seed"], "train_mse")).fmt()],
        ["least squares (same points)", f"{r['least_squares']['w']:.4f}", f"{r['least_squares']['b']:.4f}", ""],
        ["true", f"{r['true']['a']:g}", f"{r['true']['b']:g}", f"σ² = {study.linear_sigma**2:g}"],
    ]
    return [
        Heading("1D linear: one linear neuron", level=3),
        Paragraph(
            f"y = {study.linear_a:g}·x + {study.linear_b:g} + N(0, {study.linear_sigma:g}²), "
            f"x ~ U(0, {study.linear_x_max:g}), {study.linear_points} points; one neuron y = w·x + b, "
            f"SGD lr {study.linear_lr:g}, batch {study.linear_batch_size}, {study.linear_epochs} epochs, "
            "MSE. The least-squares line on the same points is the best any (w, b) can reach; the "
            "gap between it and the truth is sampling noise, not training error."
        ),
        Table(["run", "w", "b", "final training MSE"], rows, caption="Learned (w, b) against the true (a, b)."),
        *linear_figures(run, study, out),
    ]


def nonlinear_blocks(run: NonlinearRun, study: RegressionSettings, out: Path, per_epoch: int, goal) -> list:
    """The non-linear fit: data, training setup, the final cost against the goal, its two figures."""
    r, mse, n, batch = run.summary, run.mse, len(run.y), study.nonlinear_batch_size
    source = (
        f"f(x) = sin(2x) + 0.3·x² − 1 on [−3, 3] plus N(0, {study.nonlinear_noise:g}²) noise, "
        f"{study.nonlinear_points} points"
        if run.synthetic
        else f"the user's {run.source}"
    )
    steps = per_epoch * study.nonlinear_epochs
    how = "full batch" if per_epoch == 1 else f"mini-batches of {batch} ({batch / n:.0%} of the data, reshuffled)"
    return [
        Heading("1D non-linear: a small MLP", level=3),
        Paragraph(
            f"Data: {source}; y spans [{run.y.min():.2f}, {run.y.max():.2f}] (variance {r['target_variance']:.3g}), "
            f"the scale every cost below is in. MLP {r['architecture']} (ReLU), {study.nonlinear_optimizer} lr "
            f"{study.nonlinear_lr:g}, {how}, {study.nonlinear_epochs} epochs = {steps:,} steps, trained on "
            f"standardised x and y (costs converted back to y's units). **Final training cost (MSE) "
            f"{_sci(mse)}** (95 % CI {_ci(mse)}) = {run.ratio:.3f} × the variance of y; goal: below {GOAL:g}: "
            + (goal.sentence() if goal else "every seed diverged.")
        ),
        nonlinear_cost_figure(run, study, per_epoch, out),
        nonlinear_fit_figure(run, out),
    ]


def _full_table(run: BellRun, study: RegressionSettings) -> Table:
    """The 1,000-point networks: training and test MSE, and test MSE over the noise floor."""
    noise_var = study.bell_noise**2
    return Table(
        ["architecture", "parameters", "lr", "final training MSE", "test MSE", "test MSE 95 % CI", "test ÷ floor"],
        [
            [
                row.arch,
                f"{row.params:,}",
                f"{row.lr:g}",
                _sci(row.train),
                _sci(row.test),
                _ci(row.test),
                f"{row.test.mean / noise_var:.1f}×",
            ]
            for row in run.full.itertuples()
        ],
        caption=f"2D bell, 1,000 training points. Test ÷ floor: the mean test MSE over the noise floor "
        f"{study.bell_noise:g}² = {noise_var:.2g} (1× = a perfect fit of the noise-free bell).",
    )


def _small_table(run: BellRun) -> Table:
    """The small-set networks: training, cross-validation and test MSE side by side."""
    n_small, folds, cv = run.summary["n_small"], run.folds, run.cv
    return Table(
        [
            "architecture",
            "parameters",
            "epochs (full batch)",
            "final training MSE",
            f"{folds}-fold CV MSE (the {n_small} points)",
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
            for row in run.small.itertuples()
        ],
        caption=f"Cross-validation: {folds} folds of the {n_small} points, each network trained as "
        "on all of them (same epochs, full batch) on the other folds; the MSE on the held-out fold, "
        "averaged over folds per seed. It uses the training data only: the choice a practitioner can make.",
    )


def _bell_intro(study: RegressionSettings) -> Paragraph:
    """The bell's data and training setup, and the noise floor every test MSE is read against."""
    return Paragraph(
        f"y = exp(−|x|²/4) + N(0, {study.bell_noise:g}²), x ~ U([−5, 5]²); {study.bell_train:,} training "
        f"and {study.bell_test:,} test points (noise variance {study.bell_noise**2:.2g} is the floor of "
        f"the test MSE). {study.optimizer}, batch {study.bell_batch_size or 'full'}, {study.bell_epochs} epochs, "
        f"{len(study.seeds)} seeds; MSE mean ± std (95 % t-CI of the test MSE)."
    )


def _small_blocks(run: BellRun, picks: dict[str, Pick], study: RegressionSettings, out: Path) -> list:
    """The small training set: its table with cross-validation, the two answers side by side, its surfaces."""
    if not len(run.small):
        return []
    answer = choice(picks, run.table, run.summary["small_archs"], study.bell_noise**2, run.folds)
    return [
        Heading(f"2D bell with {run.summary['n_small']} training points", level=4),
        _small_table(run),
        Paragraph(answer),
        small_surfaces_figure(run, study, out),
    ]


def _diverged_blocks(run: BellRun) -> list:
    """Which bell seeds diverged (their non-finite loss keeps them out of every summary)."""
    if not run.diverged:
        return []
    where = ", ".join(f"{p['arch']} ({p['data']}) seed {p['seed']} at step {p['diverged_step']}" for p in run.diverged)
    return [Paragraph("**Diverged** (non-finite loss, excluded): " + where)]


def bell_blocks(run: BellRun, picks: dict[str, Pick], study: RegressionSettings, out: Path) -> list:
    """The bell networks: 1,000-point table and figures, the best network, then the small training set."""
    fitted = {a: run.surfaces[f"{a}/full"][0].numpy() for a in run.full["arch"]}
    blocks = [
        Heading("2D bell: five architectures", level=3),
        _bell_intro(study),
        _full_table(run, study),
        bell_cost_figure(run.epochs, run.table, run.summary["n_small"], out, study.bell_noise),
        error_map_figure(run.axis, fitted, study, out),
    ]
    if "full_test" in picks:
        blocks.append(Paragraph(f"**{picks['full_test'].question}** {picks['full_test'].claim.sentence()}"))
    return blocks + _small_blocks(run, picks, study, out) + _diverged_blocks(run)


def build(settings: Settings, out: Path) -> StudySection:
    """The S5 section (the registry's entry): linear neuron, non-linear fit, bell networks, questions."""
    study: RegressionSettings = settings.studies[STUDY]
    linear, nonlinear, bell = load_linear(), load_nonlinear(), load_bell(study)
    per_epoch = steps_per_epoch(len(nonlinear.y), study.nonlinear_batch_size)
    goal = nonlinear_goal(nonlinear.values, f"{study.nonlinear_epochs} epochs") if nonlinear.values else None
    picks = bell_picks(bell.table, bell.summary.get("small_archs", []), bell.cv)
    blocks = [
        Heading("S5 Regression"),
        *linear_blocks(linear, study, out),
        *nonlinear_blocks(nonlinear, study, out, per_epoch, goal),
        *bell_blocks(bell, picks, study, out),
        *questions(picks, bell.table, study.bell_noise**2, study.bell_small_folds),
    ]
    metrics = {
        "linear": linear_metrics(linear),
        "nonlinear": nonlinear_metrics(nonlinear),
        "bell_best": {key: pick.best for key, pick in picks.items()},
        "diverged": bool(bell.diverged),
    }
    found = [Finding("Does the non-linear SGD fit reach a cost below 0.1?", goal, goal.statistic)] if goal else []
    found += [pick.finding for pick in picks.values()]
    return StudySection(STUDY, blocks, metrics, stage_seconds(), [], found, [settings_table(study)])
