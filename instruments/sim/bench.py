"""The simulated bench: generator → stimulator → patient → amplifier → scope, wired.

Generator channel 1 drives the constant-current stimulator's analogue input; its
sync output goes to the scope's EXT trigger input; the recording electrodes go
through the amplifier (gain from the bench profile) into scope channel 1.
All instruments share one lock, so a pulse and the capture it causes are atomic.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

import numpy as np

from instruments.sim.faults import Fault
from instruments.sim.generator import Generator33500Sim, PulseEvent
from instruments.sim.hislip_server import HislipServer
from instruments.sim.patient import VirtualPatient
from instruments.sim.scope import InfiniiVisionSim
from instruments.sim.scope_ds1000z import RigolDS1000ZSim
from instruments.sim.scpi_instrument import ScpiInstrument
from instruments.sim.scpi_server import ScpiServer
from instruments.sim.signal_chain import SimSettings
from instruments.sim.stimulator_model import ConstantCurrentModel, Stimulus
from instruments.sim.subject_link import SubjectLinkSim

ROLES = ("generator", "scope", "subject")


class SimBench:
    """In-process simulated bench (threads); `resources` maps role → VISA resource."""

    def __init__(
        self,
        seed: int = 0,
        subject_dir: Path | None = None,
        settings: SimSettings | None = None,
        port: int = 0,
        time_scale: float = 1.0,
        protocol: str = "socket",
        scope_model: str = "infiniivision",
    ) -> None:
        """`time_scale` > 1 plays pulse trains faster than real time (tests only).

        `protocol` "socket" serves raw SCPI sockets, "hislip" HiSLIP; `scope_model`
        "infiniivision" (DSO-X 3024T) or "ds1000z" (Rigol DS1104Z)."""
        self.settings = settings or SimSettings()
        self.lock = threading.RLock()
        self.patient = VirtualPatient(self.settings, subject_dir, seed)
        self.stimulator = ConstantCurrentModel(
            self.settings.stimulator_mA_per_volt, self.settings.stimulator_ceiling_mA
        )
        self.generator = Generator33500Sim(lock=self.lock, on_pulse=self._on_pulse,
                                           time_scale=time_scale)
        scope_class = {"infiniivision": InfiniiVisionSim, "ds1000z": RigolDS1000ZSim}[scope_model]
        self.scope = scope_class(source=self._scope_input, lock=self.lock,
                                 free_source=self._free_input)
        self.instruments: dict[str, ScpiInstrument] = {
            "generator": self.generator,
            "scope": self.scope,
        }
        self.subject_link = SubjectLinkSim(self.patient, lock=self.lock,
                                           instruments=self.instruments)
        self.instruments["subject"] = self.subject_link
        self._last_stimulus = Stimulus(0.0, 0.0, 0.0)
        self._last_event: PulseEvent | None = None
        server_class = {"socket": ScpiServer, "hislip": HislipServer}[protocol]
        self._servers = {
            role: server_class(inst, port + i if port else 0)
            for i, (role, inst) in enumerate(self.instruments.items())
        }
        self.resources = {role: server.resource for role, server in self._servers.items()}

    # --- wiring -----------------------------------------------------------------
    def _on_pulse(self, event: PulseEvent) -> None:
        if event.channel != 1:
            return  # channel 2 is not connected
        self._last_stimulus = self.stimulator.respond(event)
        self._last_event = event
        if event.sync:
            self.scope.external_edge(event.width_s, event.time_s)

    def _scope_input(self, channel: int, t: np.ndarray) -> np.ndarray:
        stim, event = self._last_stimulus, self._last_event
        fixture = self.patient.fixture
        if fixture.connected:  # bench check: the fixture replaces the subject
            return fixture.scope_volts(channel, t, stim.current_mA, stim.pulse_width_ms,
                                       self.settings, self.patient.next_rng())
        if channel != 1:
            return np.zeros_like(t)  # nothing plugged in
        pulse = self.patient.pulse_context(event.burst_index, event.period_s) if event else None
        volts = self.patient.electrode_volts(t, stim.current_mA, stim.pulse_width_ms, pulse)
        return volts * self.settings.amplifier_gain

    def _free_input(self, channel: int, t: np.ndarray) -> np.ndarray:
        if self.patient.fixture.connected:
            return self.patient.fixture.scope_volts(channel, t, 0.0, 0.0, self.settings,
                                                    self.patient.next_rng())
        if channel != 1:
            return np.zeros_like(t)
        return self.patient.needle_volts(t) * self.settings.amplifier_gain

    def inject_fault(self, role: str, kind: str, count: int = 1, value: float = 0.0,
                     match: str = "") -> None:
        """Test helper: make the instrument in `role` misbehave (see faults.py)."""
        self.instruments[role].faults.inject(Fault(kind, count, value, match))

    def faults_fired(self, role: str) -> list[str]:
        """Kinds of the faults that have fired on `role` so far (for tests)."""
        return [kind for kind, _ in self.instruments[role].faults.fired]
    # --- lifecycle ----------------------------------------------------------------
    def start(self) -> SimBench:
        for server in self._servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self.generator.close()

    def __enter__(self) -> SimBench:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def received(self, role: str) -> list[str]:
        """Every program message the instrument in `role` has received (for tests)."""
        with self.lock:
            return list(self.instruments[role].received)
