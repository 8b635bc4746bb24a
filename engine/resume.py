"""Resuming an interrupted run from its last completed step.

Everything a later step needs (operator inputs, onsets, earlier measurements) is rebuilt
from what storage committed, so a resumed run computes exactly what an uninterrupted one
would. The step that was in progress is re-run from its start, after the operator says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.events import Measurement


@dataclass(frozen=True)
class ResumePoint:
    run_id: str
    completed: frozenset[int]  # seqs of steps already committed as done or skipped
    values: dict[str, float] = field(default_factory=dict)  # input step id → value
    measured: dict[str, float] = field(default_factory=dict)  # "step.name" → value
    measurements: tuple[Measurement, ...] = ()
    safety: dict[str, Any] = field(default_factory=dict)  # checklist answers
    currents: dict[str, float] = field(default_factory=dict)  # accepted current per site step
    # the same measurements with their step ids: the resumed run's interpretation and its
    # compute steps read the earlier steps' values (and whether each was reliable) from here
    measured_by_step: tuple[tuple[str, Measurement], ...] = ()


def resume_point(stored_run: dict[str, Any]) -> ResumePoint:
    """Build the resume state from `storage.queries.get_run()` output."""
    # failed steps are tried again; done and skipped ones are never repeated
    completed = frozenset(int(step["seq"]) for step in stored_run["steps"]
                          if step["status"] in ("done", "skipped"))
    values = {step["step_id"]: float(step["result"]["value"]) for step in stored_run["steps"]
              if step["kind"] == "input" and step["status"] == "done"
              and "value" in step["result"]}
    measured = {f"{m['step_id']}.{m['name']}": float(m["value"])
                for m in stored_run["measurements"] if m["value"] is not None}
    measured_by_step = tuple(
        (str(m["step_id"]), Measurement(
            name=m["name"], value=m["value"], unit=m["unit"], site=m["site"],
            lower=m["lower"], upper=m["upper"], outcome=m["outcome"],
            reference_id=m["reference_id"], citation=m["citation"], note=m["note"]))
        for m in stored_run["measurements"])
    measurements = tuple(m for _, m in measured_by_step)
    safety: dict[str, Any] = {}
    for step in stored_run["steps"]:
        if step["kind"] == "safety_checklist" and step["status"] == "done":
            safety = dict(step["result"].get("answers", {}))
    currents = {step["step_id"]: float(step["result"]["final_current_mA"])
                for step in stored_run["steps"]
                if step["status"] == "done" and "final_current_mA" in step["result"]}
    return ResumePoint(stored_run["id"], completed, values, measured, measurements, safety,
                       currents, measured_by_step)
