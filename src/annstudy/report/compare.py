"""`annstudy compare`: DVC experiments side by side, without a wall of columns.

Reads ``dvc exp show --json`` (the workspace, the baseline commit and its experiments),
keeps only the params that differ between the compared experiments and the headline
metrics (every ``*.test_acc_mean`` of reports/metrics.json, shown with its ``test_acc_std``),
and overlays chosen curves from the experiments' ``reports/plots`` TSVs (read from each
experiment's git commit, where the report stage committed them). Writes Markdown and
self-contained HTML with :mod:`annstudy.report.document`.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import matplotlib.pyplot as plt
import pandas as pd

from annstudy.artifacts import atomic_path
from annstudy.report.document import Document, Figure, Heading, Paragraph, Table, to_html, to_markdown
from annstudy.report.figures import save_figure

METRICS_FILE = "reports/metrics.json"
PARAMS_FILE = "params.yaml"
HEADLINE = ".test_acc_mean"
DEFAULT_CURVES = ("reports/plots/hyperparameters_val_acc.tsv:base",)


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


def _file_data(data: dict, kind: str, name: str) -> dict:
    return ((data.get(kind) or {}).get(name) or {}).get("data") or {}


def _experiment(record: dict, name: str) -> Experiment | None:
    data = record.get("data") or {}
    if not data or record.get("error"):
        return None
    return Experiment(
        name,
        record["rev"],
        flatten(_file_data(data, "params", PARAMS_FILE)),
        flatten(_file_data(data, "metrics", METRICS_FILE)),
    )


def parse_exp_show(records: list[dict]) -> list[Experiment]:
    """Experiments with results from ``dvc exp show --json`` (queued/failed ones have none), in its order."""
    found = []
    for record in records:
        rev = record["rev"]
        name = record.get("name") or ("workspace" if rev == "workspace" else rev[:7])
        if (exp := _experiment(record, name)) is not None:
            found.append(exp)
        for group in record.get("experiments") or []:
            for run in group.get("revs") or []:
                if (exp := _experiment(run, run.get("name") or group.get("name") or run["rev"][:7])) is not None:
                    found.append(exp)
    return found


def exp_show(repo: Path) -> list[dict]:
    """``dvc exp show --json`` of ``repo`` (run as ``python -m dvc`` with this interpreter)."""
    out = subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "show", "--json"], cwd=repo, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"dvc exp show failed in {repo}: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout)


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
    """A plots TSV as the experiment has it: the working copy, or the file in its commit."""
    if exp.rev == "workspace":
        file = repo / path
        return pd.read_csv(file, sep="\t") if file.is_file() else None
    out = subprocess.run(["git", "show", f"{exp.rev}:{path}"], cwd=repo, capture_output=True, text=True)
    return pd.read_csv(io.StringIO(out.stdout), sep="\t") if out.returncode == 0 and out.stdout else None


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
    experiments = select(parse_exp_show(exp_show(repo)), wanted)
    if not experiments:
        raise ValueError(f"{repo}: no experiment with results (run `dvc exp run` or `dvc queue start` first)")
    keys = differing_params(experiments)
    doc = Document("annstudy: experiments compared")
    doc.add(
        Paragraph(
            f"{len(experiments)} experiments from `dvc exp show --json`: "
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
