"""Side-to-side comparison: the same measurement on the two sides of one subject, judged
against the cited limits of the difference (data/reference/side-to-side.yaml)."""

from __future__ import annotations

from typing import Any

from engine.interpret.observations import Observation
from engine.reference import judge, load_reference


def compare_sides(this: list[Observation], other: list[Observation]) -> list[dict[str, Any]]:
    """Every measurement both runs made that has a side-difference limit."""
    table = load_reference("side-to-side")
    theirs = {(o.kind, o.nerve, o.recording, o.site, o.name): o for o in other}
    out = []
    for o in this:
        twin = theirs.get((o.kind, o.nerve, o.recording, o.site, o.name))
        if twin is None or o.value is None or twin.value is None:
            continue
        entry = table.find(nerve=o.nerve, recording=o.recording, quantity="side_difference",
                           site_role=o.role, segment=o.name)
        if entry is None or entry.unit != o.unit:
            continue
        difference = round(abs(float(o.value) - float(twin.value)), 3)
        out.append({"nerve": o.nerve, "recording": o.recording, "site": o.site,
                    "name": o.name, "this": o.value, "other": twin.value,
                    "difference": difference, "unit": o.unit, "upper": entry.upper,
                    "outcome": judge(difference, entry), "reference_id": entry.id,
                    "citation": entry.citation})
    return out
