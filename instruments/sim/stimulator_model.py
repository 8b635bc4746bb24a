"""A constant-current stimulator (Digitimer DS5-like) behind the generator output.

The DS5 turns its analogue input voltage into current with a fixed calibration
(mA per volt) and never exceeds its own ceiling, whatever the input. It only
fires while a pulse is actually present at the generator output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from instruments.sim.generator import PulseEvent


@dataclass(frozen=True)
class Stimulus:
    """What reached the subject (current 0 when the output was off)."""

    current_mA: float
    pulse_width_ms: float
    time_s: float


@dataclass
class ConstantCurrentModel:
    mA_per_volt: float = 10.0
    ceiling_mA: float = 100.0
    delivered: list[Stimulus] = field(default_factory=list)

    def respond(self, event: PulseEvent) -> Stimulus:
        if event.output_on:
            current = event.high_v * self.mA_per_volt  # low level is the 0 V baseline
            current = max(-self.ceiling_mA, min(self.ceiling_mA, current))
        else:
            current = 0.0
        stimulus = Stimulus(current, event.width_s * 1e3, event.time_s)
        if current:
            self.delivered.append(stimulus)
        return stimulus
