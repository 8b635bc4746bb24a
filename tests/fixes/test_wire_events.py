"""Every event dataclass in engine/events.py crosses the live wire and comes back equal.

The classes are found by reading engine/events.py itself, so an event added there without
a way across the wire fails here (Interpretation once did, and every live run warned)."""

from __future__ import annotations

import ast
import math
import typing
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np
import pytest

from edxbench.live.wire import decode, encode
from engine import events as ev
from engine.prompts import Prompt
from instruments.sweep import StimulusInfo, Sweep

EVENTS_FILE = Path(ev.__file__)


def dataclass_names() -> list[str]:
    """Names of the classes decorated with @dataclass in engine/events.py."""
    tree = ast.parse(EVENTS_FILE.read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
                "dataclass" in ast.unparse(d) for d in node.decorator_list):
            names.append(node.name)
    return names


def sample(annotation: str) -> typing.Any:
    """A non-default value for a field, chosen from its annotation's text."""
    a = annotation.replace(" ", "")
    if a.startswith("Literal["):
        return ast.literal_eval(a[len("Literal["):-1].split(",")[-1])
    if a.startswith("RunStatus"):
        return "completed"
    if a.startswith("StepStatus"):
        return "done"
    if a.startswith("Outcome"):
        return "abnormal"
    if a.startswith("Sweep"):
        return Sweep(np.arange(8, dtype="<i2"), 1e-6, 0.0, 20_000.0, -0.002,
                     StimulusInfo(12.5, 0.2, 2, 1.0))
    if a.startswith("Prompt"):
        return Prompt("temp", "number", "Limb temperature")
    if a.startswith("tuple[StepInfo"):
        return (ev.StepInfo(0, "a", "instruction", "A"),)
    if a.startswith("tuple[TraceRecord"):
        return (ev.TraceRecord("final", "wrist", sample("Sweep"), 20.0, 0.1, {"onset": 3e-3}),)
    if a.startswith("tuple[Measurement"):
        return (ev.Measurement("conduction_velocity", float("nan"), "m/s", "forearm",
                               note="unreliable"),)
    if a.startswith("tuple["):
        return ("rule-a", "rule-b")
    if a.startswith("dict"):
        return {"impression": "x", "criteria": [{"id": "c", "value": float("nan")}],
                "nested": {"n": 2, "ok": True, "none": None}}
    if a.startswith(("float", "int|float")):
        return 1.25
    if a.startswith("int"):
        return 7
    if a.startswith("bool"):
        return True
    if a.startswith("str"):
        return "s-1"
    if a == "Any":
        return [1, "two", 3.5]
    raise AssertionError(f"no sample for annotation {annotation!r}: extend this test")


def same(a: typing.Any, b: typing.Any) -> bool:
    """Equality where NaN equals NaN and arrays compare by value."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))
    return a == b


def test_events_file_defines_the_known_events() -> None:
    names = dataclass_names()
    assert "Interpretation" in names and "RunFinished" in names and len(names) >= 15


@pytest.mark.parametrize("name", dataclass_names())
def test_each_event_dataclass_round_trips(name: str) -> None:
    cls = getattr(ev, name)
    kwargs = {f.name: sample(str(f.type)) for f in fields(cls)}
    event = cls(**kwargs)
    back = decode(encode({"type": "event", "event": event}))["event"]
    assert same(back, event), f"{name} changed crossing the wire: {back!r}"
    # defaults must survive too (the wire must not depend on every field being set)
    required = {f.name: kwargs[f.name] for f in fields(cls)
                if f.default is MISSING and f.default_factory is MISSING}
    minimal = cls(**required)
    assert same(decode(encode({"type": "event", "event": minimal}))["event"], minimal)
