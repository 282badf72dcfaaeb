"""params.yaml's root: the keys of a run, the profiles, and the sections of the studies asked for.

A study's section ``studies.<name>`` is the pydantic model ``CONFIG`` of
``annstudy.studies.<name>.config``; this module imports none of them. Every function takes
``configs`` (study name -> model), the studies to validate: a training stage validates the run's
keys and the sections of the studies whose config it runs (annstudy/pipeline/stage.py), so it
depends on those configs only (dvc.yaml's code deps); :mod:`annstudy.params.settings` binds every
study's config, for ``annstudy validate`` and the stages that check the whole file.

Profiles fill in the study keys left at ``null`` (declared with
:func:`~annstudy.params.schema.from_profile`): ``profiles.<profile>.<study>.<key>``, or
``profiles.<profile>.seeds`` for the seeds every study shares; an explicit study value always wins.
Every problem is one line naming its key path (``studies.architectures.lr: must be > 0, got -1``).

The file is read as YAML 1.2, as DVC writes it: ``dvc exp run -S ...lr=0.00001`` writes
``lr: 1e-05``, a float in YAML 1.2 (a YAML 1.1 loader reads it as a string).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from annstudy.data.settings import DataSettings, ImageCsvSettings
from annstudy.params.schema import (
    Flag,
    Fraction,
    ListOf,
    NonNegativeInt,
    OneOf,
    ParamsError,
    Section,
    Seeds,
    Text,
    one_of,
    positive_int,
    problems,
    profile_keys,
)
from annstudy.studies import STUDIES as STUDY_NAMES

# Study name in params.yaml -> its model (the settings object its stages and report receive).
Configs = Mapping[str, type[BaseModel]]

# ------------------------------------------------------------------ YAML 1.2


def load_yaml(text: str, name: str | Path = "params.yaml") -> Any:
    """Parse YAML 1.2 (as DVC reads and writes params files); a duplicate key is an error."""
    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ParamsError([f"{where}not valid YAML ({err.problem or err.context})"], name) from None
    except YAMLError as err:
        raise ParamsError([f"not valid YAML ({str(err).splitlines()[0]})"], name) from None


# ------------------------------------------------------------------ the run's keys


MAX_IMAGE_SIDE = 2048  # pixels: one 2048 x 2048 RGB image is 48 MiB as float32, a batch of 64 is 3 GiB


def image_side(v: Any) -> str | None:
    """A side of ``data.image_csv.image_size``: bounded, since every image is held at that size in memory."""
    if (problem := positive_int(v)) is not None:
        return problem
    if v > MAX_IMAGE_SIDE:
        gib = v * v * 4 / 2**30
        return f"must be at most {MAX_IMAGE_SIDE} pixels, got {v} (one {v} x {v} image is {gib:,.1f} GiB as float32)"
    return None


class ImageCsv(Section):
    """``data.image_csv``: a bring-your-own image dataset (dataset ``image_csv``, data/image_csv.py)."""

    csv: Text | None = Field(description="CSV of image file names and labels (null: not configured)")
    image_dir: Text | None = Field(description="folder the file names are relative to (null: the CSV's)")
    filename_column: Text = Field(description="CSV column with the image file name")
    label_column: Text = Field(description="CSV column with the class label")
    image_size: ListOf(image_side, unique=False, length=2) = Field(description="[H, W] every image is resized to")
    color: OneOf(["gray", "rgb"], "color") = Field(description="gray (1 channel) or rgb (3 channels)")
    test_fraction: Fraction = Field(description="test share (equal per class)")


class Data(Section):
    """``data``: where the datasets come from and how they are split."""

    mirror: Text | None = Field(description="Fashion-MNIST idx files: a folder, auto, or null to download")
    cifar10_mirror: Text | None = Field(description="CIFAR-10 archive folder, auto, or null to download")
    download_root: Text = Field(description="where downloads go")
    split_seed: NonNegativeInt = Field(description="seed of the stratified validation split")
    val_fraction: Fraction = Field(description="validation share of the training set")
    image_csv: ImageCsv
    regression_csv: Text | None = Field(description="x,y CSV for S5's non-linear fit (null: synthetic)")


class Settings(Section):
    """The keys of a run as a whole. The model a run validates adds ``profiles`` and ``studies``,
    built for its studies by :func:`settings_model` (every study's: annstudy.params.settings)."""

    profile: Text = Field(description="the profile supplying the study keys left at null")
    device: OneOf(["auto", "cpu", "cuda", "mps"], "device") = Field(
        description="auto (CUDA, else MPS, else CPU), cpu, cuda or mps"
    )
    deterministic: Flag = Field(description="deterministic algorithms (bit-identical reruns)")
    numerics: OneOf(["portable", "native"], "numerics") = Field(
        description="portable (CPU kernels pinned to AVX2: the same bits on any x86-64) or native"
    )
    num_threads: NonNegativeInt = Field(description="torch intra-op threads (0: torch's default)")
    vectorize_seeds: Flag = Field(description="train the seeds of one configuration as one stacked network")
    channels_last: Flag = Field(description="NHWC layout for convolutions")
    data: Data

    @field_validator("data", mode="after")
    @classmethod
    def _data_layer(cls, data: Data) -> DataSettings:
        """The data layer's own frozen dataclass (data/settings.py), so ``data`` never imports ``params``."""
        image_csv = ImageCsvSettings(**dict(data.image_csv))
        return DataSettings(**{**dict(data), "image_csv": image_csv})

    @property
    def profile_seeds(self) -> tuple[int, ...]:
        """``profiles.<profile>.seeds``: the default every study shares."""
        return self.profiles[self.profile].seeds or ()


class _Studies(Section):
    def __getitem__(self, study: str) -> Any:
        return getattr(self, study)


def _profile_section(study: str, model: type[BaseModel]) -> type[Section]:
    """``profiles.<p>.<study>``: the study's profile keys, same types, each optional."""
    keys = profile_keys(model)
    fields = {k: (model.model_fields[k].rebuild_annotation(), None) for k in keys}
    return create_model(f"{model.__name__}Profile", __base__=Section, **fields)


@lru_cache(maxsize=None)
def _model(configs: tuple[tuple[str, type[BaseModel]], ...]) -> type[Settings]:
    profile = create_model(
        "Profile",
        __base__=Section,
        seeds=(Seeds, Field(None, description="the seeds of every study that sets none of its own")),
        **{name: (_profile_section(name, model) | None, None) for name, model in configs},
    )
    studies = create_model("Studies", __base__=_Studies, **{name: (model, ...) for name, model in configs})
    return create_model(
        "Settings",
        __base__=Settings,
        profiles=(dict[str, profile], Field(min_length=1, description="profile name -> the values it supplies")),
        studies=(studies, Field(description="one section per study")),
    )


def settings_model(configs: Configs) -> type[Settings]:
    """The root model of a run validating the sections of ``configs`` (in the registry's order)."""
    return _model(tuple((name, configs[name]) for name in STUDY_NAMES if name in configs))


# ------------------------------------------------------------------ the studies asked for, and profiles


def _only(raw: Any, configs: Configs) -> Any:
    """``raw`` without the sections (``studies.<s>``, ``profiles.<p>.<s>``) of the registered studies not
    in ``configs``: left unread, never reported. A name no study has stays, to be reported as unknown."""
    skipped = [name for name in STUDY_NAMES if name not in configs]
    if not skipped or not isinstance(raw, dict):
        return raw
    kept = dict(raw)
    if isinstance(raw.get("studies"), dict):
        kept["studies"] = {k: v for k, v in raw["studies"].items() if k not in skipped}
    if isinstance(raw.get("profiles"), dict):
        kept["profiles"] = {
            name: {k: v for k, v in body.items() if k not in skipped} if isinstance(body, dict) else body
            for name, body in raw["profiles"].items()
        }
    return kept


def _profile_value(profile: Any, study: str, key: str) -> tuple[bool, Any]:
    """(found, value) of a profile-supplied study key: the study's own section first."""
    section = profile.get(study) if isinstance(profile, dict) else None
    if isinstance(section, dict) and key in section:
        return True, section[key]
    if key == "seeds" and isinstance(profile, dict) and key in profile:
        return True, profile[key]
    return False, None


def _resolve(raw: Any, configs: Configs) -> tuple[Any, set[tuple]]:
    """``raw`` with every study key written as null filled from the active profile, and the
    locations so filled (their problems are reported under ``profiles``, for every profile)."""
    studies = raw.get("studies") if isinstance(raw, dict) else None
    if not isinstance(studies, dict):
        return raw, set()
    resolved, filled = copy.deepcopy(raw), set()
    profiles = raw.get("profiles")
    name = raw.get("profile")
    profile = profiles.get(name) if isinstance(profiles, dict) and isinstance(name, str) else None
    for study, model in configs.items():
        section = resolved["studies"].get(study)
        if not isinstance(section, dict):
            continue
        for key in profile_keys(model):
            if key in section and section[key] is None:
                filled.add(("studies", study, key))
                section[key] = _profile_value(profile, study, key)[1]
    return resolved, filled


def _unsupplied(raw: dict[str, Any], configs: Configs) -> list[tuple[tuple, str]]:
    """Every study key left at null must be supplied by every profile, so switching the
    profile can never fail halfway through a pipeline."""
    profiles, studies = raw.get("profiles"), raw.get("studies")
    if not isinstance(profiles, dict) or not isinstance(studies, dict):
        return []
    found = []
    for name, body in profiles.items():
        for study, section in studies.items():
            if study not in configs or not isinstance(section, dict) or not isinstance(body, dict):
                continue
            for key, nullable in profile_keys(configs[study]).items():
                if section.get(key) is None and not nullable and not _profile_value(body, study, key)[0]:
                    why = f"missing (studies.{study}.{key} is null, so the profile must set it)"
                    found.append((("profiles", name, study, key), f"profiles.{name}.{study}.{key}: {why}"))
    return found


def _cross_checks(raw: Any, configs: Configs) -> list[tuple[tuple, str]]:
    """The rules across sections: profiles supply the null keys, the profile exists, and a study on
    dataset image_csv has data.image_csv.csv (said now, not when prepare runs)."""
    if not isinstance(raw, dict):
        return []
    found = _unsupplied(raw, configs)
    profiles, profile = raw.get("profiles"), raw.get("profile")
    if isinstance(profiles, dict) and profiles and isinstance(profile, str) and profile not in profiles:
        found.append((("profile",), f"profile: {one_of(list(profiles), 'profile')(profile)}"))
    data, studies = raw.get("data"), raw.get("studies")
    image_csv = data.get("image_csv") if isinstance(data, dict) else None
    if isinstance(studies, dict) and isinstance(image_csv, dict) and image_csv.get("csv") is None:
        for name, study in studies.items():
            if isinstance(study, dict) and study.get("dataset") == "image_csv":
                why = "image_csv needs data.image_csv.csv (a CSV of file names and labels; see docs/image_csv.md)"
                found.append((("studies", name, "dataset"), f"studies.{name}.dataset: {why}"))
    return found


def _document_order(raw: Any, loc: tuple) -> list[int]:
    """Where ``loc`` sits in the file (a missing key after its section's keys): problems are listed in file order."""
    order, node = [], raw
    for part in loc:
        keys = list(node) if isinstance(node, dict) else []
        order.append(keys.index(part) if part in keys else len(keys))
        node = node.get(part) if isinstance(node, dict) else None
    return order


# ------------------------------------------------------------------ validation and loading


def validate(raw: Any, configs: Configs) -> list[str]:
    """All problems of a parsed params.yaml in the run's keys and the sections of ``configs``, one line
    each, in file order (empty when valid)."""
    written = _only(raw, configs)
    resolved, filled = _resolve(written, configs)
    model, found = settings_model(configs), []
    try:
        model.model_validate(resolved, context={"params": resolved, "written": written})
    except ValidationError as err:
        found = [(loc, line) for loc, line in problems(err, model) if loc not in filled]
    found += _cross_checks(written, configs)
    return [line for _, line in sorted(found, key=lambda p: _document_order(raw, p[0]))]


def read_params(path: str | Path, configs: Configs) -> dict[str, Any]:
    """Parse and validate params.yaml (see :func:`validate`); raise :class:`ParamsError` on any problem."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError([f"file not found ({path.resolve()})"], path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise ParamsError([f"line {line}: not UTF-8 text ({err.reason})"], path) from None
    raw = load_yaml(text, path)
    found = validate(raw, configs)
    if found:
        raise ParamsError(found, path)
    return raw


def resolve_study(raw: dict[str, Any], study: str, configs: Configs) -> dict[str, Any]:
    """The study section with every null profile key replaced by the active profile's value."""
    return _resolve(raw, configs)[0]["studies"][study]


def settings_from_raw(raw: dict[str, Any], configs: Configs) -> Any:
    """The settings of a valid params.yaml (profile values resolved): the run's keys and the sections of ``configs``."""
    written = _only(raw, configs)
    resolved = _resolve(written, configs)[0]
    return settings_model(configs).model_validate(resolved, context={"params": resolved, "written": written})


def load_settings(path: str | Path, configs: Configs) -> Any:
    """Validated, profile-resolved settings from params.yaml: the run's keys and the sections of ``configs``."""
    return settings_from_raw(read_params(path, configs), configs)
