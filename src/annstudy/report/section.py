"""What every study contributes to the one report: a :class:`StudySection`.

Each study package has a module ``report.py`` with ``build(settings, out) ->
StudySection`` (the studies are listed in :data:`annstudy.studies.STUDIES`). The renderer puts
the sections in order under one header, merges their metrics into reports/metrics.json
and their stage wall times into the header, so adding a study never edits the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from annstudy.report.claims import Claim
from annstudy.report.document import Table


@dataclass(frozen=True)
class Finding:
    """One row of the key-findings table: the question a study answers and the claim that answers it."""

    question: str
    claim: Claim
    key: str  # the key number with its uncertainty, as shown (e.g. "88.0 % [87.2, 88.8]")


@dataclass
class StudySection:
    study: str  # key in params.yaml `studies` and in metrics.json
    blocks: list  # document blocks, starting with the section's level-2 Heading
    metrics: dict[str, Any]  # metrics.json[study]: compact, headline numbers only (no NaN: use None)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # "architectures@mlp_1 (train)" -> wall seconds
    datasets: list[str] = field(default_factory=list)  # prepared datasets used (their checksums go in the header)
    findings: list[Finding] = field(default_factory=list)  # rows of the key-findings table at the top
    appendix: list = field(default_factory=list)  # settings, per-layer tables: collapsed at the end
    # metrics.json entries beside the study's own, e.g. "worked_checks" (S1 computes them with its run's numbers)
    other_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return ", ".join(_format(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format(v)}" for k, v in value.items()) if value else "—"
    return "—" if value is None else str(value)


def settings_table(study_settings: Any, caption: str = "") -> Table:
    """Every effective setting of a study (profile values resolved), flattened one level."""
    rows = []
    for name in study_settings.settings_rows():
        value = getattr(study_settings, name)
        if is_dataclass(value):
            rows += [[f"{name}.{g.name}", _format(getattr(value, g.name))] for g in fields(value)]
        else:
            rows.append([name, _format(value)])
    return Table(["setting", "value"], rows, caption=caption or "Effective settings (profile values resolved).")
