"""Simulated Rigol DS1000Z oscilloscope (DS1104Z), the other common bench scope.

What differs from the InfiniiVision model, and why the driver cares:
- 12 horizontal divisions; :TIMebase[:MAIN]:OFFSet is the time at the screen centre
  relative to the trigger. Memory depth is a fixed set (:ACQuire:MDEPth, values depend
  on how many channels are on) and the sample rate follows: depth / (12 × scale).
- 8-bit ADC, 25 codes per vertical division, code 127 at the screen centre. The
  preamble's yorigin is in codes, so volts = (code − yorigin − yreference) × yincrement
  (InfiniiVision: (code − yreference) × yincrement + yorigin, yorigin in volts).
  :WAVeform:FORMat WORD sends the same 8-bit codes in two bytes (upper byte 0).
- No external trigger input on the four-channel models: the generator's sync is wired to
  CHANnel2 and the edge trigger watches it.
- :SINGle, then :TRIGger:STATus? reads WAIT until the trigger, then STOP. :TFORce
  triggers at once (free-running capture for needle EMG).
- :WAVeform:MODE RAW reads acquisition memory (only when stopped) in pieces chosen with
  :WAVeform:STARt/:STOP, at most 250 000 points per read in BYTE, 125 000 in WORD,
  15 625 in ASCii; NORMal reads the 1200 screen points.
- Blocks use a 9-digit length header (``#9000001200``) followed by LF.
No segmented memory is modelled (the DS1000Z records frames only with an option).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from instruments.sim.scope import EXT_SYNC_HIGH_V, Capture, Source
from instruments.sim.scpi_instrument import Command, ScpiInstrument
from instruments.sim.scpi_syntax import ScpiError, block, boolean, choice, integer, number, one

H_DIVS = 12
CODES_PER_DIV = 25
Y_REFERENCE = 127
SCREEN_POINTS = 1200
MAX_SAMPLE_RATE = 1e9  # one channel on
SYNC_CHANNEL = 2  # the generator's sync output is plugged in here
# memory depths by the number of analogue channels switched on (DS1000Z programming guide)
DEPTHS = {1: (12_000, 120_000, 1_200_000, 12_000_000, 24_000_000),
          2: (6_000, 60_000, 600_000, 6_000_000, 12_000_000),
          3: (3_000, 30_000, 300_000, 3_000_000, 6_000_000),
          4: (3_000, 30_000, 300_000, 3_000_000, 6_000_000)}
CHUNK_POINTS = {"BYTE": 250_000, "WORD": 125_000, "ASC": 15_625}
FORMAT_CODES = {"BYTE": 0, "WORD": 1, "ASC": 2}
MODE_CODES = {"NORM": 0, "MAX": 1, "RAW": 2}


def sci(value: float) -> str:
    """Reals as the DS1000Z writes them (the manual's examples): 1.000000e-09."""
    return f"{value:.6e}"


@dataclass
class RigolChannel:
    scale: float = 1.0
    offset: float = 0.0
    coupling: str = "DC"
    display: bool = False
    probe: float = 10.0  # the DS1000Z powers up expecting a 10× probe


@dataclass
class RigolState:
    t_scale: float = 1e-6
    t_offset: float = 0.0
    channels: dict[int, RigolChannel] = field(
        default_factory=lambda: {n: RigolChannel(display=n == 1) for n in range(1, 5)})
    trig_source: str = "CHAN1"
    trig_level: float = 0.0
    trig_slope: str = "POS"
    trig_sweep: str = "AUTO"
    mdepth: int = 0  # 0 = AUTO
    acq_type: str = "NORM"
    wav_source: int = 1
    wav_mode: str = "NORM"
    wav_format: str = "BYTE"
    wav_start: int = 1
    wav_stop: int = SCREEN_POINTS
    status: str = "AUTO"  # TD, WAIT, RUN, AUTO, STOP
    captures: dict[int, Capture] = field(default_factory=dict)


class RigolDS1000ZSim(ScpiInstrument):
    idn = ("RIGOL TECHNOLOGIES", "DS1104Z", "DS1ZA000000001", "00.04.05.SP2")
    role = "scope"

    def __init__(self, source: Source | None = None, lock: threading.RLock | None = None,
                 free_source: Source | None = None) -> None:
        self.source: Source = source or (lambda ch, t: np.zeros_like(t))
        self.free_source: Source = free_source or (lambda ch, t: np.zeros_like(t))
        self.s = RigolState()
        super().__init__(lock)

    def reset(self) -> None:
        self.s = RigolState()

    # --- acquisition ------------------------------------------------------
    def _channels_on(self) -> int:
        return max(sum(ch.display for ch in self.s.channels.values()), 1)

    def memory_depth(self) -> int:
        """Points per channel of one acquisition (AUTO: the smallest depth, a sim choice)."""
        depth = self.s.mdepth or DEPTHS[self._channels_on()][0]
        rate_cap = MAX_SAMPLE_RATE / self._channels_on()
        return int(min(depth, rate_cap * H_DIVS * self.s.t_scale))

    def external_edge(self, pulse_width_s: float, time_s: float = 0.0) -> None:
        """The generator's sync rose at t=0 (and fell at t=width) on CHANnel2."""
        s = self.s
        if s.status != "WAIT" or s.trig_source != f"CHAN{SYNC_CHANNEL}":
            return
        probe = s.channels[SYNC_CHANNEL].probe
        if not 0.0 < s.trig_level < EXT_SYNC_HIGH_V * probe:
            return
        self._acquire(-pulse_width_s if s.trig_slope == "NEG" else 0.0, self.source)

    def _acquire(self, stimulus_at: float, source: Source) -> None:
        s = self.s
        points = self.memory_depth()
        x_inc = H_DIVS * s.t_scale / points
        x_origin = s.t_offset - H_DIVS / 2 * s.t_scale
        t = x_origin + np.arange(points) * x_inc
        s.captures = {}
        for n, ch in s.channels.items():
            if ch.display:
                # the scope shows the input times the probe ratio it was told
                s.captures[n] = Capture(source(n, t - stimulus_at) * ch.probe, x_inc,
                                        x_origin, ch.scale, ch.offset, 8)
        s.status = "STOP"

    # --- waveform transfer --------------------------------------------------
    def _capture(self) -> Capture:
        cap = self.s.captures.get(self.s.wav_source)
        if cap is None:
            raise ScpiError(-222, "no data for the waveform source")
        return cap

    def _selection(self, cap: Capture) -> tuple[np.ndarray, float, int]:
        """Codes of the selected points, x increment and index of the first point."""
        y_inc = cap.scale / CODES_PER_DIV
        codes = np.round((cap.volts + cap.offset) / y_inc) + Y_REFERENCE
        codes = np.clip(codes, 0, 255).astype(np.int64)
        x_inc = cap.x_increment
        if self.s.wav_mode != "RAW" or self.s.status != "STOP":
            step = max(codes.size // SCREEN_POINTS, 1)
            codes, x_inc = codes[::step][:SCREEN_POINTS], x_inc * step
        return codes, x_inc, 0

    def _preamble(self, p: list[str], s: list[int]) -> str:
        cap = self._capture()
        codes, x_inc, _ = self._selection(cap)
        y_inc = cap.scale / CODES_PER_DIV
        fields = [  # as the manual's example: integers bare, reals as 1.000000e-09
            str(FORMAT_CODES[self.s.wav_format]),
            str(MODE_CODES[self.s.wav_mode]),
            str(codes.size),
            "1",
            sci(x_inc),
            sci(cap.x_origin),
            "0",
            sci(y_inc),
            str(round(cap.offset / y_inc)),
            str(Y_REFERENCE),
        ]
        return ",".join(fields)

    def _data(self, p: list[str], s: list[int]) -> bytes:
        if self.s.wav_mode == "RAW" and self.s.status != "STOP":
            raise ScpiError(-221, "RAW waveform reads need the scope stopped")
        cap = self._capture()
        codes, _, _ = self._selection(cap)
        start, stop = self.s.wav_start, min(self.s.wav_stop, codes.size)
        if start > stop:
            raise ScpiError(-222, f"start {start} after stop {stop}")
        if stop - start + 1 > CHUNK_POINTS[self.s.wav_format]:
            raise ScpiError(-222, f"{stop - start + 1} points in one read")
        part = codes[start - 1:stop]
        fmt = self.s.wav_format
        if fmt == "ASC":
            y_inc = cap.scale / CODES_PER_DIV
            volts = (part - round(cap.offset / y_inc) - Y_REFERENCE) * y_inc
            return block(",".join(f"{v:.6E}" for v in volts).encode(), 9)
        dtype = "<u2" if fmt == "WORD" else "u1"
        return block(part.astype(dtype).tobytes(), 9)

    # --- handlers ---------------------------------------------------------
    def _channel(self, suffixes: list[int]) -> RigolChannel:
        n = suffixes[0]
        if n not in self.s.channels:
            raise ScpiError(-114, str(n))
        return self.s.channels[n]

    def _source_channel(self, word: str) -> int:
        m = re.fullmatch(r"CHAN(?:NEL)?([1-4])", word.strip().upper())
        if not m:
            raise ScpiError(-224, word)
        return int(m.group(1))

    def _set_trig_source(self, p: list[str], s: list[int]) -> None:
        self.s.trig_source = f"CHAN{self._source_channel(one(p))}"

    def _set_wav_source(self, p: list[str], s: list[int]) -> None:
        self.s.wav_source = self._source_channel(one(p))

    def _set_scale(self, p: list[str], s: list[int]) -> None:
        ch = self._channel(s)
        ch.scale = number(one(p), unit="V", minimum=1e-3 * ch.probe, maximum=10.0 * ch.probe,
                          default=1.0)

    def _set_probe(self, p: list[str], s: list[int]) -> None:
        ch = self._channel(s)
        ratio = number(one(p), minimum=0.01, maximum=1000.0)
        ch.scale *= ratio / ch.probe  # the displayed scale follows the ratio
        ch.probe = ratio

    def _set_mdepth(self, p: list[str], s: list[int]) -> None:
        word = one(p).upper()
        if word == "AUTO":
            self.s.mdepth = 0
            return
        depth = integer(word, minimum=1, maximum=24_000_000)
        if depth not in DEPTHS[self._channels_on()]:
            raise ScpiError(-224, f"memory depth {depth} with {self._channels_on()} channels on")
        self.s.mdepth = depth

    def _single(self, p: list[str], s: list[int]) -> None:
        self.s.trig_sweep = "SING"
        self.s.status = "WAIT"
        self.s.captures = {}

    def _force(self, p: list[str], s: list[int]) -> None:
        if self.s.trig_sweep in ("NORM", "SING") and self.s.status == "WAIT":
            self._acquire(0.0, self.free_source)

    def _set_start(self, p: list[str], s: list[int]) -> None:
        self.s.wav_start = integer(one(p), minimum=1, maximum=24_000_000)

    def _set_stop(self, p: list[str], s: list[int]) -> None:
        self.s.wav_stop = integer(one(p), minimum=1, maximum=24_000_000)

    def _attr(self, attr: str, parse: Callable[[str], object]) -> Callable[..., None]:
        return lambda p, s: setattr(self.s, attr, parse(one(p)))

    def _chan_attr(self, attr: str, parse: Callable[[str], object]) -> Callable[..., None]:
        return lambda p, s: setattr(self._channel(s), attr, parse(one(p)))

    def commands(self) -> list[Command]:
        st = self
        return [
            Command(":TIMebase[:MAIN]:SCALe",
                    self._attr("t_scale", lambda v: number(v, unit="S", minimum=5e-9,
                                                           maximum=50.0, default=1e-6)),
                    lambda p, s: sci(st.s.t_scale)),
            Command(":TIMebase[:MAIN]:OFFSet",
                    self._attr("t_offset", lambda v: number(v, unit="S", minimum=-500.0,
                                                            maximum=500.0, default=0.0)),
                    lambda p, s: sci(st.s.t_offset)),
            Command(":CHANnel#:SCALe", self._set_scale,
                    lambda p, s: sci(st._channel(s).scale)),
            Command(":CHANnel#:OFFSet",
                    self._chan_attr("offset", lambda v: number(v, unit="V", minimum=-100.0,
                                                               maximum=100.0, default=0.0)),
                    lambda p, s: sci(st._channel(s).offset)),
            Command(":CHANnel#:COUPling",
                    self._chan_attr("coupling", lambda v: choice(v, ("AC", "DC", "GND"))),
                    lambda p, s: st._channel(s).coupling),
            Command(":CHANnel#:DISPlay", self._chan_attr("display", boolean),
                    lambda p, s: "1" if st._channel(s).display else "0"),
            Command(":CHANnel#:PROBe", self._set_probe,
                    lambda p, s: sci(st._channel(s).probe)),
            Command(":TRIGger:MODE", lambda p, s: choice(one(p), ("EDGE",)),
                    lambda p, s: "EDGE"),
            Command(":TRIGger:EDGe:SOURce", self._set_trig_source,
                    lambda p, s: st.s.trig_source),
            Command(":TRIGger:EDGe:LEVel",
                    self._attr("trig_level", lambda v: number(v, unit="V", minimum=-100.0,
                                                              maximum=100.0, default=0.0)),
                    lambda p, s: sci(st.s.trig_level)),
            Command(":TRIGger:EDGe:SLOPe",
                    self._attr("trig_slope", lambda v: choice(
                        v, ("POSitive", "NEGative", "RFALl"))),
                    lambda p, s: st.s.trig_slope),
            Command(":TRIGger:SWEep",
                    self._attr("trig_sweep", lambda v: choice(v, ("AUTO", "NORMal", "SINGle"))),
                    lambda p, s: st.s.trig_sweep),
            Command(":TRIGger:STATus", query=lambda p, s: st.s.status),
            Command(":ACQuire:TYPE",
                    self._attr("acq_type", lambda v: choice(
                        v, ("NORMal", "AVERages", "PEAK", "HRESolution"))),
                    lambda p, s: st.s.acq_type),
            Command(":ACQuire:MDEPth", self._set_mdepth,
                    lambda p, s: str(st.s.mdepth) if st.s.mdepth else "AUTO"),
            Command(":ACQuire:SRATe", query=lambda p, s: sci(
                st.memory_depth() / (H_DIVS * st.s.t_scale))),
            Command(":SINGle", self._single),
            Command(":RUN", lambda p, s: setattr(st.s, "status", "RUN")),
            Command(":STOP", lambda p, s: setattr(st.s, "status", "STOP")),
            Command(":TFORce", self._force),
            Command(":WAVeform:SOURce", self._set_wav_source,
                    lambda p, s: f"CHAN{st.s.wav_source}"),
            Command(":WAVeform:MODE",
                    self._attr("wav_mode", lambda v: choice(v, ("NORMal", "MAXimum", "RAW"))),
                    lambda p, s: st.s.wav_mode),
            Command(":WAVeform:FORMat",
                    self._attr("wav_format", lambda v: choice(v, ("WORD", "BYTE", "ASCii"))),
                    lambda p, s: st.s.wav_format),
            Command(":WAVeform:STARt", self._set_start, lambda p, s: str(st.s.wav_start)),
            Command(":WAVeform:STOP", self._set_stop, lambda p, s: str(st.s.wav_stop)),
            Command(":WAVeform:PREamble", query=self._preamble),
            Command(":WAVeform:DATA", query=self._data),
        ]
