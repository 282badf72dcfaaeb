"""The `report` stage: stage outputs -> reports/report.md, report.html, figures, metrics.json.

Reads only what the pipeline produced (never retrains) and states everything a reader
needs to trust the numbers: profile, seeds, data checksums, code version, package
versions, device and wall time per stage. Each study contributes one
:class:`~annstudy.report.section.StudySection` (``annstudy.studies.<study>.report``).
"""

from __future__ import annotations

import platform
import subprocess
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from annstudy.artifacts import atomic_path, write_json
from annstudy.data.prepared import load_meta
from annstudy.data.registry import prepared_dir
from annstudy.engine.device import describe, resolve_device
from annstudy.params import Settings
from annstudy.records import prepare_stage_seconds
from annstudy.report.document import Bullets, Document, Heading, Paragraph, Table, to_html, to_markdown
from annstudy.report.section import StudySection
from annstudy.studies import STUDIES, study_part

PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "dvc",
    "dvclive",
)


CODE_PATHS = ("src", "stages", "dvc.yaml", "pyproject.toml")  # what decides the numbers, besides params.yaml


def _git_commit() -> str:
    """The commit the report was made from, flagged when the code differs from it.

    Only code paths count: during ``dvc repro`` dvc.lock and the outputs are always
    newer than the commit, and params.yaml is stated in full by the report itself.
    """

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS)
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{commit} + uncommitted code changes" if changed else commit


def _versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join([f"python {platform.python_version()}", *found])


def _checksums(dataset: str) -> list[str]:
    meta = load_meta(prepared_dir(dataset))
    lines = []
    for algorithm in ("sha256", "md5"):
        for name, digest in meta.get(algorithm, {}).items():
            lines.append(f"{dataset}: `{name}` {algorithm.upper()} `{digest}`")
    return lines or [f"{dataset}: generated locally ({meta.get('source', 'see its section')})"]


def prepare_seconds(sections: list[StudySection]) -> dict[str, float]:
    """Wall time of the prepare stage of every shared dataset the sections use (their records)."""
    seconds: dict[str, float] = {}
    for dataset in sorted({d for s in sections for d in s.datasets}):
        seconds |= prepare_stage_seconds(prepared_dir(dataset))
    return seconds


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def header(settings: Settings, sections: list[StudySection], report_seconds: float) -> list:
    """Profile, seeds, code, packages, device, checksums and the wall time of every stage."""
    stages = prepare_seconds(sections)
    for s in sections:
        stages |= s.stage_seconds
    stages["report"] = report_seconds
    total = sum(stages.values())
    datasets = sorted({d for s in sections for d in s.datasets})
    return [
        Paragraph(
            f"Profile **{settings.profile}** · generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · "
            f"code `{_git_commit()}`"
        ),
        Heading("Run"),
        Table(
            ["setting", "value"],
            [
                ["profile", f"{settings.profile} (each section lists its effective settings)"],
                ["studies", ", ".join(s.study for s in sections)],
                ["seeds (profile default)", ", ".join(map(str, settings.profile_seeds)) or "—"],
                ["device (report stage)", describe(resolve_device(settings.device))],
                ["deterministic", f"{settings.deterministic} (same params, same machine: identical numbers)"],
                ["packages", _versions()],
                ["total wall time", f"{total / 60:,.1f} min over {len(stages)} stages"],
            ],
        ),
        Paragraph("Wall time per stage (the report stage's own time excludes writing the files):"),
        Table(["stage", "wall time"], [[name, _fmt_seconds(sec)] for name, sec in stages.items()]),
        Paragraph("Data checksums:"),
        Bullets([line for d in datasets for line in _checksums(d)]),
    ]


def build_sections(settings: Settings, out: Path) -> list[StudySection]:
    sections = []
    for study in STUDIES:
        print(f"report: section {study}", flush=True)
        sections.append(study_part(study, "report").build(settings, out))
    return sections


def build_report(settings: Settings, out: Path) -> Path:
    """Write the whole reports/ directory; returns the HTML report's path."""
    started = time.perf_counter()
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    for stale in fig_dir.glob("*.png"):
        stale.unlink()
    sections = build_sections(settings, out)

    doc = Document(f"annstudy report — profile {settings.profile}")
    doc.add(*header(settings, sections, time.perf_counter() - started))
    for s in sections:
        doc.add(*s.blocks)

    write_json(out / "metrics.json", {s.study: s.metrics for s in sections})
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(to_markdown(doc))
    html_path = out / "report.html"
    with atomic_path(html_path) as tmp:
        tmp.write_text(to_html(doc, out))
    return html_path
