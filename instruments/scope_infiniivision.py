"""Keysight InfiniiVision X-series oscilloscope driver (2000X/3000T/3000X/4000X).

Commands and the waveform preamble follow the Keysight InfiniiVision 3000T
X-Series Oscilloscopes Programmer's Guide (:TIMebase, :CHANnel<n>, :TRIGger:EDGE,
:ACQuire, :SINGle, :TER?, :OPERegister:CONDition?, :WAVeform). Volts are
(code − yreference) × yincrement + yorigin.

Trains (RNS) use segmented memory: :ACQuire:MODE SEGMented with :ACQuire:SEGMented:COUNt
N stores one segment per stimulus trigger; each is read back after
:ACQuire:SEGMented:INDex k. Free-running capture (needle EMG) uses :TRIGger:SWEep AUTO
and :DIGitize, which acquires at once when nothing triggers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from instruments.errors import InstrumentProtocolError, InstrumentTimeout
from instruments.scpi_driver import ScpiDriver, fmt
from instruments.transport import Transport

MAKERS = ("KEYSIGHT TECHNOLOGIES", "AGILENT TECHNOLOGIES")
MODEL_PREFIXES = ("DSO-X 2", "MSO-X 2", "DSO-X 3", "MSO-X 3", "DSO-X 4", "MSO-X 4",
                  "DSOX3", "MSOX3", "DSOX4", "MSOX4")
OPER_WAIT_TRIG = 1 << 5  # Operation Status Condition: trigger armed and waiting
H_DIVS = 10
V_DIVS = 8


def is_infiniivision(fields: list[str]) -> bool:
    return fields[0].upper() in MAKERS and fields[1].upper().startswith(MODEL_PREFIXES)


@dataclass(frozen=True)
class Acquisition:
    """Scope-side settings for one sweep (volts and seconds at the scope input)."""

    channel: int
    volts_per_div: float
    offset_v: float
    window_s: float
    pretrigger_s: float
    points: int
    trigger_level_v: float
    segments: int = 1  # > 1: segmented memory, one segment per trigger
    free_running: bool = False  # auto sweep on the signal channel, captured by :DIGitize


@dataclass(frozen=True)
class Preamble:
    format: int
    type: int
    points: int
    count: int
    x_increment: float
    x_origin: float
    x_reference: float
    y_increment: float
    y_origin: float
    y_reference: float

    @classmethod
    def parse(cls, reply: str) -> Preamble:
        f = reply.split(",")
        if len(f) != 10:
            raise ValueError(f"expected 10 fields, got {len(f)}")
        return cls(int(float(f[0])), int(float(f[1])), int(float(f[2])), int(float(f[3])),
                   float(f[4]), float(f[5]), float(f[6]), float(f[7]), float(f[8]), float(f[9]))

    def volts_per_code(self) -> tuple[float, float]:
        """(scale, offset) with volts = code × scale + offset; yorigin is in volts here."""
        return self.y_increment, self.y_origin - self.y_reference * self.y_increment

    def timebase(self) -> tuple[float, float]:
        """(sample rate, time of the first point)."""
        return 1.0 / self.x_increment, self.x_origin - self.x_reference * self.x_increment


class InfiniiVisionScope(ScpiDriver):
    role = "scope"

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.identify(is_infiniivision, "Keysight InfiniiVision X-series oscilloscope")
        self.acquisition: Acquisition | None = None
        self._segmented = False

    def configure(self, acq: Acquisition) -> None:
        """Single-shot capture on the EXT (stimulus sync) edge; no-op if unchanged."""
        if acq == self.acquisition and self.settings_current():
            return
        self.acquisition = None
        c = acq.channel
        if acq.free_running:
            trigger = [":TRIG:SWE AUTO", f":TRIG:EDGE:SOUR CHAN{c}", ":TRIG:EDGE:SLOP POS",
                       f":TRIG:EDGE:LEV {fmt(acq.volts_per_div * 4)}"]
        else:
            trigger = [":TRIG:SWE NORM", ":TRIG:EDGE:SOUR EXT", ":TRIG:EDGE:SLOP POS",
                       f":TRIG:EDGE:LEV {fmt(acq.trigger_level_v)}"]
        if acq.segments > 1:
            mode = [":ACQ:MODE SEGM", f":ACQ:SEGM:COUN {acq.segments}"]
        else:
            mode = [":ACQ:MODE RTIM"] if self._segmented else []
        for message in (
            ":STOP",
            ":TIM:REF CENT",
            f":TIM:SCAL {fmt(acq.window_s / H_DIVS)}",
            f":TIM:POS {fmt(acq.window_s / 2 - acq.pretrigger_s)}",
            f":CHAN{c}:SCAL {fmt(acq.volts_per_div)}",
            f":CHAN{c}:OFFS {fmt(acq.offset_v)}",
            f":CHAN{c}:COUP DC",
            *trigger,
            ":ACQ:TYPE HRES",
            *mode,
            f":WAV:SOUR CHAN{c}",
            ":WAV:FORM WORD",
            ":WAV:BYT LSBF",
            ":WAV:UNS OFF",
            ":WAV:POIN:MODE RAW",
            f":WAV:POIN {acq.points}",
        ):
            self.t.write(message)
        self._segmented = acq.segments > 1
        self.check_errors("configuring the acquisition")
        self.acquisition = acq
        self.settings_sent()

    def digitize(self) -> None:
        """Acquire now (free-running channel) and wait until the acquisition is complete."""
        assert self.acquisition is not None
        self.t.write(f":DIG CHAN{self.acquisition.channel}")
        reply = self.t.query("*OPC?")
        if reply.lstrip("+") != "1":
            raise InstrumentProtocolError(self.t.role, self.t.resource, f"*OPC? answered {reply!r}")

    def read_segment(self, index: int) -> tuple[np.ndarray, Preamble]:
        """Codes and preamble of segment `index` (1-based) of a segmented acquisition."""
        self.t.write(f":ACQ:SEGM:IND {index}")
        return self.read_waveform()

    def arm(self, timeout_s: float = 2.0) -> None:
        """Clear the trigger event register, start a single acquisition, wait until armed."""
        self.t.query(":TER?")
        self.t.write(":SINGle")
        deadline = time.monotonic() + timeout_s
        while True:
            condition = int(self.number(":OPER:COND?"))
            if condition & OPER_WAIT_TRIG:
                return
            if time.monotonic() > deadline:
                raise InstrumentTimeout(self.t.role, self.t.resource,
                                        f"not armed within {timeout_s * 1000:.0f} ms of :SINGle")
            time.sleep(0.001)

    def wait_triggered(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if int(self.number(":TER?")) == 1:
                return
            if time.monotonic() > deadline:
                raise InstrumentTimeout(self.t.role, self.t.resource,
                                        f"no trigger within {timeout_s * 1000:.0f} ms")
            time.sleep(0.001)

    def stop(self) -> None:
        self.t.write(":STOP")

    def read_waveform(self) -> tuple[np.ndarray, Preamble]:
        """Raw signed 16-bit codes of the configured channel and their preamble."""
        reply = self.t.query(":WAV:PRE?")
        try:
            pre = Preamble.parse(reply)
        except ValueError as exc:
            raise InstrumentProtocolError(
                self.t.role, self.t.resource, f":WAV:PRE? answered {reply!r}: {exc}"
            ) from exc
        payload = self.t.read_block(":WAV:DATA?")
        if pre.format != 1 or len(payload) != 2 * pre.points:
            raise InstrumentProtocolError(
                self.t.role, self.t.resource,
                f":WAV:DATA? gave {len(payload)} bytes for {pre.points} WORD points",
            )
        return np.frombuffer(payload, dtype="<i2").copy(), pre
