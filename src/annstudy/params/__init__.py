"""params.yaml: loading, validation and the effective settings of a run.

params.yaml is the single source of truth. It is validated as a whole before any
work starts, so a typo never costs a training run: every problem becomes one line
naming its key path (``studies.architectures.lr: must be > 0, got -1``) and the
command exits non-zero.

Each study owns a section ``studies.<name>`` whose schema and settings dataclass live
in ``annstudy.params.<name>`` (registered in :data:`STUDIES`: add a study there).
Profiles fill in the study keys left at ``null``: ``profiles.<profile>.<study>.<key>``,
or ``profiles.<profile>.seeds`` for the seeds every study shares; an explicit study
value always wins. :func:`load_settings` returns the resolved, typed :class:`Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from annstudy.data.settings import DataSettings, ImageCsvSettings
from annstudy.params.schema import (
    Field,
    ParamsError,
    boolean,
    fraction,
    list_of,
    non_negative_int,
    one_of,
    positive_int,
    seed,
    string,
    unknown_key,
    walk,
)
from annstudy.studies import STUDIES as STUDY_NAMES
from annstudy.studies import study_part

# Study name in params.yaml -> its config module (SCHEMA and build(study, raw_study, raw)).
STUDIES: dict[str, ModuleType] = {name: study_part(name, "config") for name in STUDY_NAMES}

# Profile keys shared by every study (a study's own profile section may override them).
SHARED_PROFILE_SCHEMA: dict[str, Field] = {"seeds": Field(list_of(seed))}

SCHEMA: dict[str, Any] = {
    "profile": Field(string),  # checked against `profiles` below
    "device": Field(one_of(["auto", "cpu", "cuda"], "device")),
    "deterministic": Field(boolean),
    "num_threads": Field(non_negative_int),
    "vectorize_seeds": Field(boolean),
    "channels_last": Field(boolean),
    "data": {
        "mirror": Field(string, nullable=True),
        "cifar10_mirror": Field(string, nullable=True),
        "download_root": Field(string),
        "split_seed": Field(non_negative_int),
        "val_fraction": Field(fraction),
        # A bring-your-own image dataset (dataset `image_csv`, data/image_csv.py).
        "image_csv": {
            "csv": Field(string, nullable=True),
            "image_dir": Field(string, nullable=True),
            "filename_column": Field(string),
            "label_column": Field(string),
            "image_size": Field(list_of(positive_int, unique=False, length=2)),
            "color": Field(one_of(["gray", "rgb"], "color")),
            "test_fraction": Field(fraction),
        },
        "regression_csv": Field(string, nullable=True),
    },
    "profiles": None,  # free-form names, each checked by _check_profiles
    "studies": {name: module.SCHEMA for name, module in STUDIES.items()},
}


def _profile_fields(study: str) -> dict[str, Field]:
    return {k: f for k, f in STUDIES[study].SCHEMA.items() if f.profile}


def _profile_value(profile: dict[str, Any], study: str, key: str) -> tuple[bool, Any]:
    """(found, value) of a profile-supplied study key: the study's own section first."""
    section = profile.get(study)
    if isinstance(section, dict) and key in section:
        return True, section[key]
    if key in SHARED_PROFILE_SCHEMA and key in profile:
        return True, profile[key]
    return False, None


def _check_profile(name: str, body: Any, studies: dict[str, Any], problems: list[str]) -> None:
    where = f"profiles.{name}"
    if not isinstance(body, dict):
        problems.append(f"{where}: must be a mapping, got {body!r}")
        return
    allowed = [*SHARED_PROFILE_SCHEMA, *STUDIES]
    for key, value in body.items():
        if key in SHARED_PROFILE_SCHEMA:
            if (msg := SHARED_PROFILE_SCHEMA[key].check(value)) is not None:
                problems.append(f"{where}.{key}: {msg}")
        elif key in STUDIES:
            fields = _profile_fields(key)
            if not isinstance(value, dict):
                problems.append(f"{where}.{key}: must be a mapping of study settings, got {value!r}")
                continue
            for k, v in value.items():
                if k not in fields:
                    problems.append(f"{where}.{key}.{k}: {unknown_key(str(k), list(fields))}")
                elif v is None:
                    if not fields[k].nullable:
                        problems.append(f"{where}.{key}.{k}: must be set, got null")
                elif (msg := fields[k].check(v)) is not None:
                    problems.append(f"{where}.{key}.{k}: {msg}")
        else:
            problems.append(f"{where}.{key}: {unknown_key(str(key), allowed)}")
    # Every study key left at null must be supplied by every profile, so switching the
    # profile can never fail halfway through a pipeline.
    for study, section in studies.items():
        if study not in STUDIES or not isinstance(section, dict):
            continue
        for key, spec in _profile_fields(study).items():
            if section.get(key) is None and not spec.nullable and not _profile_value(body, study, key)[0]:
                problems.append(
                    f"{where}.{study}.{key}: missing (studies.{study}.{key} is null, so the profile must set it)"
                )


def _check_profiles(raw: dict[str, Any], problems: list[str]) -> None:
    profiles = raw.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        problems.append("profiles: must be a mapping of profile name -> settings")
        return
    studies = raw.get("studies") if isinstance(raw.get("studies"), dict) else {}
    for name, body in profiles.items():
        _check_profile(name, body, studies, problems)
    profile = raw.get("profile")
    if isinstance(profile, str) and profile not in profiles:
        problems.append(f"profile: {one_of(list(profiles), 'profile')(profile)}")


def _check_image_csv(raw: dict[str, Any], problems: list[str]) -> None:
    """A study on dataset image_csv needs data.image_csv.csv: say so now, not when prepare runs."""
    data, studies = raw.get("data"), raw.get("studies")
    section = data.get("image_csv") if isinstance(data, dict) else None
    if not isinstance(studies, dict) or not isinstance(section, dict) or section.get("csv") is not None:
        return
    for name, study in studies.items():
        if isinstance(study, dict) and study.get("dataset") == "image_csv":
            problems.append(
                f"studies.{name}.dataset: image_csv needs data.image_csv.csv (a CSV of file names "
                "and labels; see docs/image_csv.md)"
            )


def validate(raw: Any) -> list[str]:
    """All problems of a parsed params.yaml, one line each (empty when valid)."""
    problems: list[str] = []
    walk(raw, SCHEMA, "", problems)
    if isinstance(raw, dict):
        _check_profiles(raw, problems)
        _check_image_csv(raw, problems)
    return problems


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Parse and validate params.yaml; raise :class:`ParamsError` on any problem."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError([f"file not found ({path.resolve()})"], path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ParamsError([f"{where}not valid YAML ({getattr(err, 'problem', err)})"], path) from None
    problems = validate(raw)
    if problems:
        raise ParamsError(problems, path)
    return raw


# ------------------------------------------------------------------ effective settings


@dataclass(frozen=True)
class Settings:
    profile: str
    device: str
    deterministic: bool
    num_threads: int
    vectorize_seeds: bool
    channels_last: bool
    data: DataSettings
    studies: dict[str, Any]  # study name -> its settings dataclass
    profile_seeds: tuple[int, ...] = ()  # profiles.<profile>.seeds: the default every study shares


def resolve_study(raw: dict[str, Any], study: str) -> dict[str, Any]:
    """The study section with every null profile key replaced by the active profile's value."""
    profile = raw["profiles"][raw["profile"]]
    section = dict(raw["studies"][study])
    for key, spec in STUDIES[study].SCHEMA.items():
        if spec.profile and section.get(key) is None:
            section[key] = _profile_value(profile, study, key)[1]
    return section


def data_settings(data: dict[str, Any]) -> DataSettings:
    image_csv = dict(data["image_csv"], image_size=tuple(data["image_csv"]["image_size"]))
    return DataSettings(**{**data, "image_csv": ImageCsvSettings(**image_csv)})


def settings_from_raw(raw: dict[str, Any]) -> Settings:
    studies = {
        name: module.build(resolve_study(raw, name), raw["studies"][name], raw) for name, module in STUDIES.items()
    }
    return Settings(
        profile=raw["profile"],
        device=raw["device"],
        deterministic=raw["deterministic"],
        num_threads=raw["num_threads"],
        vectorize_seeds=raw["vectorize_seeds"],
        channels_last=raw["channels_last"],
        data=data_settings(raw["data"]),
        studies=studies,
        profile_seeds=tuple(raw["profiles"][raw["profile"]].get("seeds", [])),
    )


def load_settings(path: str | Path = "params.yaml") -> Settings:
    """Validated, profile-resolved settings from params.yaml."""
    return settings_from_raw(read_params(path))


__all__ = [
    "STUDIES",
    "DataSettings",
    "ImageCsvSettings",
    "ParamsError",
    "Settings",
    "load_settings",
    "read_params",
    "resolve_study",
    "settings_from_raw",
    "validate",
]
