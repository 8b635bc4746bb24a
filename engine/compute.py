"""Derived quantities of a compute step, from measurements already made in the run.

Pure functions of the values recorded so far ("step.measurement" → value), so a resumed
run computes exactly what an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.protocol import ComputeStep, Protocol, StimulateStep

UNITS = {"conduction_velocity": "m/s", "sensory_velocity": "m/s", "amplitude_drop": "%",
         "area_drop": "%", "duration_increase": "%"}
# which measurement of the two sites each comparison reads
SITE_QUANTITY = {"amplitude_drop": "neg_amplitude", "area_drop": "neg_area",
                 "duration_increase": "neg_duration"}


@dataclass
class Computed:
    value: float | None
    unit: str
    note: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)


def unreliable_inputs(protocol: Protocol, rows: Iterable[Mapping[str, Any]]
                      ) -> dict[str, str]:
    """"step.name" → why, for values measured on a response the interpretation calls
    absent (engine.interpret.observations.no_response: any unacceptable SNAP, a CMAP
    without an onset or above noise). Their numbers stay stored, but nothing derived
    from them may be judged as if it were reliable (a 48 m/s velocity from noise).

    `rows` are Measurement fields or stored measurement rows, each with its step_id."""
    from engine.interpret.observations import no_response  # it imports this module

    found: dict[str, str] = {}
    for row in rows:
        step_id, note = str(row.get("step_id", "")), str(row.get("note", "") or "")
        try:
            step = protocol.step(step_id)
        except KeyError:
            continue
        if isinstance(step, StimulateStep) and no_response(note, sensory=step.measure == "snap"):
            found[f"{step_id}.{row['name']}"] = note
    return found


def _operands(step: ComputeStep) -> list[str]:
    """The "step.name" values a compute step reads."""
    if step.quantity == "conduction_velocity":
        return [f"{step.proximal}.onset_latency", f"{step.distal}.onset_latency"]
    if step.quantity == "sensory_velocity":
        return [f"{step.distal}.onset_latency"]
    if step.quantity in SITE_QUANTITY:
        name = SITE_QUANTITY[step.quantity]
        return [f"{step.proximal}.{name}", f"{step.distal}.{name}"]
    return list(step.terms)


def compute(step: ComputeStep, protocol: Protocol, measured: dict[str, float],
            inputs: dict[str, float], unreliable: Mapping[str, str] | None = None) -> Computed:
    """The step's value, or None with a note saying why (`unreliable` from
    `unreliable_inputs`: an operand measured on an unacceptable waveform)."""
    unit = step.unit or UNITS.get(step.quantity, "")
    bad = [key for key in _operands(step) if unreliable and key in unreliable]
    if bad:
        return Computed(None, unit, "not computed: unreliable input " + "; ".join(
            f"{key} ({unreliable[key]})" for key in bad if unreliable),
            {key: measured.get(key) for key in _operands(step)})
    if step.quantity == "conduction_velocity":
        distance = inputs.get(step.distance)
        proximal = measured.get(f"{step.proximal}.onset_latency")
        distal = measured.get(f"{step.distal}.onset_latency")
        used = {"distance_mm": distance, "proximal_onset_ms": proximal,
                "distal_onset_ms": distal}
        if distance is None or proximal is None or distal is None:
            return Computed(None, unit, "inputs missing (a step was skipped or unmeasurable)",
                            used)
        if proximal - distal <= 0:
            return Computed(None, unit, "proximal onset is not later than distal onset", used)
        return Computed(round(distance / (proximal - distal), 2), unit, "", used)  # mm/ms
    if step.quantity == "sensory_velocity":
        site = protocol.step(step.distal)
        assert isinstance(site, StimulateStep)
        onset = measured.get(f"{step.distal}.onset_latency")
        used = {"distance_mm": site.distance_mm, "onset_ms": onset}
        if site.distance_mm is None or onset is None or onset <= 0:
            return Computed(None, unit, "distance or onset missing", used)
        return Computed(round(site.distance_mm / onset, 2), unit, "", used)
    if step.quantity in SITE_QUANTITY:
        name = SITE_QUANTITY[step.quantity]
        proximal = measured.get(f"{step.proximal}.{name}")
        distal = measured.get(f"{step.distal}.{name}")
        used = {f"proximal_{name}": proximal, f"distal_{name}": distal}
        if proximal is None or distal is None or distal == 0:
            return Computed(None, unit, f"{name} missing at a site", used)
        change = (distal - proximal) / distal * 100.0
        if step.quantity == "duration_increase":
            change = -change
        return Computed(round(change, 2), unit, "", used)
    values = [measured.get(term) for term in step.terms]
    used = dict(zip(step.terms, values, strict=True))
    if any(v is None for v in values):
        missing = [t for t, v in used.items() if v is None]
        return Computed(None, unit, f"missing {', '.join(missing)}", used)
    numbers = [float(v) for v in values if v is not None]
    if step.quantity == "difference":
        return Computed(round(numbers[0] - numbers[1], 3), unit, "", used)
    return Computed(round(sum(numbers), 3), unit, "", used)


def reference_keys(step: ComputeStep, protocol: Protocol) -> tuple[str, str]:
    """(nerve, recording) a compute step's result is judged under."""
    nerve, recording = step.nerve, step.recording
    anchor = step.distal or (step.terms[0].split(".")[0] if step.terms else "")
    for _ in range(8):  # follow compute steps back to the stimulation they derive from
        if not anchor or (nerve and recording):
            break
        site = protocol.step(anchor)
        if isinstance(site, StimulateStep):
            nerve = nerve or site.nerve
            recording = recording or site.recording
            break
        if not isinstance(site, ComputeStep):
            break
        anchor = site.distal or (site.terms[0].split(".")[0] if site.terms else "")
    return nerve or protocol.nerve, recording
