"""Rigol DS1000Z oscilloscope driver (DS1054Z/DS1074Z/DS1104Z, MSO1000Z).

Commands follow the Rigol MSO1000Z/DS1000Z Series Programming Guide (:TIMebase:MAIN,
:CHANnel<n>, :TRIGger:EDGe, :ACQuire:MDEPth, :SINGle, :TFORce, :TRIGger:STATus?,
:WAVeform). Same interface as `InfiniiVisionScope`, so the bench drives either.

Differences the bench has to live with:
- The preamble's yorigin is in codes: volts = (code − yorigin − yreference) × yincrement.
- The horizontal scale goes in 1-2-5 steps and the memory depth is one of a fixed set,
  so a sweep covers at least the requested window with at least the requested points
  (the next step up, the smallest depth that holds them); its sample rate follows.
- RAW memory is read in pieces chosen with :WAV:STAR/:WAV:STOP, at most 250 000 points
  per read in BYTE and 125 000 in WORD (the same 8-bit codes, two bytes each).
- The four-channel models have no external trigger input: the generator's sync is wired
  to CHANnel2 (`SYNC_CHANNEL`) and the edge trigger watches it.
- No segmented memory: RNS trains need the InfiniiVision scope (refused in `configure`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from instruments.errors import InstrumentProtocolError, InstrumentTimeout, UnsupportedInstrument
from instruments.scope_infiniivision import Acquisition, Preamble
from instruments.scpi_driver import ScpiDriver, fmt
from instruments.transport import Transport

MAKERS = ("RIGOL TECHNOLOGIES",)
MODELS = ("DS1054Z", "DS1074Z", "DS1104Z", "DS1074Z-S PLUS", "DS1104Z-S PLUS",
          "DS1074Z PLUS", "DS1104Z PLUS", "MSO1074Z", "MSO1104Z", "DS1202Z-E")
H_DIVS = 12
SYNC_CHANNEL = 2
DEPTHS_ONE_CHANNEL = (12_000, 120_000, 1_200_000, 12_000_000, 24_000_000)
CHUNK_POINTS = {"BYTE": 250_000, "WORD": 125_000}  # points per :WAV:DATA? in RAW mode
FORMAT_CODES = {"BYTE": 0, "WORD": 1}


def is_ds1000z(fields: list[str]) -> bool:
    return fields[0].upper() in MAKERS and fields[1].upper() in MODELS


class RigolPreamble(Preamble):
    """The same 10 fields of :WAV:PRE? as InfiniiVision's, but Rigol's yorigin is in
    codes, not volts."""

    def volts_per_code(self) -> tuple[float, float]:
        """(scale, offset) with volts = code × scale + offset."""
        return self.y_increment, -(self.y_origin + self.y_reference) * self.y_increment


def timebase_step(seconds_per_div: float) -> float:
    """The smallest 1-2-5 horizontal scale at least `seconds_per_div` (the DS1000Z's
    timebase steps), so the screen holds at least the requested window."""
    decade = 10.0 ** math.floor(math.log10(seconds_per_div))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        step = float(f"{mantissa * decade:.3g}")
        if step >= seconds_per_div * (1 - 1e-9):
            return step
    return 10.0 * decade


def memory_depth_for(points: int) -> int:
    """The smallest one-channel memory depth holding `points`."""
    for depth in DEPTHS_ONE_CHANNEL:
        if depth >= points:
            return depth
    raise ValueError(f"{points} points exceed the DS1000Z's {DEPTHS_ONE_CHANNEL[-1]}")


class RigolDS1000ZScope(ScpiDriver):
    role = "scope"

    def __init__(self, transport: Transport, data_format: str = "BYTE") -> None:
        """`data_format` BYTE (one byte per point) or WORD (the same 8-bit code in two
        bytes, low byte first; half as many points per read)."""
        super().__init__(transport)
        if data_format not in FORMAT_CODES:
            raise ValueError(f"data_format must be BYTE or WORD, not {data_format!r}")
        self.identify(is_ds1000z, "Rigol DS1000Z oscilloscope")
        self.data_format = data_format
        self.acquisition: Acquisition | None = None

    def configure(self, acq: Acquisition) -> None:
        """Single-shot RAW capture triggered by the stimulus sync on CHANnel2."""
        if acq == self.acquisition and self.settings_current():
            return
        if acq.segments > 1:
            raise UnsupportedInstrument(
                self.t.role, self.t.resource,
                "the DS1000Z has no segmented memory: record trains with an InfiniiVision scope")
        self.acquisition = None
        c = acq.channel
        source = c if acq.free_running else SYNC_CHANNEL
        level = acq.volts_per_div * 4 if acq.free_running else acq.trigger_level_v
        others = [f":CHAN{n}:DISP 0" for n in range(1, 5) if n != c]
        t_scale = timebase_step(acq.window_s / H_DIVS)
        for message in (
            ":STOP",
            *others,
            f":CHAN{c}:DISP 1",
            f":CHAN{c}:PROB 1",
            f":CHAN{SYNC_CHANNEL}:PROB 1" if c != SYNC_CHANNEL else "",
            f":CHAN{c}:SCAL {fmt(acq.volts_per_div)}",
            f":CHAN{c}:OFFS {fmt(acq.offset_v)}",
            f":CHAN{c}:COUP DC",
            f":TIM:MAIN:SCAL {fmt(t_scale)}",
            f":TIM:MAIN:OFFS {fmt(t_scale * H_DIVS / 2 - acq.pretrigger_s)}",
            ":TRIG:MODE EDGE",
            f":TRIG:EDGE:SOUR CHAN{source}",
            ":TRIG:EDGE:SLOP POS",
            f":TRIG:EDGE:LEV {fmt(level)}",
            ":TRIG:SWE NORM",
            ":ACQ:TYPE NORM",
            f":ACQ:MDEP {memory_depth_for(acq.points)}",
            f":WAV:SOUR CHAN{c}",
            ":WAV:MODE RAW",
            f":WAV:FORM {self.data_format}",
        ):
            if message:
                self.t.write(message)
        self.check_errors("configuring the acquisition")
        self.acquisition = acq
        self.settings_sent()

    def _status(self) -> str:
        return self.t.query(":TRIG:STAT?").strip().upper()

    def arm(self, timeout_s: float = 2.0) -> None:
        """:SINGle, then wait until the trigger system reports WAIT."""
        self.t.write(":SING")
        self._wait_status("WAIT", timeout_s, "armed")

    def wait_triggered(self, timeout_s: float) -> None:
        self._wait_status("STOP", timeout_s, "triggered")

    def _wait_status(self, wanted: str, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._status() == wanted:
                return
            if time.monotonic() > deadline:
                raise InstrumentTimeout(self.t.role, self.t.resource,
                                        f"not {what} within {timeout_s * 1000:.0f} ms")
            time.sleep(0.001)

    def digitize(self) -> None:
        """Free-running capture now: arm, force a trigger, wait for the stop."""
        self.arm()
        self.t.write(":TFOR")
        self.wait_triggered(2.0)

    def read_segment(self, index: int) -> tuple[np.ndarray, RigolPreamble]:
        raise UnsupportedInstrument(self.t.role, self.t.resource,
                                    "the DS1000Z has no segmented memory")

    def stop(self) -> None:
        self.t.write(":STOP")

    def read_waveform(self) -> tuple[np.ndarray, RigolPreamble]:
        """The 8-bit codes (as uint8) of the whole RAW memory and their preamble."""
        reply = self.t.query(":WAV:PRE?")
        try:
            pre = RigolPreamble.parse(reply)
        except ValueError as exc:
            raise InstrumentProtocolError(
                self.t.role, self.t.resource, f":WAV:PRE? answered {reply!r}: {exc}"
            ) from exc
        if pre.format != FORMAT_CODES[self.data_format]:
            raise InstrumentProtocolError(
                self.t.role, self.t.resource,
                f":WAV:PRE? format {pre.format}, expected {FORMAT_CODES[self.data_format]} "
                f"({self.data_format})")
        width = 2 if self.data_format == "WORD" else 1
        chunk = CHUNK_POINTS[self.data_format]
        parts = []
        for start in range(1, pre.points + 1, chunk):
            stop = min(start + chunk - 1, pre.points)
            self.t.write(f":WAV:STAR {start}")
            self.t.write(f":WAV:STOP {stop}")
            payload = self.t.read_block(":WAV:DATA?")
            if len(payload) != width * (stop - start + 1):
                raise InstrumentProtocolError(
                    self.t.role, self.t.resource,
                    f":WAV:DATA? gave {len(payload)} bytes for points {start}–{stop}")
            parts.append(payload)
        codes = np.frombuffer(b"".join(parts), dtype="<u2" if width == 2 else np.uint8)
        if width == 2 and codes.size and int(codes.max()) > 255:
            raise InstrumentProtocolError(self.t.role, self.t.resource,
                                          "WORD data with a non-zero upper byte")
        return codes.astype(np.uint8), pre
