"""The studies of docs/studies.md (S1-S7): one package each, found here by looking, never listed by hand.

A study package ``annstudy.studies.<name>`` holds everything about that study:

- ``__init__.py``: ``REPORT_ORDER``, its place in the report (its section of studies.md: S1 is 10,
  S6's three studies are 61, 62, 63; the smaller comes first),
- ``config.py``: its section ``studies.<name>`` of params.yaml, the pydantic model ``CONFIG``,
- ``run.py``: the work of its DVC stages, ``STEPS: {step: fn(settings, item) -> Path}``,
- ``report.py``: its report section, ``build(settings, out) -> StudySection``.

Every subpackage here with a ``config.py`` is a study. Adding one touches only its package,
``stages/<name>.py`` (the thin DVC entry point), its stages in dvc.yaml and its section in
params.yaml (docs/architecture.md, "Adding things").
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).parent
_FOUND = [m.name for m in pkgutil.iter_modules([str(_HERE)]) if m.ispkg and (_HERE / m.name / "config.py").is_file()]


def _report_order(name: str) -> object:
    """A study's ``REPORT_ORDER`` as its __init__.py writes it, read without importing the package: a stage
    imports its own studies' packages only, so only those are its code deps (annstudy/pipeline/codedeps.py)."""
    tree = ast.parse((_HERE / name / "__init__.py").read_text())
    found = [n.value for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "REPORT_ORDER"]
    return ast.literal_eval(found[-1]) if found else None


_ORDER = {name: _report_order(name) for name in _FOUND}
if missing := [name for name, order in _ORDER.items() if not isinstance(order, int)]:
    raise ImportError(f"annstudy/studies/<study>/__init__.py must set REPORT_ORDER = <int>: missing in {missing}")

# In report order; the name is the key in params.yaml `studies` and in metrics.json.
STUDIES: tuple[str, ...] = tuple(sorted(_FOUND, key=lambda name: (_ORDER[name], name)))


def study_part(study: str, part: str) -> ModuleType:
    """``annstudy.studies.<study>.<part>`` (part: config, run or report), imported on demand
    so that a stage imports only its own study's work.

    With the discovery above, annstudy's only imports by name, which reading the imports cannot see:
    annstudy/pipeline/codedeps.py (dvc.yaml's code deps) reads the calls instead. ``part`` must be a
    literal there; a literal ``study`` imports that study's part, any other that part of every study."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose from {', '.join(STUDIES)}")
    return importlib.import_module(f"annstudy.studies.{study}.{part}")
