"""The building blocks of the params.yaml models: value types, sections, profile keys, errors.

A key is declared once, as a field of a pydantic model: its type (one of the checked types
below, which carry the bounds), a short description, and :func:`from_profile` when ``null``
means "the active profile's value". The checks are plain functions returning ``None`` when a
value is fine, else a message that completes the sentence ``<key path>: ...``; pydantic
collects every problem of a file, and :func:`problems` turns its errors into those lines.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Annotated, Any, Callable, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, PrivateAttr, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError


class ParamsError(ValueError):
    """params.yaml is missing, unreadable or invalid; ``problems`` has one line each."""

    def __init__(self, problems: list[str], path: str | Path = "params.yaml"):
        self.problems = problems
        self.path = str(path)
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


Check = Callable[[Any], "str | None"]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """An int or float, not a bool, and finite: what every number key accepts."""
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def positive_int(v: Any) -> str | None:
    return None if _is_int(v) and v > 0 else f"must be a positive integer, got {v!r}"


def non_negative_int(v: Any) -> str | None:
    return None if _is_int(v) and v >= 0 else f"must be an integer >= 0, got {v!r}"


def number(v: Any) -> str | None:
    return None if is_number(v) else f"must be a finite number, got {v!r}"


def _infinite(v: Any) -> bool:
    """inf or nan (YAML's .inf, or 1e400 read as inf): named as such, not as out of range."""
    return isinstance(v, float) and not math.isfinite(v)


def positive_number(v: Any) -> str | None:
    if _infinite(v):
        return f"must be a finite number > 0, got {v!r}"
    return None if is_number(v) and v > 0 else f"must be > 0, got {v!r}"


def non_negative_number(v: Any) -> str | None:
    return None if is_number(v) and v >= 0 else f"must be a finite number >= 0, got {v!r}"


def fraction(v: Any) -> str | None:
    return None if is_number(v) and 0 < v < 1 else f"must be a number in (0, 1), got {v!r}"


def boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


def string(v: Any) -> str | None:
    return None if isinstance(v, str) and v else f"must be a non-empty string, got {v!r}"


def seed(v: Any) -> str | None:
    return None if _is_int(v) and 0 <= v < 2**31 else f"seeds must be integers in [0, 2^31), got {v!r}"


def did_you_mean(word: str, choices: list[str]) -> str:
    hint = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def one_of(names: Callable[[], list[str]] | list[str], what: str) -> Check:
    """A name from a list (or a registry, read when checking, so plug-ins registered later count)."""

    def check(v: Any) -> str | None:
        choices = names() if callable(names) else names
        if isinstance(v, str) and v in choices:
            return None
        return f"unknown {what} {v!r}{did_you_mean(str(v), choices)}; choose from {', '.join(choices)}"

    return check


def list_of(item: Check, *, unique: bool = True, length: int | None = None) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list):
            return f"must be a list, got {v!r}"
        if not v:
            return "must not be empty"
        if length is not None and len(v) != length:
            return f"must be a list of {length} items, got {v!r}"
        for i, x in enumerate(v):
            if (msg := item(x)) is not None:
                return f"item {i}: {msg}"
        if unique and len({repr(x) for x in v}) != len(v):
            return f"must not repeat values, got {v!r}"
        return None

    return check


def mapping_of(key: Check, value: Check) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, dict):
            return f"must be a mapping, got {v!r}"
        for k, x in v.items():
            if (msg := key(k)) is not None:
                return msg
            if (msg := value(x)) is not None:
                return f"{k}: {msg}"
        return None

    return check


def unknown_key(key: str, allowed: list[str]) -> str:
    return f"unknown key{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"


# ------------------------------------------------------------------ checked types


def checked(check: Check, convert: Callable[[Any], Any] = lambda v: v) -> PlainValidator:
    """A pydantic validator running ``check`` (``null`` is refused: a nullable key says ``X | None``);
    ``convert`` gives the settings their frozen form (lists become tuples)."""

    def validate(v: Any) -> Any:
        msg = "must be set, got null" if v is None else check(v)
        if msg is not None:
            raise PydanticCustomError("params", "{msg}", {"msg": msg})
        return convert(v)

    return PlainValidator(validate)


def items(check: Check) -> PlainValidator:
    """A list check whose value the settings hold as a tuple."""
    return checked(check, tuple)


PositiveInt = Annotated[int, checked(positive_int)]
NonNegativeInt = Annotated[int, checked(non_negative_int)]
Number = Annotated[float, checked(number)]
PositiveNumber = Annotated[float, checked(positive_number)]
NonNegativeNumber = Annotated[float, checked(non_negative_number)]
Fraction = Annotated[float, checked(fraction)]
Flag = Annotated[bool, checked(boolean)]
Text = Annotated[str, checked(string)]
Seeds = Annotated[tuple[int, ...], items(list_of(seed))]
Sizes = Annotated[tuple[int, ...], items(list_of(positive_int, unique=False))]  # layer widths may repeat


def OneOf(names: Callable[[], list[str]] | list[str], what: str) -> Any:  # noqa: N802 (a type)
    return Annotated[str, checked(one_of(names, what))]


def ListOf(item: Check, **kwargs: Any) -> Any:  # noqa: N802 (a type)
    return Annotated[tuple, items(list_of(item, **kwargs))]


def MappingOf(key: Check, value: Check) -> Any:  # noqa: N802 (a type)
    return Annotated[dict, checked(mapping_of(key, value))]


class Section(BaseModel):
    """A mapping of params.yaml: unknown keys are errors, and the settings never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StudyConfig(Section):
    """A study's section ``studies.<name>``. ``params`` is the whole file with profile values
    resolved, for the settings a study takes from elsewhere (the dataset S2 shares with S1)."""

    _params: dict = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        if isinstance(context, dict):
            self._params = context["params"]

    @property
    def params(self) -> dict[str, Any]:
        return self._params

    def settings_rows(self) -> list[str]:
        """The attributes the report's settings table shows, in order (default: the keys)."""
        return list(type(self).model_fields)


def written(info: ValidationInfo, study: str, key: str) -> Any:
    """``studies.<study>.<key>`` as written in the file, before the profile filled it in."""
    studies = (info.context or {}).get("written", {}).get("studies")
    section = studies.get(study) if isinstance(studies, dict) else None
    return section.get(key) if isinstance(section, dict) else None


def from_profile(description: str, *, nullable: bool = False) -> Any:
    """A study key whose ``null`` means the active profile's value; every profile must then supply
    it (a ``nullable`` one may also be left out, or set to ``null``, meaning "none")."""
    return Field(description=description, json_schema_extra={"profile": "nullable" if nullable else "required"})


def profile_keys(model: type[BaseModel]) -> dict[str, bool]:
    """Key -> nullable for every profile-supplied key of a study model."""
    extra = {k: (f.json_schema_extra or {}).get("profile") for k, f in model.model_fields.items()}
    return {k: v == "nullable" for k, v in extra.items() if v}


# ------------------------------------------------------------------ error lines


def _model_in(tp: Any) -> Any:
    """The model class in an annotation (itself, or the model of ``Model | None``)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return next((m for m in map(_model_in, get_args(tp)) if m is not None), None)


def _allowed_keys(model: Any, loc: tuple) -> list[str]:
    """The keys of the section at ``loc`` (for did-you-mean on an unknown key)."""
    tp: Any = model
    for part in loc:
        if get_origin(tp) is dict:  # a mapping of names (profiles) -> its value type
            tp = get_args(tp)[1]
        elif (m := _model_in(tp)) is not None and part in m.model_fields:
            tp = m.model_fields[part].annotation
        else:
            return []
    m = _model_in(tp)
    return list(m.model_fields) if m is not None else []


def _line(error: Any, model: type[BaseModel]) -> str:
    """One problem as ``<key path>: <message>``. The list items are checked inside the checks
    (which say ``item N``), so a number in a pydantic location is a mapping key, written as is."""
    loc = tuple(error["loc"])
    path = ".".join(map(str, loc)) or "<top>"
    kind = error["type"]
    if kind == "missing":
        message = "missing"
    elif kind == "extra_forbidden":
        message = unknown_key(str(loc[-1]), _allowed_keys(model, loc[:-1]))
    elif kind == "value_error":  # a rule across keys of a section (a model validator)
        message = str(error["ctx"]["error"])
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"must be a mapping, got {error['input']!r}"
    elif kind == "too_short":
        message = "must not be empty"
    elif kind == "params":
        message = error["ctx"]["msg"]
    else:
        message = error["msg"]  # pydantic's own sentence, one line, without its URL
    return f"{path}: {message}"


def problems(err: ValidationError, model: type[BaseModel]) -> list[tuple[tuple, str]]:
    """(location, line) for every error pydantic found while validating ``model``."""
    return [(tuple(e["loc"]), _line(e, model)) for e in err.errors(include_url=False)]
