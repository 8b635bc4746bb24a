"""What the rules read: every measurement of a run with the context a reader needs.

A stored measurement knows its step and site; the criteria also need the nerve, the
recording place and whether the response is motor, sensory, a late response, RNS or needle
EMG. That context comes from the protocol's steps, so the same builder serves a run in
progress (the engine's Protocol) and a stored run (its protocol text re-read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rustcore
from engine.compute import reference_keys
from engine.protocol import ComputeStep, NeedleStep, Protocol, SeriesStep, StimulateStep


@dataclass(frozen=True)
class Observation:
    """One value with where it came from and the limits its reference entry gave."""

    step_id: str
    kind: str  # motor, sensory, f_wave, rns, h_reflex, needle, computed
    nerve: str
    recording: str  # recording muscle or place; the muscle for needle EMG
    site: str  # stimulation site, segment or comparison; the muscle for needle EMG
    role: str  # distal / proximal for stimulation; "" otherwise
    name: str
    value: float | None
    unit: str
    lower: float | None = None
    upper: float | None = None
    outcome: str = "unflagged"
    reference_id: str = ""
    unconfirmed_limit: bool = False  # limits shown but the entry is marked unconfirmed

    @property
    def label(self) -> str:
        if self.kind == "needle":  # the site is the muscle too
            return f"{self.recording} {self.name}"
        return f"{self.nerve} {self.recording} {self.site} {self.name}".replace("  ", " ").strip()


def _context(step: Any, protocol: Protocol) -> tuple[str, str, str, str]:
    """(kind, nerve, recording, role) of a protocol step."""
    if isinstance(step, StimulateStep):
        kind = "sensory" if step.measure == "snap" else "motor"
        return kind, step.nerve, step.recording, step.role
    if isinstance(step, SeriesStep):
        return step.mode, step.nerve, step.recording, ""
    if isinstance(step, NeedleStep):
        return "needle", "", step.muscle, ""
    if isinstance(step, ComputeStep):
        nerve, recording = reference_keys(step, protocol)
        return "computed", nerve, recording, ""
    return step.kind, "", "", ""


def build_observations(protocol: Protocol, measurements: Iterable[Mapping[str, Any] | Any]
                       ) -> list[Observation]:
    """Observations from Measurement events or stored measurement rows (with step_id)."""
    steps = {s.id: s for s in protocol.steps}
    observations: list[Observation] = []
    for m in measurements:
        row = m if isinstance(m, Mapping) else {**vars(m)}
        step = steps.get(str(row.get("step_id", "")))
        if step is None:
            continue
        kind, nerve, recording, role = _context(step, protocol)
        note = str(row.get("note", "") or "")
        value = None if no_response(note, sensory=kind == "sensory") and kind in (
            "motor", "sensory") else row.get("value")
        observations.append(Observation(
            step_id=step.id, kind=kind, nerve=nerve, recording=recording,
            site=str(row.get("site", "")), role=role, name=str(row["name"]),
            value=value, unit=str(row.get("unit", "")), lower=row.get("lower"),
            upper=row.get("upper"), outcome=str(row.get("outcome", "unflagged")),
            reference_id=str(row.get("reference_id", "") or ""),
            unconfirmed_limit="unconfirmed" in note))
    return observations + derived_motor(observations)


NOT_ACCEPTABLE = re.compile(r"waveform not acceptable \(flags (\d+)\)")


def no_response(note: str, *, sensory: bool = False) -> bool:
    """The engine measured noise: below the signal-to-noise criterion or no onset. Its
    numbers are kept in storage, but a reader calls this response absent. A SNAP that
    fails any acceptability test (identifiable onset, peak and return to baseline, AANEM
    2020, edx.md §4) is no reliable response either; a CMAP that only fails to return to
    baseline keeps its amplitude (dispersed proximal CMAPs do that)."""
    found = NOT_ACCEPTABLE.search(note)
    if not found:
        return False
    return sensory or bool(int(found.group(1)) & (rustcore.FLAG_LOW_SNR
                                                  | rustcore.FLAG_NO_ONSET))


def derived_motor(observations: list[Observation]) -> list[Observation]:
    """Proximal against distal CMAP of each motor nerve: amplitude drop and duration
    increase (EFNS/PNS I-E and I-F read these even where a protocol computes no drop)."""
    derived: list[Observation] = []
    by_nerve: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    order: dict[tuple[str, str], list[str]] = {}
    for o in observations:
        if o.kind != "motor" or o.value is None:
            continue
        key = (o.nerve, o.recording)
        by_nerve.setdefault(key, {}).setdefault(o.site, {})[o.name] = float(o.value)
        if o.site not in order.setdefault(key, []):
            order[key].append(o.site)
    for (nerve, recording), sites in by_nerve.items():
        names = order[(nerve, recording)]
        if len(names) < 2:
            continue
        distal, proximal = sites[names[0]], sites[names[-1]]
        pairs = (("neg_amplitude", "proximal_amplitude_drop"),
                 ("neg_duration", "proximal_duration_increase"))
        for source, name in pairs:
            d, p = distal.get(source), proximal.get(source)
            if d is None or p is None or d <= 0:
                continue
            value = (d - p) / d * 100.0 if source == "neg_amplitude" else (p - d) / d * 100.0
            derived.append(Observation(
                step_id="", kind="derived", nerve=nerve, recording=recording,
                site=f"{names[0]}-{names[-1]}", role="", name=name, value=round(value, 1),
                unit="%"))
    return derived
