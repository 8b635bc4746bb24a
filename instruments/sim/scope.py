"""Simulated Keysight InfiniiVision 3000T X-series oscilloscope (DSO-X 3024T).

Timebase, channel scale/offset, edge trigger, single acquisition, the trigger
event register and waveform transfer with the 10-field preamble, as documented in
the InfiniiVision 3000T X-Series Programmer's Guide. The screen is 10 horizontal by
8 vertical divisions; samples beyond the vertical range clip at the ADC limits.

Segmented memory (:ACQuire:MODE SEGMented, :ACQuire:SEGMented:COUNt) stores one
segment per trigger until the count is reached, then stops (the trigger event
register is set once, when the last segment is in); :ACQuire:SEGMented:INDex picks
the segment that :WAVeform:PREamble?/:DATA? and :WAVeform:SEGMented:TTAG? report.
With :TRIGger:SWEep AUTO and no stimulus trigger, :DIGitize captures at
once from the free-running input (needle EMG).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from instruments.sim.scpi_instrument import Command, ScpiInstrument
from instruments.sim.scpi_syntax import (
    ScpiError,
    block,
    boolean,
    choice,
    integer,
    number,
    one,
)

H_DIVS = 10
V_DIVS = 8
REFERENCE_DIVS = {"LEFT": 1.0, "CENT": 5.0, "RIGH": 9.0}  # reference point from the left
ADC_BITS = {"NORM": 8, "PEAK": 8, "AVER": 14, "HRES": 12}
FORMAT_CODES = {"BYTE": 0, "WORD": 1, "ASC": 4}
TYPE_CODES = {"NORM": 0, "PEAK": 1, "AVER": 2, "HRES": 3}
MAX_POINTS = {"NORM": 62_500, "MAX": 4_000_000, "RAW": 4_000_000}
MAX_SEGMENTS = 1000
EXT_SYNC_HIGH_V = 3.3  # generator sync output into the scope's external input

# Signal source: channel number, times (s after the stimulus) -> volts at the input.
Source = Callable[[int, np.ndarray], np.ndarray]


def nr3(value: float) -> str:
    return f"{value:+.8E}"


@dataclass
class Channel:
    scale: float = 0.1
    offset: float = 0.0
    coupling: str = "DC"
    display: bool = True


@dataclass
class Capture:
    volts: np.ndarray
    x_increment: float
    x_origin: float
    scale: float
    offset: float
    bits: int


@dataclass
class ScopeState:
    t_scale: float = 100e-6
    t_position: float = 0.0
    t_reference: str = "CENT"
    channels: dict[int, Channel] = field(
        default_factory=lambda: {n: Channel() for n in range(1, 5)}
    )
    trig_source: str = "CHAN1"
    trig_level: float = 0.0
    trig_slope: str = "POS"
    trig_sweep: str = "AUTO"
    acq_type: str = "NORM"
    wav_source: int = 1
    wav_format: str = "BYTE"
    wav_byteorder: str = "MSBF"
    wav_unsigned: bool = True
    wav_points: int = 1000
    wav_points_mode: str = "NORM"
    acq_mode: str = "RTIM"
    seg_count: int = 2
    seg_index: int = 1
    armed: bool = False
    running: bool = True
    ter: bool = False
    captures: dict[int, Capture] = field(default_factory=dict)
    segments: list[tuple[float, dict[int, Capture]]] = field(default_factory=list)


class InfiniiVisionSim(ScpiInstrument):
    idn = ("KEYSIGHT TECHNOLOGIES", "DSO-X 3024T", "MY00000002", "07.50.2021102830")
    role = "scope"

    def __init__(self, source: Source | None = None, lock: threading.RLock | None = None,
                 free_source: Source | None = None) -> None:
        self.source: Source = source or (lambda ch, t: np.zeros_like(t))
        self.free_source: Source = free_source or (lambda ch, t: np.zeros_like(t))
        self.s = ScopeState()
        super().__init__(lock)

    def reset(self) -> None:
        self.s = ScopeState()

    # --- trigger path -----------------------------------------------------
    def external_edge(self, pulse_width_s: float, time_s: float = 0.0) -> None:
        """The generator's sync output rose (t=0) and fell (t=width) at EXT."""
        s = self.s
        if not s.armed or s.trig_source != "EXT":
            return
        if not 0.0 < s.trig_level < EXT_SYNC_HIGH_V:
            return
        stimulus_at = -pulse_width_s if s.trig_slope == "NEG" else 0.0
        self._acquire(stimulus_at, self.source, time_s)

    def _acquire(self, stimulus_at: float, source: Source, time_s: float = 0.0) -> None:
        s = self.s
        points = min(s.wav_points, MAX_POINTS[s.wav_points_mode])
        x_inc = H_DIVS * s.t_scale / points
        x_origin = s.t_position - REFERENCE_DIVS[s.t_reference] * s.t_scale
        t = x_origin + np.arange(points) * x_inc
        captures = {}
        for n, ch in s.channels.items():
            if ch.display:
                volts = source(n, t - stimulus_at)
                captures[n] = Capture(volts, x_inc, x_origin, ch.scale, ch.offset,
                                      ADC_BITS[s.acq_type])
        if s.acq_mode == "SEGM":
            s.segments.append((time_s, captures))
            s.captures = captures
            if len(s.segments) < s.seg_count:
                return  # stay armed for the next segment
        else:
            s.captures = captures
        s.armed = False
        s.running = False
        s.ter = True

    def _free_capture(self) -> None:
        """Auto sweep, nothing to wait for: capture the free-running input now."""
        self.s.armed = True
        self.s.segments = []
        self._acquire(0.0, self.free_source)

    # --- waveform transfer --------------------------------------------------
    def _capture(self) -> Capture:
        captures = self.s.captures
        if self.s.acq_mode == "SEGM" and self.s.segments:
            if self.s.seg_index > len(self.s.segments):
                raise ScpiError(-222, f"segment {self.s.seg_index} not acquired")
            captures = self.s.segments[self.s.seg_index - 1][1]
        cap = captures.get(self.s.wav_source)
        if cap is None:
            raise ScpiError(-222, "no data for the waveform source")
        return cap

    def _codes(self, cap: Capture) -> tuple[np.ndarray, float, float]:
        """Integer codes, yincrement and yreference for the current format."""
        full = V_DIVS * cap.scale
        bottom = cap.offset - full / 2.0
        levels = 2**cap.bits
        adc = np.floor((cap.volts - bottom) / full * levels)
        adc = np.clip(adc, 0, levels - 1).astype(np.int64)
        width = 16 if self.s.wav_format == "WORD" else 8
        shift = width - cap.bits
        codes = adc << shift if shift >= 0 else adc >> -shift
        y_inc = full / 2**width
        y_ref = 2 ** (width - 1)
        if not self.s.wav_unsigned:
            codes = codes - y_ref
            y_ref = 0
        return codes, y_inc, float(y_ref)

    def _preamble(self, p: list[str], s: list[int]) -> str:
        cap = self._capture()
        codes, y_inc, y_ref = self._codes(cap)
        fields = [
            f"{FORMAT_CODES[self.s.wav_format]:+d}",
            f"{TYPE_CODES[self.s.acq_type]:+d}",
            f"{codes.size:+d}",
            "+1",
            nr3(cap.x_increment),
            nr3(cap.x_origin),
            "+0",
            nr3(y_inc),
            nr3(cap.offset),
            f"{int(y_ref):+d}",
        ]
        return ",".join(fields)

    def _data(self, p: list[str], s: list[int]) -> bytes:
        cap = self._capture()
        codes, y_inc, y_ref = self._codes(cap)
        fmt = self.s.wav_format
        if fmt == "ASC":
            volts = (codes - y_ref) * y_inc + cap.offset
            return block(",".join(f"{v:+.6E}" for v in volts).encode(), 8)
        order = "<" if self.s.wav_byteorder == "LSBF" else ">"
        kind = ("u" if self.s.wav_unsigned else "i") + ("2" if fmt == "WORD" else "1")
        return block(codes.astype(order + kind).tobytes(), 8)  # InfiniiVision: always #8

    # --- handlers ---------------------------------------------------------
    def _channel(self, suffixes: list[int]) -> Channel:
        n = suffixes[0]
        if n not in self.s.channels:
            raise ScpiError(-114, str(n))
        return self.s.channels[n]

    def _set_trig_source(self, p: list[str], s: list[int]) -> None:
        word = one(p).upper()
        m = re.fullmatch(r"CHAN(?:NEL)?([1-4])", word)
        if m:
            self.s.trig_source = f"CHAN{m.group(1)}"
        elif word in ("EXT", "EXTERNAL"):
            self.s.trig_source = "EXT"
        elif word == "LINE":
            self.s.trig_source = "LINE"
        else:
            raise ScpiError(-224, word)

    def _set_wav_source(self, p: list[str], s: list[int]) -> None:
        m = re.fullmatch(r"CHAN(?:NEL)?([1-4])", one(p).upper())
        if not m:
            raise ScpiError(-224, one(p))
        self.s.wav_source = int(m.group(1))

    def _single(self, p: list[str], s: list[int]) -> None:
        self.s.armed = True
        self.s.running = True
        self.s.captures = {}
        self.s.segments = []

    def _digitize(self, p: list[str], s: list[int]) -> None:
        if len(p) > 1:
            raise ScpiError(-108)
        if p:
            self._set_wav_source(p, s)
        if self.s.trig_sweep == "AUTO" and self.s.trig_source != "EXT":
            self._free_capture()
        else:
            self._single([], s)

    def _ttag(self, p: list[str], s: list[int]) -> str:
        segs = self.s.segments
        if not segs or self.s.seg_index > len(segs):
            raise ScpiError(-222, "no such segment")
        return nr3(segs[self.s.seg_index - 1][0] - segs[0][0])

    def _set_seg_count(self, p: list[str], s: list[int]) -> None:
        self.s.seg_count = integer(one(p), minimum=2, maximum=MAX_SEGMENTS, default=2)

    def _stop(self, p: list[str], s: list[int]) -> None:
        self.s.armed = False
        self.s.running = False

    def _ter(self, p: list[str], s: list[int]) -> str:
        value, self.s.ter = self.s.ter, False
        return "+1" if value else "+0"

    def _oper_condition(self, p: list[str], s: list[int]) -> str:
        run_bit = 8 if self.s.running else 0
        wait_trig = 32 if self.s.armed else 0
        return f"{run_bit | wait_trig:+d}"

    def _attr(self, attr: str, parse: Callable[[str], object]) -> Callable[..., None]:
        return lambda p, s: setattr(self.s, attr, parse(one(p)))

    def _chan_attr(self, attr: str, parse: Callable[[str], object]) -> Callable[..., None]:
        return lambda p, s: setattr(self._channel(s), attr, parse(one(p)))

    def commands(self) -> list[Command]:
        st = self
        return [
            Command(":TIMebase:SCALe",
                    self._attr("t_scale", lambda v: number(v, unit="S", minimum=1e-9,
                                                           maximum=50.0, default=100e-6)),
                    lambda p, s: nr3(st.s.t_scale)),
            Command(":TIMebase:POSition",
                    self._attr("t_position", lambda v: number(v, unit="S", minimum=-500.0,
                                                              maximum=500.0, default=0.0)),
                    lambda p, s: nr3(st.s.t_position)),
            Command(":TIMebase:REFerence",
                    self._attr("t_reference", lambda v: choice(v, ("LEFT", "CENTer", "RIGHt"))),
                    lambda p, s: st.s.t_reference),
            Command(":CHANnel#:SCALe",
                    self._chan_attr("scale", lambda v: number(v, unit="V", minimum=1e-3,
                                                              maximum=5.0, default=0.1)),
                    lambda p, s: nr3(st._channel(s).scale)),
            Command(":CHANnel#:OFFSet",
                    self._chan_attr("offset", lambda v: number(v, unit="V", minimum=-40.0,
                                                               maximum=40.0, default=0.0)),
                    lambda p, s: nr3(st._channel(s).offset)),
            Command(":CHANnel#:COUPling",
                    self._chan_attr("coupling", lambda v: choice(v, ("AC", "DC"))),
                    lambda p, s: st._channel(s).coupling),
            Command(":CHANnel#:DISPlay", self._chan_attr("display", boolean),
                    lambda p, s: "1" if st._channel(s).display else "0"),
            Command(":TRIGger:EDGE:SOURce", self._set_trig_source,
                    lambda p, s: st.s.trig_source),
            Command(":TRIGger:EDGE:LEVel",
                    self._attr("trig_level", lambda v: number(v, unit="V", minimum=-40.0,
                                                              maximum=40.0, default=0.0)),
                    lambda p, s: nr3(st.s.trig_level)),
            Command(":TRIGger:EDGE:SLOPe",
                    self._attr("trig_slope", lambda v: choice(
                        v, ("POSitive", "NEGative", "EITHer", "ALTernate"))),
                    lambda p, s: st.s.trig_slope),
            Command(":TRIGger:SWEep",
                    self._attr("trig_sweep", lambda v: choice(v, ("AUTO", "NORMal"))),
                    lambda p, s: st.s.trig_sweep),
            Command(":ACQuire:TYPE",
                    self._attr("acq_type", lambda v: choice(
                        v, ("NORMal", "AVERage", "HRESolution", "PEAK"))),
                    lambda p, s: st.s.acq_type),
            Command(":SINGle", self._single),
            Command(":DIGitize", self._digitize),
            Command(":ACQuire:MODE",
                    self._attr("acq_mode", lambda v: choice(v, ("RTIMe", "ETIMe", "SEGMented"))),
                    lambda p, s: st.s.acq_mode),
            Command(":ACQuire:SEGMented:COUNt", self._set_seg_count,
                    lambda p, s: f"{st.s.seg_count:+d}"),
            Command(":ACQuire:SEGMented:INDex",
                    self._attr("seg_index", lambda v: integer(v, minimum=1,
                                                               maximum=MAX_SEGMENTS, default=1)),
                    lambda p, s: f"{st.s.seg_index:+d}"),
            Command(":WAVeform:SEGMented:COUNt", query=lambda p, s: f"{len(st.s.segments):+d}"),
            Command(":WAVeform:SEGMented:TTAG", query=self._ttag),
            Command(":RUN", lambda p, s: setattr(st.s, "running", True)),
            Command(":STOP", self._stop),
            Command(":TER", query=self._ter),
            Command(":OPERegister:CONDition", query=self._oper_condition),
            Command(":WAVeform:SOURce", self._set_wav_source,
                    lambda p, s: f"CHAN{st.s.wav_source}"),
            Command(":WAVeform:FORMat",
                    self._attr("wav_format", lambda v: choice(v, ("WORD", "BYTE", "ASCii"))),
                    lambda p, s: st.s.wav_format),
            Command(":WAVeform:BYTeorder",
                    self._attr("wav_byteorder", lambda v: choice(v, ("LSBFirst", "MSBFirst"))),
                    lambda p, s: st.s.wav_byteorder),
            Command(":WAVeform:UNSigned", self._attr("wav_unsigned", boolean),
                    lambda p, s: "1" if st.s.wav_unsigned else "0"),
            Command(":WAVeform:POINts",
                    self._attr("wav_points", lambda v: integer(v, minimum=100,
                                                                maximum=4_000_000, default=1000)),
                    lambda p, s: f"{st._points():+d}"),
            Command(":WAVeform:POINts:MODE",
                    self._attr("wav_points_mode", lambda v: choice(
                        v, ("NORMal", "MAXimum", "RAW"))),
                    lambda p, s: st.s.wav_points_mode),
            Command(":WAVeform:PREamble", query=self._preamble),
            Command(":WAVeform:DATA", query=self._data),
        ]

    def _points(self) -> int:
        cap = self.s.captures.get(self.s.wav_source)
        if cap is not None:
            return int(cap.volts.size)
        return min(self.s.wav_points, MAX_POINTS[self.s.wav_points_mode])
