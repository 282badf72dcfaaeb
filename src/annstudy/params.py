"""params.yaml: loading, validation and the effective settings of a run.

params.yaml is the single source of truth. It is validated as a whole before any
work starts, so a typo never costs a training run: every problem becomes one line
naming its key path (``studies.architectures.lr: must be > 0, got -1``) and the
command exits non-zero.

Profiles fill in the study settings left at ``null`` (seeds, epochs, logging);
an explicit study value always wins. :func:`load_settings` returns the resolved,
typed :class:`Settings` the stages and the report use.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import yaml

from annstudy.data.registry import DATASETS
from annstudy.engine.optim import OPTIMIZERS
from annstudy.models.zoo import ARCHITECTURES


class ParamsError(ValueError):
    """params.yaml is missing, unreadable or invalid; ``problems`` has one line each."""

    def __init__(self, problems: list[str], path: str | Path = "params.yaml"):
        self.problems = problems
        self.path = str(path)
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


# --------------------------------------------------------------------------- schema
# A schema is a dict of key -> Field (leaf) or key -> dict (section).
# Checks return None when the value is fine, else a message.

Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Field:
    check: Check
    nullable: bool = False


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def positive_int(v: Any) -> str | None:
    return None if _is_int(v) and v > 0 else f"must be a positive integer, got {v!r}"


def non_negative_int(v: Any) -> str | None:
    return None if _is_int(v) and v >= 0 else f"must be an integer >= 0, got {v!r}"


def positive_number(v: Any) -> str | None:
    return None if _is_num(v) and v > 0 else f"must be > 0, got {v!r}"


def non_negative_number(v: Any) -> str | None:
    return None if _is_num(v) and v >= 0 else f"must be a number >= 0, got {v!r}"


def fraction(v: Any) -> str | None:
    return None if _is_num(v) and 0 < v < 1 else f"must be a number in (0, 1), got {v!r}"


def boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


def string(v: Any) -> str | None:
    return None if isinstance(v, str) and v else f"must be a non-empty string, got {v!r}"


def one_of(names: Callable[[], list[str]] | list[str], what: str) -> Check:
    def check(v: Any) -> str | None:
        choices = names() if callable(names) else names
        if isinstance(v, str) and v in choices:
            return None
        hint = difflib.get_close_matches(str(v), choices, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"unknown {what} {v!r}{suggestion}; choose from {', '.join(choices)}"

    return check


def list_of(item: Check, *, unique: bool = True) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list):
            return f"must be a list, got {v!r}"
        if not v:
            return "must not be empty"
        for i, x in enumerate(v):
            if (msg := item(x)) is not None:
                return f"item {i}: {msg}"
        if unique and len({repr(x) for x in v}) != len(v):
            return f"must not repeat values, got {v!r}"
        return None

    return check


def seed(v: Any) -> str | None:
    return None if _is_int(v) and 0 <= v < 2**31 else f"seeds must be integers in [0, 2^31), got {v!r}"


PROFILE_SCHEMA: dict[str, Field] = {
    "seeds": Field(list_of(seed)),
    "epochs": Field(positive_int),
    "log_every": Field(positive_int),
    "val_subset": Field(non_negative_int),
    "train_limit": Field(non_negative_int),
    "train_eval_subset": Field(non_negative_int),
}
PROFILE_REQUIRED = ("seeds", "epochs", "log_every", "val_subset")
PROFILE_KEYS = tuple(PROFILE_SCHEMA)


def epochs_by_arch(v: Any) -> str | None:
    if not isinstance(v, dict):
        return f"must be a mapping architecture -> epochs, got {v!r}"
    for arch, epochs in v.items():
        if (msg := one_of(lambda: list(ARCHITECTURES), "architecture")(arch)) is not None:
            return msg
        if (msg := positive_int(epochs)) is not None:
            return f"{arch}: {msg}"
    return None


# Profile-only knob: per-architecture epochs where the profile's single value would be
# too costly (quick) or too short; an explicit studies.architectures.epochs overrides it.
PROFILE_EXTRA: dict[str, Field] = {"epochs_by_arch": Field(epochs_by_arch)}

SCHEMA: dict[str, Any] = {
    "profile": Field(string),  # checked against `profiles` below
    "device": Field(one_of(["auto", "cpu", "cuda"], "device")),
    "deterministic": Field(boolean),
    "num_threads": Field(non_negative_int),
    "vectorize_seeds": Field(boolean),
    "channels_last": Field(boolean),
    "data": {
        "mirror": Field(string, nullable=True),
        "download_root": Field(string),
        "split_seed": Field(non_negative_int),
        "val_fraction": Field(fraction),
    },
    "profiles": None,  # free-form names, each checked against PROFILE_SCHEMA
    "studies": {
        "architectures": {
            "dataset": Field(one_of(lambda: sorted(DATASETS), "dataset")),
            "archs": Field(list_of(one_of(lambda: list(ARCHITECTURES), "architecture"))),
            "optimizer": Field(one_of(lambda: list(OPTIMIZERS), "optimizer")),
            "lr": Field(positive_number),
            "momentum": Field(non_negative_number),
            "batch_size": Field(positive_int),
            "eval_batch_size": Field(positive_int),
            **{k: Field(f.check, nullable=True) for k, f in PROFILE_SCHEMA.items()},
            "underfit_train_acc": Field(fraction),
            "overfit_gap": Field(fraction),
            "misclassified_shown": Field(non_negative_int),
        },
    },
}


def _unknown(key: str, allowed: list[str]) -> str:
    hint = difflib.get_close_matches(key, allowed, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"unknown key{suggestion}; allowed: {', '.join(allowed)}"


def _walk(raw: Any, schema: dict[str, Any], prefix: str, problems: list[str]) -> None:
    if not isinstance(raw, dict):
        problems.append(f"{prefix or '<top>'}: must be a mapping, got {raw!r}")
        return
    for key in raw:
        if key not in schema:
            problems.append(f"{prefix}{key}: {_unknown(str(key), list(schema))}")
    for key, spec in schema.items():
        path = f"{prefix}{key}"
        if key not in raw:
            problems.append(f"{path}: missing")
            continue
        value = raw[key]
        if spec is None:
            continue
        if isinstance(spec, dict):
            _walk(value, spec, f"{path}.", problems)
        elif value is None:
            if not spec.nullable:
                problems.append(f"{path}: must be set, got null")
        elif (msg := spec.check(value)) is not None:
            problems.append(f"{path}: {msg}")


def _check_profiles(raw: dict[str, Any], problems: list[str]) -> None:
    profiles = raw.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        problems.append("profiles: must be a mapping of profile name -> settings")
        return
    for name, body in profiles.items():
        if not isinstance(body, dict):
            problems.append(f"profiles.{name}: must be a mapping, got {body!r}")
            continue
        allowed = {**PROFILE_SCHEMA, **PROFILE_EXTRA}
        for key in body:
            if key not in allowed:
                problems.append(f"profiles.{name}.{key}: {_unknown(str(key), list(allowed))}")
        for key in PROFILE_REQUIRED:
            if key not in body:
                problems.append(f"profiles.{name}.{key}: missing")
        for key, value in body.items():
            if key in allowed and (msg := allowed[key].check(value)) is not None:
                problems.append(f"profiles.{name}.{key}: {msg}")
    profile = raw.get("profile")
    if isinstance(profile, str) and profile not in profiles:
        problems.append(f"profile: {one_of(list(profiles), 'profile')(profile)}")


def validate(raw: Any) -> list[str]:
    """All problems of a parsed params.yaml, one line each (empty when valid)."""
    problems: list[str] = []
    _walk(raw, SCHEMA, "", problems)
    if isinstance(raw, dict):
        _check_profiles(raw, problems)
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
class DataSettings:
    mirror: str | None
    download_root: str
    split_seed: int
    val_fraction: float


@dataclass(frozen=True)
class TrainSettings:
    """How one configuration is trained: everything the engine needs, nothing else."""

    optimizer: str
    lr: float
    momentum: float
    batch_size: int
    eval_batch_size: int
    seeds: tuple[int, ...]
    epochs: int
    log_every: int
    val_subset: int
    train_limit: int
    train_eval_subset: int
    vectorize: bool = False  # all seeds as one stacked network (models/stacked.py)
    channels_last: bool = False  # NHWC memory layout for convolutions


@dataclass(frozen=True)
class ArchitecturesSettings:
    dataset: str
    archs: tuple[str, ...]
    train: TrainSettings
    underfit_train_acc: float
    overfit_gap: float
    misclassified_shown: int
    epochs_by_arch: tuple[tuple[str, int], ...] = ()

    def train_for(self, arch: str) -> TrainSettings:
        """The training settings of one architecture (the profile may set its epochs)."""
        epochs = dict(self.epochs_by_arch).get(arch, self.train.epochs)
        return replace(self.train, epochs=epochs)


@dataclass(frozen=True)
class Settings:
    profile: str
    device: str
    deterministic: bool
    num_threads: int
    data: DataSettings
    architectures: ArchitecturesSettings

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _resolve_profile_keys(study: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    resolved = {}
    for key in PROFILE_KEYS:
        value = study.get(key)
        resolved[key] = profile.get(key, 0) if value is None else value
    return resolved


def settings_from_raw(raw: dict[str, Any]) -> Settings:
    profile = raw["profiles"][raw["profile"]]
    arch = raw["studies"]["architectures"]
    pk = _resolve_profile_keys(arch, profile)
    train = TrainSettings(
        optimizer=arch["optimizer"],
        lr=float(arch["lr"]),
        momentum=float(arch["momentum"]),
        batch_size=arch["batch_size"],
        eval_batch_size=arch["eval_batch_size"],
        seeds=tuple(pk["seeds"]),
        epochs=pk["epochs"],
        log_every=pk["log_every"],
        val_subset=pk["val_subset"],
        train_limit=pk["train_limit"],
        train_eval_subset=pk["train_eval_subset"],
        vectorize=raw["vectorize_seeds"],
        channels_last=raw["channels_last"],
    )
    # An explicit study-level epochs applies to every architecture.
    by_arch = {} if arch["epochs"] is not None else profile.get("epochs_by_arch", {})
    return Settings(
        profile=raw["profile"],
        device=raw["device"],
        deterministic=raw["deterministic"],
        num_threads=raw["num_threads"],
        data=DataSettings(**raw["data"]),
        architectures=ArchitecturesSettings(
            dataset=arch["dataset"],
            archs=tuple(arch["archs"]),
            train=train,
            underfit_train_acc=float(arch["underfit_train_acc"]),
            overfit_gap=float(arch["overfit_gap"]),
            misclassified_shown=arch["misclassified_shown"],
            epochs_by_arch=tuple(sorted(by_arch.items())),
        ),
    )


def load_settings(path: str | Path = "params.yaml") -> Settings:
    """Validated, profile-resolved settings from params.yaml."""
    return settings_from_raw(read_params(path))
