"""A finished run published in the repository: ``docs/results/<profile>/``.

The report stage writes ``reports/run.json`` beside the report: the profile, the commit the report
was made from, the machine, and the wall time of every stage and step, summed per study. ``annstudy
publish`` copies the report (HTML, Markdown, figures), its headline metrics and that record into
``docs/results/<profile>/`` and writes ``RUN.md``, the page a reader checks first: the exact command,
the commit, the machine and the wall time per study. The published ``metrics.json`` is then the
reference ``annstudy verify`` and the report's "Reproduced?" appendix compare later runs of the
profile with (report/verify.py).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from annstudy.store.artifacts import atomic_dir, read_json

FILES = ("report.html", "report.md", "metrics.json", "run.json")


def run_record(profile: str, commit: str, device: str, study_steps: dict[str, dict[str, float]]) -> dict:
    """What ``RUN.md`` states, as the report stage knows it: seconds per study, and per step within."""
    return {
        "profile": profile,
        "commit": commit,
        "device": device,
        "generated": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "study_seconds": {study: round(sum(steps.values()), 1) for study, steps in study_steps.items()},
        "step_seconds": {study: {k: round(v, 1) for k, v in steps.items()} for study, steps in study_steps.items()},
    }


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:,.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def run_page(run: dict, command: str, wall_seconds: float | None) -> str:
    """``RUN.md``: how the published report was made, for a reader who wants to check or redo it."""
    total = sum(run["study_seconds"].values())
    rows = [f"| {study} | {_minutes(sec)} |" for study, sec in run["study_seconds"].items()]
    wall = f"{_minutes(wall_seconds)} from an empty cache" if wall_seconds else "not measured"
    return "\n".join(
        [
            f"# Published run: profile `{run['profile']}`",
            "",
            f"- command: `{command}`",
            f"- code: commit `{run['commit']}` (the report's own header states the same)",
            f"- machine: {run['device']}",
            f"- report generated: {run['generated']}",
            f"- wall time of the whole run: {wall}; the stages' records sum to {_minutes(total)}",
            "",
            "Wall time per study (its stages' steps, as the report's appendix lists them):",
            "",
            "| study | wall time |",
            "|---|---:|",
            *rows,
            "",
            "Files: [report.html](report.html) (self-contained), [report.md](report.md) with `figures/`,",
            "[metrics.json](metrics.json) (the headline numbers `annstudy verify` compares reruns with), run.json.",
            "",
        ]
    )


def publish(reports: Path, dest: Path, command: str, wall_seconds: float | None = None) -> Path:
    """Copy a finished report into ``dest`` (replaced whole, atomically) with its ``RUN.md``."""
    missing = [name for name in FILES if not (reports / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{reports}: no {', '.join(missing)}; run the pipeline (dvc repro) first")
    run = read_json(reports / "run.json")
    with atomic_dir(dest) as tmp:
        for name in FILES:
            shutil.copy2(reports / name, tmp / name)
        shutil.copytree(reports / "figures", tmp / "figures")
        (tmp / "RUN.md").write_text(run_page(run, command, wall_seconds))
    return dest
