"""`annstudy compare`: DVC experiments side by side, without a wall of columns.

Reads the experiments with ``dvc.api``, not by parsing CLI output: ``exp_show`` lists the
workspace, the baseline commit and its experiments; ``params_show`` reads each one's
params.yaml, ``read`` its reports/metrics.json, S4's stage records and plots TSVs. Keeps only
the params that differ between the compared experiments and the test accuracies (every
``*.test_acc_mean`` of reports/metrics.json, shown with its ``test_acc_std``, and every S4
variant's), and overlays chosen curves from the experiments' ``reports/plots`` TSVs (committed by
the report stage). Writes Markdown and self-contained HTML with :mod:`annstudy.report.document`.

metrics.json holds headline numbers only (S4: the value each sweep chose on validation); the
accuracy of every swept value, what one compares experiments on, is read from S4's stage records
(``data/hyperparameters/train/<axis>/live/metrics.json``, per seed) as the experiment has them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import matplotlib.pyplot as plt
import pandas as pd

from annstudy.report.document import Document, Figure, Heading, Paragraph, Table
from annstudy.report.figures import save_figure
from annstudy.report.html_page import to_html
from annstudy.report.markdown import to_markdown
from annstudy.report.stats import summarize
from annstudy.store.artifacts import atomic_path

METRICS_FILE = "reports/metrics.json"
PARAMS_FILE = "params.yaml"
HEADLINE = ".test_acc_mean"
DEFAULT_CURVES = ("reports/plots/hyperparameters_val_acc.tsv:base",)
S4 = "hyperparameters"
S4_RECORD = "data/hyperparameters/train/{axis}/live/metrics.json"  # a stage's record (store/records.py)


@dataclass
class Experiment:
    name: str  # "workspace", the baseline's branch/short sha, or the experiment's name
    rev: str  # "workspace" or the commit sha
    params: dict[str, Any]  # flattened: "studies.hyperparameters.lr" -> 0.001
    metrics: dict[str, Any]  # flattened: "hyperparameters.base.test_acc_mean" -> 0.96

    @property
    def headline(self) -> dict[str, float | None]:
        """``study.variant`` -> mean test accuracy."""
        return {k[: -len(HEADLINE)]: v for k, v in self.metrics.items() if k.endswith(HEADLINE)}

    def std(self, key: str) -> float | None:
        return self.metrics.get(f"{key}.test_acc_std")


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> dotted keys; lists stay values (they are one param)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out |= flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value}
    return out


RESULT_STATES = {None, "Success"}  # workspace and commits have no state; queued/running/failed runs no results


def listed(rows: list[dict]) -> list[tuple[str, str]]:
    """(name, rev) of the rows of ``dvc.api.exp_show`` that can have results, in its order.

    Workspace and baseline rows have no state; experiments that are queued, running or
    failed are left out. ``rev`` is what git and ``dvc.api`` accept: "workspace", the
    baseline's branch name or short sha, an experiment's short sha.
    """
    found = []
    for row in rows:
        if row.get("State") not in RESULT_STATES:
            continue
        rev = row["rev"]
        # dvc.api.exp_show turns cells that parse as numbers into floats: a short sha of 7 digits too.
        rev = f"{int(rev):07d}" if isinstance(rev, float) else str(rev)
        found.append((row.get("Experiment") or rev, rev))
    return found


def collect(rows: list[dict], read: Callable[[str], tuple[dict, dict]]) -> list[Experiment]:
    """Experiments with results: ``read(rev)`` gives (params, metrics) as nested dicts."""
    found = []
    for name, rev in listed(rows):
        params, metrics = read(rev)
        if metrics:
            found.append(Experiment(name, rev, flatten(params), flatten(metrics)))
    return found


def variant_accuracies(record: dict) -> dict[str, dict[str, float | None]]:
    """Per variant of one S4 stage record: test accuracy mean and std over the seeds that did not
    diverge (None when none survived), as the S4 report summarizes them."""
    found = {}
    for variant in record.get("variants", []):
        accs = [r["test_acc"] for r in variant["per_seed"] if not r["diverged"]]
        t = summarize(accs)
        found[variant["name"]] = {
            "test_acc_mean": round(t.mean, 5) if t.n else None,
            "test_acc_std": round(t.std, 5) if t.n else None,
        }
    return found


def with_variants(metrics: dict, records: list[dict]) -> dict:
    """metrics.json's S4 entry with every variant of ``records`` added beside its headline (which wins)."""
    if S4 in metrics:
        variants = {name: acc for record in records for name, acc in variant_accuracies(record).items()}
        metrics[S4] = variants | metrics[S4]
    return metrics


def read_experiments(repo: Path) -> list[Experiment]:
    """The workspace, the baseline commit and its experiments, read with ``dvc.api`` (no CLI output parsed)."""
    import dvc.api
    from dvc.exceptions import PathMissingError

    def text(path: str, at: str | None) -> str | None:
        try:  # dvc.api.read, not metrics_show: that one misses the file in commits of queued runs (DVC 3.67)
            return dvc.api.read(path, repo=str(repo), rev=at)
        except (PathMissingError, FileNotFoundError):
            return None  # a commit from before any `dvc repro`, or an axis that was not run

    def read(rev: str) -> tuple[dict, dict]:
        at = None if rev == "workspace" else rev
        params = dvc.api.params_show(PARAMS_FILE, repo=str(repo), rev=at)
        found = text(METRICS_FILE, at)
        metrics = json.loads(found) if found else {}
        if metrics:
            axes = ["base", *((params.get("studies", {}).get(S4) or {}).get("sweeps") or {})]
            records = [json.loads(t) for axis in axes if (t := text(S4_RECORD.format(axis=axis), at))]
            with_variants(metrics, records)
        return params, metrics

    return collect(dvc.api.exp_show(repo=str(repo)), read)


def select(experiments: list[Experiment], wanted: Iterable[str]) -> list[Experiment]:
    """The experiments named (by name or rev prefix) in ``wanted``; all of them when it is empty."""
    wanted = list(wanted)
    if not wanted:
        return experiments
    chosen = []
    for w in wanted:
        match = [e for e in experiments if e.name == w or (len(w) >= 4 and e.rev.startswith(w))]
        if not match:
            raise ValueError(f"experiment {w!r} not found; known: {', '.join(e.name for e in experiments)}")
        chosen += [m for m in match if m not in chosen]
    return chosen


def differing_params(experiments: list[Experiment]) -> list[str]:
    """Param keys whose value is not the same in every experiment (missing counts as a value)."""
    keys = sorted({k for e in experiments for k in e.params})
    return [k for k in keys if len({json.dumps(e.params.get(k), sort_keys=True) for e in experiments}) > 1]


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else json.dumps(value) if isinstance(value, list) else str(value)


def params_table(experiments: list[Experiment], keys: list[str]) -> Table:
    rows = [[k, *(_fmt(e.params.get(k)) for e in experiments)] for k in keys]
    return Table(["param", *(e.name for e in experiments)], rows, caption="Only the params that differ.")


def metrics_table(experiments: list[Experiment]) -> Table:
    keys = sorted({k for e in experiments for k in e.headline})
    rows = []
    for k in keys:
        cells = []
        for e in experiments:
            mean, std = e.headline.get(k), e.std(k)
            cells.append("—" if mean is None else f"{mean:.4f}" + (f" ± {std:.4f}" if std is not None else ""))
        rows.append([k, *cells])
    return Table(
        ["test accuracy (mean ± std)", *(e.name for e in experiments)],
        rows,
        caption=f"Every `*{HEADLINE}` of {METRICS_FILE}, with its std over seeds.",
    )


def read_curve(repo: Path, exp: Experiment, path: str) -> pd.DataFrame | None:
    """A plots TSV as the experiment has it (``dvc.api.read``: the working copy, or its commit)."""
    import dvc.api
    from dvc.exceptions import PathMissingError

    try:
        text = dvc.api.read(path, repo=str(repo), rev=None if exp.rev == "workspace" else exp.rev)
    except (PathMissingError, FileNotFoundError):
        return None
    return pd.read_csv(io.StringIO(text), sep="\t") if text else None


def curves_figure(repo: Path, experiments: list[Experiment], spec: str, path: Path) -> Path | None:
    """One column of one plots TSV (``FILE:COLUMN``), one line per experiment."""
    file, _, column = spec.rpartition(":")
    if not file:
        raise ValueError(f"--curve {spec!r}: expected FILE:COLUMN, e.g. {DEFAULT_CURVES[0]}")
    fig, ax = plt.subplots(figsize=(8, 4.8))
    drawn = 0
    for exp in experiments:
        frame = read_curve(repo, exp, file)
        if frame is None or column not in frame:
            continue
        ax.plot(frame.iloc[:, 0], frame[column], lw=1.6, label=exp.name)
        drawn += 1
        x_label = frame.columns[0]
    if not drawn:
        plt.close(fig)
        return None
    ax.set(xlabel=x_label, ylabel=f"{column} (mean over seeds)", title=f"{Path(file).stem}: {column}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, title="experiment")
    return save_figure(fig, path)


def build_comparison(
    repo: Path, wanted: Iterable[str], out: Path, curves: Iterable[str] = DEFAULT_CURVES
) -> tuple[Document, list[Experiment]]:
    """Write ``out/compare.md``, ``out/compare.html`` and ``out/figures``; return the document."""
    experiments = select(read_experiments(repo), wanted)
    if not experiments:
        raise ValueError(f"{repo}: no experiment with results (run `dvc exp run` or `dvc queue start` first)")
    keys = differing_params(experiments)
    doc = Document("annstudy: experiments compared")
    doc.add(
        Paragraph(
            f"{len(experiments)} experiments from `dvc.api.exp_show`: "
            + ", ".join(f"**{e.name}** (`{e.rev[:10]}`)" for e in experiments)
            + "."
        ),
        Heading("Params that differ"),
        params_table(experiments, keys) if keys else Paragraph("All params are identical."),
        Heading("Test accuracy"),
        metrics_table(experiments),
    )
    figures = []
    for i, spec in enumerate(curves):
        path = curves_figure(repo, experiments, spec, out / "figures" / f"compare_{i}.png")
        if path is not None:
            figures.append(Figure(path.relative_to(out), f"{spec}: one line per experiment."))
    if figures:
        doc.add(Heading("Curves"), *figures)
    with atomic_path(out / "compare.md") as tmp:
        tmp.write_text(to_markdown(doc))
    with atomic_path(out / "compare.html") as tmp:
        tmp.write_text(to_html(doc, out))
    return doc, experiments
