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

from annstudy.data.prepared import load_meta
from annstudy.data.registry import prepared_dir
from annstudy.engine.device import describe, resolve_device
from annstudy.params.settings import Settings
from annstudy.report.claims import Status
from annstudy.report.document import (
    Bullets,
    Contents,
    Details,
    Document,
    FindingCard,
    Findings,
    Heading,
    Paragraph,
    Table,
)
from annstudy.report.fidelity import banner, deviations_blocks
from annstudy.report.html_page import to_html
from annstudy.report.markdown import to_markdown
from annstudy.report.publication import run_record
from annstudy.report.section import StudySection
from annstudy.report.units import plural
from annstudy.report.verify import reproduced_blocks
from annstudy.store.artifacts import atomic_path, write_json
from annstudy.store.records import prepare_stage_seconds
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


def _title(section: StudySection) -> str:
    """The section's heading (``S1 Architectures``), its study key when it has none."""
    first = section.blocks[0] if section.blocks else None
    return first.text if isinstance(first, Heading) else section.study


STATUS_MEANING = {  # one line each for the findings' caption; report.md states the full rule set
    Status.SUPPORTED: "the test rejects no difference (Holm-adjusted within the question), or an interval clears "
    "its bar",
    Status.EQUIVALENT: "the difference lies within the smallest that matters (TOST)",
    Status.INCONCLUSIVE: "neither: more seeds needed (the section says how many)",
    Status.CONFOUNDED: "unequal budgets, or what the claim needs did not happen",
    Status.DID_NOT_TRAIN: "a run that never left chance: no evidence about accuracy",
}


def as_sentence(text: str) -> str:
    """A statement a reader can quote: a capital where the first word is plain English (never ``cnn_4`` ->
    ``Cnn_4``), and a full stop."""
    text = text.strip()
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def findings_block(sections: list[StudySection]) -> Findings:
    """Per study and question: the answer as a sentence, its key number, n, budget, status and a link to its section."""
    cards = [
        FindingCard(
            _title(s),
            f.question,
            as_sentence(f.claim.statement),
            f.key,
            str(f.claim.n),
            f.claim.budget,
            f.claim.status.value,
            f"#{Heading(_title(s)).anchor}",
        )
        for s in sections
        for f in s.findings
    ]
    legend = "; ".join(f"*{st.value}*: {STATUS_MEANING.get(st, '')}" for st in dict.fromkeys(Status))
    return Findings(
        cards,
        caption="n: seeds (or runs) per compared arm; budget: training epochs of each arm; key number: the difference "
        "(or the value) the answer rests on, with its 95 % interval. Each status is computed by one rule set "
        f"(report/claims.py, docs/report.md): {legend}.",
    )


def summary(sections: list[StudySection]) -> Paragraph:
    """The findings in one plain paragraph, generated from their statuses: what holds, and what does not yet."""
    found = [(_title(s), f.claim) for s in sections for f in s.findings]
    if not found:
        return Paragraph("This run has no findings.")
    counts = {st: sum(1 for _, c in found if c.status is st) for st in dict.fromkeys(Status)}
    tally = ", ".join(f"{n} *{st.value}*" for st, n in counts.items() if n)
    held = [f"{study.split(' ')[0]}: {c.statement}" for study, c in found if c.status is Status.SUPPORTED]
    held_text = f" What the data support: {'; '.join(held)}." if held else " None of them is supported yet."
    rest = len(found) - counts.get(Status.SUPPORTED, 0)
    open_text = (
        f" The other {rest} are open questions at this budget or rest on runs that did not train; each card says why."
        if rest
        else ""
    )
    return Paragraph(f"**In short.** {plural(len(found), 'finding')}: {tally}.{held_text}{open_text}")


def reproduce(section: StudySection) -> Paragraph:
    """The command that reruns the section's stages and where its headline numbers land."""
    # keys are "<stage>[@<item>] [(<step>)]"; a foreach group by its name: `dvc repro architectures` reruns
    # every architectures@<arch>
    names = (name.split(" ")[0].split("@")[0] for name in section.stage_seconds)
    stages = " ".join(dict.fromkeys(names)) or section.study
    keys = ", ".join(f"`{k}`" for k in list(section.metrics)[:8]) + (" …" if len(section.metrics) > 8 else "")
    return Paragraph(
        f"*Reproduce:* `dvc repro {stages} report` · *metrics:* `reports/metrics.json` → `{section.study}`: {keys}"
    )


def header(settings: Settings, sections: list[StudySection], report_seconds: float) -> list:
    """Profile, seeds, code, packages, device, checksums and the wall time of every stage."""
    stages = prepare_seconds(sections)
    for s in sections:
        stages |= s.stage_seconds
    stages["report"] = report_seconds
    total = sum(stages.values())
    datasets = sorted({d for s in sections for d in s.datasets})
    return [
        Heading("Run", level=3),
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
        Paragraph(
            "Wall time per stage, and per step where one stage runs several (the report stage's own time "
            "excludes writing the files):"
        ),
        Table(["stage (step)", "wall time"], [[name, _fmt_seconds(sec)] for name, sec in stages.items()]),
        Paragraph("Data checksums:"),
        Bullets([line for d in datasets for line in _checksums(d)]),
    ]


def build_sections(settings: Settings, out: Path) -> list[StudySection]:
    sections = []
    for study in STUDIES:
        print(f"report: section {study}", flush=True)
        sections.append(study_part(study, "report").build(settings, out))
    return sections


def collect_metrics(sections: list[StudySection]) -> dict:
    """reports/metrics.json: each study's headline metrics, and the entries a section adds beside them."""
    metrics = {s.study: s.metrics for s in sections}
    for s in sections:
        metrics |= s.other_metrics
    return metrics


def reproduced(settings: Settings, metrics: dict) -> list:
    """The "Reproduced?" appendix: ``metrics``, exactly what this run writes, against the published reference of
    its profile (docs/results/<profile>/metrics.json), each study's means judged over its seeds."""
    studies = type(settings.studies).model_fields
    seeds = {study: len(getattr(settings.studies[study], "seeds", None) or ()) for study in studies}
    return reproduced_blocks(metrics, settings.profile, {k: n for k, n in seeds.items() if n})


def build_report(settings: Settings, out: Path) -> Path:
    """Write the whole reports/ directory; returns the HTML report's path."""
    started = time.perf_counter()
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    for stale in fig_dir.glob("*.png"):
        stale.unlink()
    sections = build_sections(settings, out)

    commit = _git_commit()  # one git call: the report's header and reports/run.json state the same commit
    doc = Document(f"annstudy report — profile {settings.profile}")
    doc.add(
        Paragraph(
            f"Profile **{settings.profile}** · generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · "
            f"code `{commit}`"
        )
    )
    note = banner(settings, sections)
    doc.add(Heading("Key findings"), *([note] if note else []), summary(sections), findings_block(sections))
    doc.add(*deviations_blocks(settings), Contents())
    for s in sections:
        doc.add(*s.blocks, reproduce(s))
    elapsed = time.perf_counter() - started
    appendix = header(settings, sections, elapsed)
    for s in sections:
        if s.appendix:
            appendix += [Heading(f"{s.study}: settings and details", level=3), *s.appendix]
    metrics = collect_metrics(sections)
    doc.add(
        Heading("Appendix"),
        *reproduced(settings, metrics),
        Details("Run details, stage timings, checksums, effective settings", appendix),
    )
    write_json(out / "metrics.json", metrics)
    steps = {"prepare": prepare_seconds(sections), **{s.study: s.stage_seconds for s in sections}}
    steps["report"] = {"report": elapsed}
    device = describe(resolve_device(settings.device))
    write_json(out / "run.json", run_record(settings.profile, commit, device, steps))
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(to_markdown(doc))
    html_path = out / "report.html"
    with atomic_path(html_path) as tmp:
        tmp.write_text(to_html(doc, out))
    return html_path
