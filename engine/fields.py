"""Reading typed fields out of located YAML mappings with precise error messages.

One reader serves protocols, reference tables and anything else people write by hand,
so every file gets the same kind of message: file:line:column, what was expected, what
was found, and which keys would have been accepted.
"""

from __future__ import annotations

import math
import re
from typing import Any

from engine.yamlsource import LocatedDict, LocatedList, Mark, SourceError

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_MISSING = object()


class FieldReader:
    """Reads fields of one mapping; `finish()` rejects keys nobody asked for."""

    def __init__(self, mapping: Any, what: str, fallback: Mark) -> None:
        if not isinstance(mapping, dict):
            raise SourceError(getattr(mapping, "mark", fallback),
                              f"{what}: expected a mapping of fields, got {_kind(mapping)}")
        self.mapping: LocatedDict = mapping  # type: ignore[assignment]
        self.what = what
        self.mark: Mark = getattr(mapping, "mark", fallback)
        self.seen: set[str] = set()

    def _mark(self, key: str) -> Mark:
        marks = getattr(self.mapping, "value_marks", {})
        return marks.get(key, self.mark)

    def error(self, key: str, message: str) -> SourceError:
        return SourceError(self._mark(key), f"{self.what}: '{key}' {message}")

    def _get(self, key: str, default: Any, required: bool) -> Any:
        self.seen.add(key)
        if key in self.mapping:
            return self.mapping[key]
        if required:
            raise SourceError(self.mark, f"{self.what}: missing required field '{key}'")
        return default

    def raw(self, key: str, default: Any = None, *, required: bool = False) -> Any:
        return self._get(key, default, required)

    def text(self, key: str, default: str | None = None, *, required: bool = False,
             max_length: int = 20_000) -> str | None:
        value = self._get(key, default, required)
        if value is None or value is default:
            return value
        if not isinstance(value, str):
            raise self.error(key, f"must be text, got {_kind(value)}")
        if len(value) > max_length:
            raise self.error(key, f"is longer than {max_length} characters")
        return value

    def identifier(self, key: str, default: str | None = None, *,
                   required: bool = False) -> str | None:
        value = self.text(key, default, required=required, max_length=64)
        if value is not None and key in self.mapping and not IDENTIFIER.match(value):
            raise self.error(key, f"must be a lower-case identifier (letters, digits, - and _), "
                                  f"got {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None, *,
               required: bool = False) -> str | None:
        value = self.text(key, default, required=required)
        if value is not None and key in self.mapping and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def number(self, key: str, default: float | None = None, *, required: bool = False,
               minimum: float | None = None, maximum: float | None = None,
               unit: str = "") -> float | None:
        value = self._get(key, default, required)
        if value is None:
            self._check_not_blank(key, required, default)
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number{f' in {unit}' if unit else ''}, "
                                  f"got {_kind(value)} {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise self.error(key, "must be a finite number")
        suffix = f" {unit}" if unit else ""
        if minimum is not None and number < minimum:
            raise self.error(key, f"is {number:g}{suffix}; the minimum is {minimum:g}{suffix}")
        if maximum is not None and number > maximum:
            raise self.error(key, f"is {number:g}{suffix}; the maximum is {maximum:g}{suffix}")
        return number

    def integer(self, key: str, default: int | None = None, *, required: bool = False,
                minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self._get(key, default, required)
        if value is None:
            self._check_not_blank(key, required, default)
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be a whole number, got {_kind(value)} {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"is {value}; the minimum is {minimum}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"is {value}; the maximum is {maximum}")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._get(key, default, False)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def sub(self, key: str, what: str, *, required: bool = False) -> FieldReader | None:
        value = self._get(key, None, required)
        if value is None and not (required and key in self.mapping):
            return None
        return FieldReader(value, f"{self.what}: {what}", self._mark(key))

    def items(self, key: str, *, required: bool = False) -> LocatedList:
        value = self._get(key, _MISSING, required)
        if value is _MISSING or value is None:
            empty = LocatedList()
            empty.mark, empty.item_marks = self._mark(key), []
            return empty
        if not isinstance(value, list):
            raise self.error(key, f"must be a list, got {_kind(value)}")
        return value  # type: ignore[return-value]

    def numbers(self, key: str, *, unit: str = "") -> tuple[float, ...]:
        """A list of finite numbers; a bad item is reported where it stands."""
        items = self.items(key)
        found = []
        for index, value in enumerate(items):
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value)):
                raise SourceError(items.mark_of(index), f"{self.what}: '{key}' item {index + 1} "
                                  f"must be a finite number{f' in {unit}' if unit else ''}, "
                                  f"got {_kind(value)} {value!r}")
            found.append(float(value))
        return tuple(found)

    def _check_not_blank(self, key: str, required: bool, default: Any) -> None:
        """`key:` written with no value where a value is needed (a null would not be
        replaced by the default silently)."""
        if key in self.mapping and (required or default is not None):
            raise self.error(key, "has no value")

    def finish(self) -> None:
        for key in self.mapping:
            if key not in self.seen:
                marks = getattr(self.mapping, "key_marks", {})
                allowed = ", ".join(sorted(self.seen))
                raise SourceError(marks.get(key, self.mark),
                                  f"{self.what}: unknown field '{key}' (expected one of: "
                                  f"{allowed})")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return type(value).__name__
