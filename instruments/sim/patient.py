"""The virtual patient on the bench: which subject, where the electrodes are, and
the electrode voltage a stimulus produces (nerve response + artefact + interference).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instruments.sim.physiology import MotorResponseModel
from instruments.sim.signal_chain import SimSettings, artefact, interference
from instruments.sim.subject_spec import Subject, available_subjects, find_subject


@dataclass(frozen=True)
class Placement:
    nerve: str
    place: str  # stimulation site or recording muscle


class VirtualPatient:
    def __init__(self, settings: SimSettings, subject_dir: Path | None, seed: int) -> None:
        self.settings = settings
        self.subject_dir = subject_dir
        self.subject: Subject | None = None
        self.stimulation: Placement | None = None
        self.recording: Placement | None = None
        self._models: dict[tuple[str, str], MotorResponseModel] = {}
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._sweeps = 0

    def available(self) -> list[str]:
        return available_subjects(self.subject_dir)

    def load(self, subject_id: str) -> None:
        self.subject = find_subject(subject_id, self.subject_dir)
        self._models.clear()
        self.stimulation = self.recording = None

    def model(self) -> tuple[MotorResponseModel, int] | None:
        """Response model and site index for the current electrodes, if they make sense."""
        if not (self.subject and self.stimulation and self.recording):
            return None
        if self.stimulation.nerve.lower() != self.recording.nerve.lower():
            return None
        key = (self.recording.nerve.lower(), self.recording.place.lower())
        if key not in self._models:
            nerve = self.subject.nerves[key[0]]
            rec = self.subject.recording(*key)
            self._models[key] = MotorResponseModel(self.subject, nerve, rec)
        model = self._models[key]
        return model, model.rec.site_index(self.stimulation.place)

    def next_rng(self) -> np.random.Generator:
        """Per-sweep generator: the n-th sweep after a seed is always the same."""
        self._sweeps += 1
        return np.random.default_rng([self.seed, self._sweeps])

    def electrode_volts(
        self, t: np.ndarray, current_mA: float, pulse_width_ms: float
    ) -> np.ndarray:
        """Volts between the recording electrodes at `t` (s after stimulus onset)."""
        rng = self.next_rng()
        out = interference(t, self.settings, rng)
        if current_mA:
            out += artefact(t, current_mA, pulse_width_ms, self.settings)
            found = self.model()
            if found:
                model, site = found
                out += model.response(t, site, current_mA, pulse_width_ms, rng)
        return out

    def baseline_volts(self, t: np.ndarray) -> np.ndarray:
        return interference(t, self.settings, self.next_rng())
