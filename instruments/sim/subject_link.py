"""Simulated subject-link instrument: the operator's hands on the virtual patient.

Loading a subject, placing the stimulating and recording electrodes or the needle,
asking for effort or exercise and reading a tape measure are SCPI commands here so
the whole bench, patient included, is driven over the same loopback sockets as the
real instruments. `FAULt:INJect` reaches the fault plan of any simulated instrument
(see faults.py), so a separate process can be faulted too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from instruments.sim.faults import KINDS, Fault
from instruments.sim.fixture import fixture_commands
from instruments.sim.patient import Placement, VirtualPatient
from instruments.sim.scpi_instrument import Command, ScpiInstrument
from instruments.sim.scpi_syntax import ScpiError, block, integer, number, one, quoted, string


class SubjectLinkSim(ScpiInstrument):
    idn = ("edxbench", "SUBJECT-LINK", "SIM0001", "0.1")
    role = "subject"

    def __init__(self, patient: VirtualPatient, lock: threading.RLock | None = None,
                 instruments: dict[str, ScpiInstrument] | None = None) -> None:
        self.patient = patient
        self.instruments = instruments if instruments is not None else {}
        super().__init__(lock)

    def reset(self) -> None:
        self.patient.stimulation = self.patient.recording = None

    def _require_subject(self) -> None:
        if self.patient.subject is None:
            raise ScpiError(-221, "no subject loaded")

    def _load(self, p: list[str], s: list[int]) -> None:
        subject_id = string(one(p))
        try:
            self.patient.load(subject_id)
        except KeyError:
            raise ScpiError(-224, f"unknown subject {subject_id}") from None
        except ValueError as exc:
            raise ScpiError(-200, str(exc).replace('"', "'")) from None

    def _place(self, kind: str) -> Callable[[list[str], list[int]], None]:
        def setter(p: list[str], s: list[int]) -> None:
            self._require_subject()
            subject = self.patient.subject
            assert subject is not None
            if len(p) != 2:
                raise ScpiError(-109 if len(p) < 2 else -108)
            nerve, place = string(p[0]), string(p[1])
            if nerve.lower() not in subject.nerves:
                raise ScpiError(-224, f"no nerve {nerve}")
            recordings = subject.nerves[nerve.lower()].recordings
            if kind == "recording":
                if not any(m.lower() == place.lower() for m in recordings):
                    raise ScpiError(-224, f"no recording {place} on {nerve}")
                self.patient.recording = Placement(nerve, place)
                self.patient.model()  # build it now, not inside a stimulus
            else:
                sites = {s.name.lower() for r in recordings.values() for s in r.sites}
                if place.lower() not in sites:
                    raise ScpiError(-224, f"no site {place} on {nerve}")
                self.patient.stimulation = Placement(nerve, place)
                self.patient.model()

        return setter

    def _placement(self, kind: str) -> Callable[[list[str], list[int]], str]:
        def getter(p: list[str], s: list[int]) -> str:
            placed = getattr(self.patient, kind)
            if placed is None:
                return '"",""'
            return f"{quoted(placed.nerve)},{quoted(placed.place)}"

        return getter

    def _distance(self, p: list[str], s: list[int]) -> str:
        self._require_subject()
        subject = self.patient.subject
        assert subject is not None
        if len(p) != 3:
            raise ScpiError(-109 if len(p) < 3 else -108)
        nerve, a, b = (string(x) for x in p)
        if nerve.lower() not in subject.nerves:
            raise ScpiError(-224, f"no nerve {nerve}")
        for rec in subject.nerves[nerve.lower()].recordings.values():
            names = {x.name.lower() for x in rec.sites} | {rec.muscle.lower()}
            if a.lower() in names and b.lower() in names:
                return f"{rec.distance_mm(a, b):+.6E}"
        raise ScpiError(-224, f"no sites {a},{b} on {nerve}")

    def _needle(self, p: list[str], s: list[int]) -> None:
        self._require_subject()
        if not 1 <= len(p) <= 2:
            raise ScpiError(-109 if not p else -108)
        muscle = string(p[0])
        side = string(p[1]) if len(p) == 2 else None
        if side not in (None, "", "left", "right"):
            raise ScpiError(-224, f"side {side}")
        try:
            self.patient.place_needle(muscle, side or None)
            self.patient.needle_model()
        except KeyError:
            raise ScpiError(-224, f"no muscle {muscle}") from None

    def _needle_query(self, p: list[str], s: list[int]) -> str:
        n = self.patient.needle
        return f"{quoted(n.muscle)},{quoted(n.side)}" if n else '"",""'

    def _effort(self, p: list[str], s: list[int]) -> None:
        self.patient.effort = number(one(p), minimum=0.0, maximum=1.0, default=0.0)

    def _exercise(self, p: list[str], s: list[int]) -> None:
        self._require_subject()
        self.patient.exercised(number(one(p), unit="S", minimum=0.0, maximum=600.0))

    def _clock(self, p: list[str], s: list[int]) -> None:
        self.patient.clock_s = number(one(p), unit="S", minimum=-1e12, maximum=1e12)

    def _header(self, p: list[str], s: list[int]) -> bytes:
        self._require_subject()
        assert self.patient.subject is not None
        return block(json.dumps(self.patient.subject.header()).encode())

    def _inject(self, p: list[str], s: list[int]) -> None:
        if not 2 <= len(p) <= 5:
            raise ScpiError(-109 if len(p) < 2 else -108)
        role, kind = string(p[0]), string(p[1]).lower()
        if role not in self.instruments:
            raise ScpiError(-224, f"no instrument {role}")
        if kind not in KINDS:
            raise ScpiError(-224, f"fault {kind}")
        count = integer(p[2], minimum=0, maximum=1_000_000) if len(p) > 2 else 1
        value = number(p[3], minimum=-1000, maximum=600_000) if len(p) > 3 else 0.0
        match = string(p[4]) if len(p) > 4 else ""
        self.instruments[role].faults.inject(Fault(kind, count, value, match))

    def _clear_faults(self, p: list[str], s: list[int]) -> None:
        for inst in self.instruments.values():
            inst.faults.clear()

    def _seed(self, p: list[str], s: list[int]) -> None:
        self.patient.reseed(integer(one(p), minimum=0, maximum=2**63 - 1))

    def commands(self) -> list[Command]:
        return [
            Command("SUBJect:LOAD", self._load),
            Command(
                "SUBJect[:ID]",
                query=lambda p, s: quoted(self.patient.subject.id if self.patient.subject else ""),
            ),
            Command(
                "SUBJect:LIST",
                query=lambda p, s: ",".join(quoted(x) for x in self.patient.available()),
            ),
            Command("SUBJect:DISTance", query=self._distance),
            Command("ELECtrode:STIMulus", self._place("stimulation"),
                    self._placement("stimulation")),
            Command("ELECtrode:RECording", self._place("recording"),
                    self._placement("recording")),
            Command("SYSTem:SEED", self._seed, lambda p, s: f"{self.patient.seed:+d}"),
            Command("SUBJect:HEADer", query=self._header),
            Command("NEEDle[:PLACe]", self._needle, self._needle_query),
            Command("PATient:EFFort", self._effort, lambda p, s: f"{self.patient.effort:.6g}"),
            Command("PATient:EXERcise", self._exercise),
            Command("PATient:CLOCk", self._clock, lambda p, s: f"{self.patient.clock_s:.9g}"),
            Command("FAULt:INJect", self._inject),
            Command("FAULt:CLEar", self._clear_faults),
            *fixture_commands(self.patient.fixture),
        ]

