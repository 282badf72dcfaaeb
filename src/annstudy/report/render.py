"""The `report` stage: stage outputs -> reports/report.md, report.html, figures, metrics.json.

Reads only what the pipeline produced (never retrains) and states everything a reader
needs to trust the numbers: profile, effective settings, seeds, data checksums, code
version, package versions, device and wall times.
"""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pandas as pd

from annstudy.artifacts import atomic_path, write_json, write_tsv
from annstudy.data.prepared import load_meta, load_prepared
from annstudy.data.registry import prepared_dir
from annstudy.params import Settings
from annstudy.report.architectures import ArchResult, architecture_tables, load_results, section
from annstudy.report.document import Bullets, Document, Heading, Paragraph, Table, to_html, to_markdown

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "scipy", "matplotlib", "seaborn", "dvc", "dvclive")


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"


def _versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join([f"python {platform.python_version()}", *found])


def header(doc: Document, settings: Settings, meta: dict, results: list[ArchResult]) -> None:
    t = settings.architectures.train
    devices = sorted({r.run["device"] for r in results}) or ["n/a"]
    doc.add(
        Paragraph(
            f"Profile **{settings.profile}** · generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · "
            f"code `{_git_commit()}`"
        ),
        Heading("Run settings"),
        Table(
            ["setting", "value"],
            [
                ["profile", settings.profile],
                ["dataset", f"{meta['name']} (train {meta['sizes']['train']:,} / val {meta['sizes']['val']:,}"
                            f" / test {meta['sizes']['test']:,}), source: {meta['source']}"],
                ["validation split", f"{meta['split']['val_per_class']} images per class, split seed "
                                     f"{meta['split']['seed']}"],
                ["input scaling", meta["scaling"]["description"]],
                ["optimizer", f"{t.optimizer}, lr {t.lr:g}" + (f", momentum {t.momentum:g}" if t.momentum else "")],
                ["batch size", str(t.batch_size)],
                ["epochs", ", ".join(f"{a} {settings.architectures.train_for(a).epochs}"
                                     for a in settings.architectures.archs)],
                ["seeds", ", ".join(map(str, t.seeds))],
                ["training images used", "all" if t.train_limit <= 0 else f"first {t.train_limit:,}"],
                ["logging", f"every {t.log_every} steps: training loss and accuracy averaged over the batches "
                            "since the previous log (train mode), validation accuracy in eval mode on "
                            + ("the full validation set" if t.val_subset <= 0
                               else f"a fixed, evenly spaced subset of {t.val_subset:,} validation images")
                            + "; after every epoch on the full validation set"],
                ["device", ", ".join(devices)],
                ["engine", ("seeds of an architecture trained together as one stacked network"
                            if t.vectorize else "seeds trained one after another")
                           + (", channels-last convolutions" if t.channels_last else "")],
                ["deterministic", str(settings.deterministic)],
                ["wall time per stage", f"train {sum(r.wall_seconds for r in results):,.0f} s ("
                 + ", ".join(f"{r.arch} {r.wall_seconds:,.0f}" for r in results) + "); evaluate "
                 + f"{sum(r.evaluation.get('eval_seconds', 0) for r in results):,.0f} s ("
                 + ", ".join(f"{r.arch} {r.evaluation.get('eval_seconds', 0):,.0f}" for r in results) + ")"],
                ["packages", _versions()],
            ],
        ),
        Paragraph("Data checksums (SHA-256 of the decompressed raw files):"),
        Bullets([f"`{name}`: `{digest}`" for name, digest in meta["sha256"].items()]),
    )


def metrics_summary(results: list[ArchResult]) -> dict:
    """``{study: {variant: {metric: value}}}``: compact, so `dvc exp show` stays readable."""
    return {
        "architectures": {
            r.arch: {
                "test_acc_mean": round(r.test.mean, 5),
                "test_acc_std": round(r.test.std, 5),
                "params": r.params,
                "train_seconds": round(r.train_seconds, 1),
            }
            for r in results
        }
    }


def write_plot_data(results: list[ArchResult], out: Path) -> None:
    """Wide TSVs (step, one column per architecture) for the top-level `plots:` of dvc.yaml."""
    for metric in ("train_loss", "train_acc", "val_acc"):
        columns = {r.arch: r.curves.groupby("step")[metric].mean() for r in results if not r.curves.empty}
        frame = pd.DataFrame(columns).rename_axis("step").reset_index()
        write_tsv(out / f"{metric}.tsv", frame)


def build_report(settings: Settings, out: Path) -> Path:
    """Write the whole reports/ directory; returns the HTML report's path."""
    study = settings.architectures
    data = load_prepared(prepared_dir(study.dataset))
    meta = load_meta(prepared_dir(study.dataset))
    results = load_results(study.archs)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    for stale in fig_dir.glob("*.png"):
        stale.unlink()

    print(f"report: {len(results)} architectures -> figures, tables, metrics", flush=True)
    doc = Document(f"annstudy report — {study.dataset}, profile {settings.profile}")
    header(doc, settings, meta, results)
    section(doc, settings, data, results, out)
    architecture_tables(doc, results, data.image_shape)

    write_plot_data(results, out / "plots")
    write_json(out / "metrics.json", metrics_summary(results))
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(to_markdown(doc))
    html_path = out / "report.html"
    with atomic_path(html_path) as tmp:
        tmp.write_text(to_html(doc, out))
    return html_path
