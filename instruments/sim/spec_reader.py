"""Typed field access for the virtual-subject YAML, with errors naming file and field.

Shared by every spec module so a mistake anywhere in a subject (or a preset that
made it invalid) reads the same: ``<file>: <dotted.field>: <what is wrong>``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


class SubjectFormatError(ValueError):
    """A subject file is malformed; the message names file and field."""


class Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> SubjectFormatError:
        return SubjectFormatError(f"{self.path}: {where}: {message}")

    def mapping(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "must be a mapping")
        return data

    def get(self, data: dict[str, Any], key: str, where: str) -> Any:
        if key not in data:
            raise self.fail(f"{where}.{key}".lstrip("."), "missing")
        return data[key]

    def number(
        self, data: dict[str, Any], key: str, where: str, *, minimum: float = 0.0,
        maximum: float = math.inf, default: float | None = None, strict: bool = True,
    ) -> float:
        field = f"{where}.{key}".lstrip(".")
        value = data.get(key, default) if default is not None else self.get(data, key, where)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"must be a number, got {value!r}")
        low_ok = value > minimum if strict else value >= minimum
        if not low_ok or value > maximum:
            bound = ">" if strict else ">="
            raise self.fail(field, f"must be {bound} {minimum} and <= {maximum}, got {value}")
        return float(value)

    def fraction(self, data: dict[str, Any], key: str, where: str, default: float) -> float:
        return self.number(data, key, where, maximum=1.0, strict=False, default=default)

    def text(self, data: dict[str, Any], key: str, where: str) -> str:
        value = self.get(data, key, where)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}".lstrip("."), "must be a non-empty string")
        return value

    def flag(self, data: dict[str, Any], key: str, where: str) -> bool:
        value = self.get(data, key, where)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", "must be true or false")
        return value

    def strings(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise self.fail(f"{where}.{key}", "must be a list of names")
        return tuple(value)
