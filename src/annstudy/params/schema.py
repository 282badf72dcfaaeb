"""The building blocks of params.yaml validation: fields, value checks, the error type.

A schema is a dict of key -> :class:`Field` (leaf) or key -> dict (section). Checks
return ``None`` when a value is fine, else a message that completes the sentence
``<key path>: ...``. Study modules (``annstudy.params.<study>``) declare their own
schema with these blocks, so adding a study never touches the validator.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


class ParamsError(ValueError):
    """params.yaml is missing, unreadable or invalid; ``problems`` has one line each."""

    def __init__(self, problems: list[str], path: str | Path = "params.yaml"):
        self.problems = problems
        self.path = str(path)
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Field:
    """One leaf of the schema.

    ``nullable``: ``null`` is a meaningful value (e.g. "no mirror", "no CSV").
    ``profile``: ``null`` means "take it from the active profile"
    (``profiles.<profile>.<study>.<key>``, or ``profiles.<profile>.<key>`` for the
    keys every study shares, like ``seeds``); every profile must then provide it,
    unless the field is also ``nullable``.
    """

    check: Check
    nullable: bool = False
    profile: bool = False


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def positive_int(v: Any) -> str | None:
    return None if _is_int(v) and v > 0 else f"must be a positive integer, got {v!r}"


def non_negative_int(v: Any) -> str | None:
    return None if _is_int(v) and v >= 0 else f"must be an integer >= 0, got {v!r}"


def number(v: Any) -> str | None:
    return None if _is_num(v) else f"must be a finite number, got {v!r}"


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


def seed(v: Any) -> str | None:
    return None if _is_int(v) and 0 <= v < 2**31 else f"seeds must be integers in [0, 2^31), got {v!r}"


def unknown_key(key: str, allowed: list[str]) -> str:
    hint = difflib.get_close_matches(key, allowed, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"unknown key{suggestion}; allowed: {', '.join(allowed)}"


def walk(raw: Any, schema: dict[str, Any], prefix: str, problems: list[str]) -> None:
    """Check ``raw`` against ``schema``; append one line per problem to ``problems``."""
    if not isinstance(raw, dict):
        problems.append(f"{prefix.rstrip('.') or '<top>'}: must be a mapping, got {raw!r}")
        return
    for key in raw:
        if key not in schema:
            problems.append(f"{prefix}{key}: {unknown_key(str(key), list(schema))}")
    for key, spec in schema.items():
        path = f"{prefix}{key}"
        if key not in raw:
            problems.append(f"{path}: missing")
            continue
        value = raw[key]
        if spec is None:
            continue
        if isinstance(spec, dict):
            walk(value, spec, f"{path}.", problems)
        elif value is None:
            if not (spec.nullable or spec.profile):
                problems.append(f"{path}: must be set, got null")
        elif (msg := spec.check(value)) is not None:
            problems.append(f"{path}: {msg}")


def freeze(value: Any) -> Any:
    """A params value for a frozen settings dataclass: lists become tuples; mappings stay
    dicts (in file order) so the report's settings table shows them as ``key value``."""
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return {k: freeze(v) for k, v in value.items()}
    return value
