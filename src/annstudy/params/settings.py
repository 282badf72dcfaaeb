"""params.yaml as a whole: the run's keys and every study's section.

params.yaml is the single source of truth. ``annstudy validate``, the pipeline's first stages
(``inputs@<name>``, ``prepare@<dataset>``) and the report validate all of it, so a typo anywhere
never costs a training run: every problem becomes one line naming its key path
(``studies.architectures.lr: must be > 0, got -1``) and the command exits non-zero. A study's
training stage validates the run's keys and its studies' sections only (annstudy/pipeline/stage.py),
so that it depends on those studies' configs alone: the machinery is :mod:`annstudy.params.root`,
which this module binds to every study's config, found through the registry
:data:`annstudy.studies.STUDIES` (this module knows no study by name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from annstudy.data.settings import DataSettings, ImageCsvSettings
from annstudy.params import root
from annstudy.params.root import Settings, load_yaml
from annstudy.params.schema import ParamsError
from annstudy.studies import STUDIES as STUDY_NAMES
from annstudy.studies import study_part

# Study name in params.yaml -> its model (the settings object its stages and report receive).
STUDIES: dict[str, type[BaseModel]] = {name: study_part(name, "config").CONFIG for name in STUDY_NAMES}


def validate(raw: Any) -> list[str]:
    """All problems of a parsed params.yaml, one line each, in file order (empty when valid)."""
    return root.validate(raw, STUDIES)


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Parse and validate params.yaml; raise :class:`ParamsError` on any problem."""
    return root.read_params(path, STUDIES)


def resolve_study(raw: dict[str, Any], study: str) -> dict[str, Any]:
    """The study section with every null profile key replaced by the active profile's value."""
    return root.resolve_study(raw, study, STUDIES)


def settings_from_raw(raw: dict[str, Any]) -> Any:
    """The :class:`Settings` of a valid params.yaml (profile values resolved)."""
    return root.settings_from_raw(raw, STUDIES)


def load_settings(path: str | Path = "params.yaml") -> Any:
    """Validated, profile-resolved settings from params.yaml."""
    return root.load_settings(path, STUDIES)


__all__ = [
    "STUDIES",
    "DataSettings",
    "ImageCsvSettings",
    "ParamsError",
    "Settings",
    "load_settings",
    "load_yaml",
    "read_params",
    "resolve_study",
    "settings_from_raw",
    "validate",
]
