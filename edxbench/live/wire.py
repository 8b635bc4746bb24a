"""The wire format between the engine host and its clients: one JSON object per line.

Engine events are frozen dataclasses; each crosses as `{"__type__": name, field: value}`
with nested dataclasses tagged the same way. Sample arrays cross as base64 of their
little-endian bytes with dtype and shape (float32, float64 and the digitiser's int8/int16
codes; the sweep's scale and offset travel as ordinary fields). Non-finite floats are
tagged, because plain JSON has no NaN. Only the types registered here are decoded, so a
line can never make the other side build an arbitrary object (no pickle).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from engine import events as ev
from engine.prompts import Prompt
from instruments.sweep import StimulusInfo, Sweep

MAX_LINE = 64 * 1024 * 1024  # one needle EMG capture is a few MB; anything larger is refused

ARRAY_DTYPES = {"<f4": np.float32, "<f8": np.float64, "<i2": np.int16, "|i1": np.int8,
                "|u1": np.uint8, "<u2": np.uint16, "<i4": np.int32}

# Every dataclass defined in engine/events.py crosses: listing them by hand once left
# Interpretation out, so every live run warned that its interpretation was not delivered.
EVENT_TYPES: tuple[type, ...] = tuple(
    obj for obj in vars(ev).values()
    if isinstance(obj, type) and is_dataclass(obj) and obj.__module__ == ev.__name__)
TYPES: dict[str, type] = {cls.__name__: cls for cls in (*EVENT_TYPES, Prompt, Sweep,
                                                        StimulusInfo)}


class WireError(ValueError):
    """A line that is not a message of this protocol; the message says what was wrong."""


def to_wire(value: Any) -> Any:
    """Plain JSON-able data for an event, or anything inside one."""
    if is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if name not in TYPES:
            raise WireError(f"type {name} cannot cross the wire")
        out: dict[str, Any] = {"__type__": name}
        for f in fields(value):
            out[f.name] = to_wire(getattr(value, f.name))
        return out
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value.astype(value.dtype.newbyteorder("<")))
        key = array.dtype.str
        if key not in ARRAY_DTYPES:
            array, key = array.astype("<f8"), "<f8"
        return {"__array__": key, "shape": list(array.shape),
                "b64": base64.b64encode(array.tobytes()).decode("ascii")}
    if isinstance(value, np.generic):
        return to_wire(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}  # 'nan', 'inf', '-inf'
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise WireError(f"a {type(value).__name__} cannot cross the wire")


def from_wire(data: Any) -> Any:
    """The inverse of `to_wire`: registered dataclasses, arrays and floats come back."""
    if isinstance(data, list):
        return [from_wire(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__type__" in data:
        name = data["__type__"]
        cls = TYPES.get(name)
        if cls is None:
            raise WireError(f"unknown type {name!r}")
        kwargs = {}
        for f in fields(cls):
            if f.name in data:
                value = from_wire(data[f.name])
                if isinstance(value, list) and str(f.type).startswith("tuple"):
                    value = tuple(value)
                kwargs[f.name] = value
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise WireError(f"{name}: {exc}") from None
    if "__array__" in data:
        dtype = ARRAY_DTYPES.get(data["__array__"])
        if dtype is None:
            raise WireError(f"unsupported array dtype {data['__array__']!r}")
        raw = base64.b64decode(data["b64"], validate=True)
        return np.frombuffer(raw, dtype=np.dtype(data["__array__"])).astype(dtype).reshape(
            data["shape"])
    if "__float__" in data:
        return float(data["__float__"])
    return {k: from_wire(v) for k, v in data.items()}


def encode(message: dict[str, Any]) -> bytes:
    """One message as one line of UTF-8 JSON."""
    return json.dumps(to_wire(message), separators=(",", ":"), allow_nan=False).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """One received line as a message; WireError for anything else."""
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"not a JSON line: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("type", data.get("op")), str):
        raise WireError("a message must be an object with a 'type' or 'op'")
    try:
        return from_wire(data)
    except (KeyError, ValueError, TypeError) as exc:
        raise WireError(f"malformed message: {exc}") from None
