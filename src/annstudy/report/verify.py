"""Did a rerun reproduce the study? Every metric of a rerun judged against a reference.

Bit-equality holds only on the same machine (same CPU instructions, same kernel library):
on another CPU, float rounding differs in the last bit and training amplifies it, so each
seed's run becomes a fresh draw from the same distribution. "Reproduced" therefore means
"within the noise the study itself measures", by one rule stated here and in
docs/robustness.md:

- *identical*: the same value (JSON equality);
- *reproduced*: a number within ``Z * sigma_diff`` of the reference (``Z = 3``: with ~80
  metrics, a false alarm by chance is rare). ``sigma_diff`` is the standard deviation of the
  difference of two such draws: ``sigma * sqrt(2 / n)`` for a mean over the study's ``n`` seeds
  (``X_mean``), ``sigma * sqrt(2)`` for one model's number, where ``sigma`` is the larger of
  (a) the seeds' spread recorded beside the metric (``X_std`` for ``X_mean``, else the group's
  ``test_acc_std``) and (b) for one model's accuracy ``p``, the test set's sampling error
  ``sqrt(p (1 - p) / n_test)`` when the study records ``n_test``. A number with neither spread
  gets a relative tolerance of 5 %. A chosen seed (``*_seed``) that changed is *reproduced*:
  which seed wins is decided by differences inside that noise, and the chosen seed's accuracy
  is judged itself;
- *differs*: anything else (a flag, a count, a label, or a number outside its tolerance).
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annstudy.report.compare import flatten
from annstudy.report.document import Heading, Paragraph, Table
from annstudy.store.artifacts import read_json

Z = 3.0
RELATIVE = 0.05  # tolerance of a number the study records no spread for
VERDICTS = ("identical", "reproduced", "differs")


@dataclass(frozen=True)
class Check:
    """One metric: reference and rerun values, the spread it is judged against, the verdict."""

    key: str
    reference: Any
    rerun: Any
    spread: float | None  # sigma of the rule above; None: no spread, relative tolerance
    tolerance: float | None  # None for values that are not numbers
    verdict: str

    @property
    def difference(self) -> float | None:
        if _is_number(self.reference) and _is_number(self.rerun):
            return float(self.rerun) - float(self.reference)
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def seed_spread(key: str, metrics: dict[str, Any]) -> float | None:
    """The seeds' standard deviation recorded beside ``key``: ``X_std`` for ``X_mean``/``X``,
    else the ``test_acc_std`` of the same group (``study.variant``)."""
    group, _, name = key.rpartition(".")
    stem = name.removesuffix("_mean")
    for candidate in (f"{group}.{stem}_std", f"{group}.test_acc_std"):
        value = metrics.get(candidate)
        if _is_number(value) and candidate != key:
            return float(value)
    return None


def sampling_error(key: str, value: Any, metrics: dict[str, Any]) -> float | None:
    """The test set's binomial standard error of an accuracy (``n_test`` of the study if recorded)."""
    name = key.rpartition(".")[2]
    if "acc" not in name or not _is_number(value) or not 0.0 <= value <= 1.0:
        return None
    n = metrics.get(f"{key.split('.')[0]}.n_test")
    return math.sqrt(value * (1.0 - value) / n) if _is_number(n) and n > 0 else None


def judge(key: str, reference: Any, rerun: Any, ref_metrics: dict[str, Any], n_seeds: int = 1) -> Check:
    """The verdict for one metric, by the module's rule; ``n_seeds``: seeds behind a ``_mean``."""
    if reference == rerun:
        return Check(key, reference, rerun, None, 0.0 if _is_number(reference) else None, "identical")
    if key.endswith("_seed"):
        return Check(key, reference, rerun, None, None, "reproduced")
    if not (_is_number(reference) and _is_number(rerun)):
        return Check(key, reference, rerun, None, None, "differs")
    mean = key.endswith("_mean")
    spreads = [seed_spread(key, ref_metrics), None if mean else sampling_error(key, reference, ref_metrics)]
    sigma = max((s for s in spreads if s), default=None)
    draws = max(n_seeds, 1) if mean else 1
    tolerance = Z * sigma * math.sqrt(2.0 / draws) if sigma else RELATIVE * max(abs(reference), abs(rerun))
    verdict = "reproduced" if abs(rerun - reference) <= tolerance else "differs"
    return Check(key, reference, rerun, sigma, tolerance, verdict)


def verify(reference: dict, rerun: dict, seeds: dict[str, int] | None = None) -> list[Check]:
    """Every metric of the reference judged (a metric the rerun lacks differs); ``seeds``: study
    -> the number of seeds its means average (default 1: the most lenient is never assumed)."""
    ref, new = flatten(reference), flatten(rerun)
    seeds = seeds or {}
    return [judge(key, ref[key], new.get(key), ref, seeds.get(key.split(".")[0], 1)) for key in ref]


def seeds_per_study(raw_params: dict) -> dict[str, int]:
    """Study -> seeds of the profile params.yaml selects (a study's own list wins over the profile's)."""
    profile = raw_params.get("profiles", {}).get(raw_params.get("profile", ""), {}) or {}
    shared = len(profile.get("seeds") or [])
    counts = {}
    for study, section in (raw_params.get("studies") or {}).items():
        own = (section or {}).get("seeds") or (profile.get(study) or {}).get("seeds")
        counts[study] = len(own) if own else shared
    return {k: v for k, v in counts.items() if v}


def summary(checks: list[Check]) -> str:
    """One line: 'reproduced 312/317 (identical 224), differs 5: a.b, c.d, ...'."""
    counts = {v: sum(c.verdict == v for c in checks) for v in VERDICTS}
    line = f"reproduced {counts['identical'] + counts['reproduced']}/{len(checks)} (identical {counts['identical']})"
    differing = [c.key for c in checks if c.verdict == "differs"]
    if differing:
        shown = ", ".join(differing[:5]) + (", ..." if len(differing) > 5 else "")
        line += f", differs {len(differing)}: {shown}"
    return line


def read_reference(against: str | None, repo: Path) -> tuple[dict, str]:
    """(metrics, where they came from): a metrics.json, a results folder holding one, or by
    default the committed reports/metrics.json at HEAD."""
    if against is None:
        shown = subprocess.run(
            ["git", "show", "HEAD:reports/metrics.json"], cwd=repo, capture_output=True, text=True, check=False
        )
        if shown.returncode != 0:
            raise FileNotFoundError("no reference: reports/metrics.json is not committed at HEAD (use --against PATH)")
        return json.loads(shown.stdout), "HEAD:reports/metrics.json"
    path = Path(against)
    path = path / "metrics.json" if path.is_dir() else path
    return read_json(path), str(path)


RESULTS = Path("docs/results")  # the published references: <profile>/metrics.json (docs/results/README.md)
SHOWN_ALL = 12  # a comparison of at most this many metrics lists them all; a longer one only those that differ


def reference_path(profile: str, root: Path = RESULTS) -> Path:
    """Where the published reference of ``profile`` lives (it may not exist: not every profile is published)."""
    return root / profile / "metrics.json"


def as_written(metrics: dict) -> dict:
    """``metrics`` as reports/metrics.json holds them (tuples become lists): what ``annstudy verify`` would read."""
    return json.loads(json.dumps(metrics, allow_nan=False))


def _shown(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.5g}"
    return json.dumps(value)


def _row(c: Check) -> list[str]:
    diff = "—" if c.difference is None else f"{c.difference:+.4g}"
    tolerance = "—" if c.tolerance is None else f"{c.tolerance:.3g}"
    return [f"`{c.key}`", _shown(c.reference), _shown(c.rerun), diff, tolerance, f"*{c.verdict}*"]


def reproduced_blocks(metrics: dict, profile: str, seeds: dict[str, int], root: Path = RESULTS) -> list:
    """The report's "Reproduced?" appendix: this run's metrics (as it writes them) against the published
    reference of its profile, by :func:`verify`; every row when few, else the rows that differ."""
    blocks: list = [Heading("Reproduced?", level=3)]
    path = reference_path(profile, root)
    if not path.is_file():
        return blocks + [Paragraph(f"No published reference for profile `{profile}` (`{path}` does not exist).")]
    reference, rerun = read_json(path), as_written(metrics)
    checks = verify(reference, rerun, seeds)
    new = len(set(flatten(rerun)) - set(flatten(reference)))
    extra = f" {new} metrics of this run are not in the reference (not judged)." if new else ""
    blocks.append(
        Paragraph(
            f"This run's headline metrics (`reports/metrics.json`) against the published reference of profile "
            f"`{profile}` (`{path}`), by `annstudy verify`'s rule (report/verify.py: *identical*; *reproduced* "
            f"within {Z:g} standard deviations of the difference of two runs, by the seeds' spread or the test "
            f"set's sampling error; else *differs*): **{summary(checks)}**.{extra}"
        )
    )
    shown = checks if len(checks) <= SHOWN_ALL else [c for c in checks if c.verdict == "differs"]
    if not shown:
        return blocks
    what = "Every metric" if len(shown) == len(checks) else "The metrics that differ"
    return blocks + [
        Table(
            ["metric", "reference", "this run", "difference", "tolerance", "verdict"],
            [_row(c) for c in shown],
            caption=f"{what}: reference and this run's value, their difference and the tolerance it is judged by.",
        )
    ]
