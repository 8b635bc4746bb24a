"""The virtual patient on the bench: which subject, where the electrodes (or the needle)
are, how hard they contract, and the electrode voltage that results
(nerve or muscle response + stimulus artefact + interference).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instruments.sim.fixture import BenchFixture
from instruments.sim.late_responses import f_wave, h_reflex
from instruments.sim.needle_emg import NeedleEmgModel
from instruments.sim.nmj import PulseContext, amplitude_factor
from instruments.sim.physiology import MotorResponseModel
from instruments.sim.sensory import SensoryResponseModel
from instruments.sim.signal_chain import SimSettings, artefact, interference
from instruments.sim.subject_spec import (
    MotorRecording,
    Subject,
    available_subjects,
    find_subject,
)

ResponseModel = MotorResponseModel | SensoryResponseModel


@dataclass(frozen=True)
class Placement:
    nerve: str
    place: str  # stimulation site or recording muscle


@dataclass(frozen=True)
class Needle:
    muscle: str
    side: str


class VirtualPatient:
    def __init__(self, settings: SimSettings, subject_dir: Path | None, seed: int) -> None:
        self.settings = settings
        self.subject_dir = subject_dir
        self.subject: Subject | None = None
        self.stimulation: Placement | None = None
        self.recording: Placement | None = None
        self.needle: Needle | None = None
        self.effort = 0.0
        self.clock_s = 0.0  # the bench's clock, as last told (fast time in tests)
        self.exercise: tuple[float, float] | None = None  # (seconds, ended at clock_s)
        self._insertion_pending = False
        self._models: dict[tuple[str, str], ResponseModel] = {}
        self._needles: dict[tuple[str, str], NeedleEmgModel] = {}
        self.fixture = BenchFixture()  # bench check: connected in place of the subject
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._sweeps = 0

    def available(self) -> list[str]:
        return available_subjects(self.subject_dir)

    def load(self, subject_id: str) -> None:
        self.subject = find_subject(subject_id, self.subject_dir)
        self._models.clear()
        self._needles.clear()
        self.stimulation = self.recording = None
        self.needle = None
        self.effort = 0.0
        self.exercise = None

    # --- nerve conduction -------------------------------------------------------
    def model(self) -> tuple[ResponseModel, int] | None:
        """Response model and site index for the current electrodes, if they make sense."""
        if not (self.subject and self.stimulation and self.recording):
            return None
        if self.stimulation.nerve.lower() != self.recording.nerve.lower():
            return None
        key = (self.recording.nerve.lower(), self.recording.place.lower())
        if key not in self._models:
            nerve = self.subject.nerves[key[0]]
            rec = self.subject.recording(*key)
            self._models[key] = (MotorResponseModel(self.subject, nerve, rec)
                                 if isinstance(rec, MotorRecording)
                                 else SensoryResponseModel(self.subject, nerve, rec))
        model = self._models[key]
        try:
            return model, model.rec.site_index(self.stimulation.place)
        except KeyError:
            return None  # stimulating a site this recording has no path from

    def next_rng(self) -> np.random.Generator:
        """Per-sweep generator: the n-th sweep after a seed is always the same."""
        self._sweeps += 1
        return np.random.default_rng([self.seed, self._sweeps])

    def pulse_context(self, index: int = 0, period_s: float | None = None) -> PulseContext:
        if self.exercise is None:
            return PulseContext(index, period_s)
        seconds, ended = self.exercise
        since = max(0.0, self.clock_s + (index * period_s if period_s else 0.0) - ended)
        return PulseContext(index, period_s, since, seconds)

    def electrode_volts(
        self, t: np.ndarray, current_mA: float, pulse_width_ms: float,
        pulse: PulseContext | None = None,
    ) -> np.ndarray:
        """Volts between the recording electrodes at `t` (s after stimulus onset)."""
        rng = self.next_rng()
        out = interference(t, self.settings, rng)
        if current_mA:
            out += artefact(t, current_mA, pulse_width_ms, self.settings)
            found = self.model()
            if found:
                out += self._response(found, t, current_mA, pulse_width_ms,
                                      pulse or self.pulse_context(), rng)
        return out

    def _response(self, found: tuple[ResponseModel, int], t: np.ndarray, current_mA: float,
                  pulse_width_ms: float, pulse: PulseContext, rng: np.random.Generator
                  ) -> np.ndarray:
        model, site = found
        if isinstance(model, SensoryResponseModel):
            return model.response(t, site, current_mA, pulse_width_ms, rng)
        factor = amplitude_factor(model.rec.rns, pulse)
        out = model.response(t, site, current_mA, pulse_width_ms, rng, factor)
        fraction = model.recruited_fraction(site, current_mA, pulse_width_ms)
        out += f_wave(model, site, fraction, t, rng)
        out += h_reflex(model, model.effective_current(current_mA, pulse_width_ms), fraction,
                        t, rng)
        return out

    def baseline_volts(self, t: np.ndarray) -> np.ndarray:
        return interference(t, self.settings, self.next_rng())

    # --- needle EMG -------------------------------------------------------------
    def place_needle(self, muscle: str, side: str | None) -> None:
        assert self.subject is not None
        name = self.subject.muscle(muscle).name  # KeyError if unknown
        self.needle = Needle(name, side or self.subject.side)
        self._insertion_pending = True

    def needle_model(self) -> NeedleEmgModel | None:
        if self.subject is None or self.needle is None:
            return None
        key = (self.needle.muscle, self.needle.side)
        if key not in self._needles:
            self._needles[key] = NeedleEmgModel(self.subject.id, self.needle.side,
                                                self.subject.muscle(self.needle.muscle))
        return self._needles[key]

    def needle_volts(self, t: np.ndarray) -> np.ndarray:
        """A free-running stretch of needle EMG at times `t` (no stimulus)."""
        rng = self.next_rng()
        out = interference(t, self.settings, rng)
        model = self.needle_model()
        if model is not None and t.size > 1:
            fs = 1.0 / float(t[1] - t[0])
            out += model.stream(t.size, fs, self.effort, rng, self._insertion_pending)
            self._insertion_pending = False
        return out

    def exercised(self, seconds: float) -> None:
        self.exercise = (seconds, self.clock_s)

