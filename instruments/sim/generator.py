"""Simulated Keysight 33500B-series function generator (33522B, two channels).

Only what a stimulator bench uses: the pulse function, high/low levels, triggered
bursts and the output state and load setting. The load setting matters: with the
default 50 Ω setting the generator's open-circuit voltage into a high-impedance
stimulator input is twice the value set, exactly as on the real instrument.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from instruments.sim.pulse_scheduler import MIN_SCHEDULE_PERIOD_S, PulseScheduler
from instruments.sim.scpi_instrument import Command, ScpiInstrument
from instruments.sim.scpi_syntax import ScpiError, boolean, choice, integer, number, one

OUTPUT_IMPEDANCE_OHM = 50.0
MAX_OPEN_CIRCUIT_V = 10.0

FUNCTIONS = ("SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe", "ARB", "DC")
TRIGGER_SOURCES = ("IMMediate", "EXTernal", "TIMer", "BUS")

TAG_BURST = 0  # tags >= 0: pulse index within a triggered burst
TAG_FREE = -1  # free-running: next burst or pulse


def nr3(value: float) -> str:
    return f"{value:+.15E}"


@dataclass(frozen=True)
class PulseEvent:
    """One pulse edge at the output: open-circuit levels (what a high-Z input sees)."""

    channel: int
    high_v: float
    low_v: float
    width_s: float
    output_on: bool
    sync: bool
    time_s: float
    burst_index: int = 0  # position of this pulse within a triggered burst
    period_s: float | None = None  # pulse period when the burst has more than one pulse


@dataclass
class ChannelState:
    function: str = "SIN"
    width_s: float = 100e-6
    period_s: float = 1e-3
    emf_high_v: float = 0.1  # open-circuit; *RST is 100 mVpp into 50 Ω
    emf_low_v: float = -0.1
    load_ohm: float = 50.0
    output: bool = False
    burst: bool = False
    burst_mode: str = "TRIG"
    burst_cycles: int = 1
    burst_period_s: float = 0.01
    trigger_source: str = "IMM"
    trigger_timer_s: float = 1e-3
    trigger_delay_s: float = 0.0
    generation: int = 0
    burst_started_s: float = 0.0

    def load_factor(self) -> float:
        """Displayed volts per open-circuit volt for the load setting."""
        if math.isinf(self.load_ohm):
            return 1.0
        return self.load_ohm / (self.load_ohm + OUTPUT_IMPEDANCE_OHM)


class Generator33500Sim(ScpiInstrument):
    idn = ("Agilent Technologies", "33522B", "MY00000001", "4.00-1.19-2.00-58-00")
    role = "generator"
    channels = 2

    def __init__(
        self,
        lock: threading.RLock | None = None,
        on_pulse: Callable[[PulseEvent], None] | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.on_pulse = on_pulse or (lambda event: None)
        self.sync = True
        self.ch: dict[int, ChannelState] = {}
        super().__init__(lock)
        self._scheduler = PulseScheduler(self._scheduled, time_scale)

    def close(self) -> None:
        self._scheduler.stop()

    def reset(self) -> None:
        for state in self.ch.values():
            state.generation += 1
        self.ch = {n: ChannelState() for n in range(1, self.channels + 1)}
        self.sync = True

    # --- helpers ----------------------------------------------------------
    def _state(self, suffixes: Sequence[int]) -> ChannelState:
        n = suffixes[0] if suffixes else 1
        if n not in self.ch:
            raise ScpiError(-114, str(n))
        return self.ch[n]

    def _channel_no(self, state: ChannelState) -> int:
        return next(n for n, s in self.ch.items() if s is state)

    def _restart(self, state: ChannelState) -> None:
        """Cancel queued pulses and restart free-running output if it applies."""
        state.generation += 1
        if not state.output:
            return
        if state.burst and state.trigger_source in ("IMM", "TIM"):
            period = state.burst_period_s if state.trigger_source == "IMM" else (
                state.trigger_timer_s
            )
        elif not state.burst and state.function == "PULS":
            period = state.period_s
        else:
            return
        self._scheduler.schedule(
            max(period, MIN_SCHEDULE_PERIOD_S), self._channel_no(state), state.generation, TAG_FREE
        )

    def _emit(self, state: ChannelState, index: int = 0) -> None:
        if state.function != "PULS":
            return
        train = state.burst and state.burst_cycles > 1
        if index == 0:
            state.burst_started_s = time.monotonic()
        self.on_pulse(
            PulseEvent(
                channel=self._channel_no(state),
                high_v=state.emf_high_v,
                low_v=state.emf_low_v,
                width_s=state.width_s,
                output_on=state.output,
                sync=self.sync,
                time_s=state.burst_started_s + index * state.period_s if train
                else time.monotonic(),
                burst_index=index,
                period_s=state.period_s if train else None,
            )
        )

    def _start_burst(self, state: ChannelState) -> None:
        self._emit(state)
        if state.burst_cycles > 1:
            self._scheduler.schedule(
                state.period_s, self._channel_no(state), state.generation, TAG_BURST + 1
            )

    def _scheduled(self, channel: int, generation: int, tag: int) -> None:
        with self.lock:
            state = self.ch.get(channel)
            if state is None or state.generation != generation:
                return
            if tag == TAG_FREE:
                if state.burst:
                    self._start_burst(state)
                else:
                    self._emit(state)
                self._restart(state)
                return
            self._emit(state, tag)  # pulse number `tag` (0-based) of a triggered burst
            if tag + 1 < state.burst_cycles:
                self._scheduler.schedule(state.period_s, channel, generation, tag + 1)

    def bus_trigger(self) -> None:
        fired = False
        for state in self.ch.values():
            if state.burst and state.burst_mode == "TRIG" and state.trigger_source == "BUS":
                self._start_burst(state)
                fired = True
        if not fired:
            raise ScpiError(-211)

    # --- command handlers -------------------------------------------------
    def _set_width(self, p: list[str], s: list[int]) -> None:
        state = self._state(s)
        width = number(one(p), unit="S", minimum=16e-9, maximum=1e6, default=100e-6)
        if width >= state.period_s:
            raise ScpiError(-221, "pulse width must be less than the period")
        state.width_s = width

    def _set_period(self, p: list[str], s: list[int]) -> None:
        state = self._state(s)
        period = number(one(p), unit="S", minimum=33e-9, maximum=1e6, default=1e-3)
        if period <= state.width_s:
            raise ScpiError(-221, "period must exceed the pulse width")
        state.period_s = period
        self._restart(state)

    def _set_level(self, which: str) -> Callable[[list[str], list[int]], None]:
        def setter(p: list[str], s: list[int]) -> None:
            state = self._state(s)
            factor = state.load_factor()
            limit = MAX_OPEN_CIRCUIT_V * factor
            displayed = number(one(p), unit="V", minimum=-limit, maximum=limit, default=0.0)
            emf = displayed / factor
            high = emf if which == "HIGH" else state.emf_high_v
            low = emf if which == "LOW" else state.emf_low_v
            if high - low < 0.001 / factor:
                raise ScpiError(-221, "high level must exceed low level")
            state.emf_high_v, state.emf_low_v = high, low

        return setter

    def _get_level(self, which: str) -> Callable[[list[str], list[int]], str]:
        def getter(p: list[str], s: list[int]) -> str:
            state = self._state(s)
            emf = state.emf_high_v if which == "HIGH" else state.emf_low_v
            return nr3(emf * state.load_factor())

        return getter

    def _set_load(self, p: list[str], s: list[int]) -> None:
        state = self._state(s)
        word = one(p).upper()
        if word in ("INF", "INFINITY"):
            state.load_ohm = math.inf
        else:
            state.load_ohm = number(word, unit="OHM", minimum=1.0, maximum=10e3, default=50.0)

    def _get_load(self, p: list[str], s: list[int]) -> str:
        load = self._state(s).load_ohm
        return "+9.900000000000000E+37" if math.isinf(load) else nr3(load)

    def _set_output(self, p: list[str], s: list[int]) -> None:
        state = self._state(s)
        state.output = boolean(one(p))
        self._restart(state)

    def _set_attr(
        self, attr: str, parse: Callable[[str], object], restart: bool = False
    ) -> Callable[[list[str], list[int]], None]:
        def setter(p: list[str], s: list[int]) -> None:
            state = self._state(s)
            setattr(state, attr, parse(one(p)))
            if restart:
                self._restart(state)

        return setter

    def _get_attr(
        self, attr: str, fmt: Callable[[object], str]
    ) -> Callable[[list[str], list[int]], str]:
        return lambda p, s: fmt(getattr(self._state(s), attr))

    def _trigger_now(self, p: list[str], s: list[int]) -> None:
        state = self._state(s)
        if not (state.burst and state.burst_mode == "TRIG"):
            raise ScpiError(-211)
        self._start_burst(state)

    def commands(self) -> list[Command]:
        def flag(v: object) -> str:
            return "1" if v else "0"

        def num(v: object) -> str:
            return nr3(float(v))  # type: ignore[arg-type]

        def text(v: object) -> str:
            return str(v)

        return [
            Command(
                "[SOURce#:]FUNCtion[:SHAPe]",
                self._set_attr("function", lambda v: choice(v, FUNCTIONS), restart=True),
                self._get_attr("function", text),
            ),
            Command(
                "[SOURce#:]FUNCtion:PULSe:WIDTh", self._set_width, self._get_attr("width_s", num)
            ),
            Command(
                "[SOURce#:]FUNCtion:PULSe:PERiod",
                self._set_period,
                self._get_attr("period_s", num),
            ),
            Command("[SOURce#:]VOLTage:HIGH", self._set_level("HIGH"), self._get_level("HIGH")),
            Command("[SOURce#:]VOLTage:LOW", self._set_level("LOW"), self._get_level("LOW")),
            Command(
                "[SOURce#:]BURSt[:STATe]",
                self._set_attr("burst", boolean, restart=True),
                self._get_attr("burst", flag),
            ),
            Command(
                "[SOURce#:]BURSt:MODE",
                self._set_attr("burst_mode", lambda v: choice(v, ("TRIGgered", "GATed"))),
                self._get_attr("burst_mode", text),
            ),
            Command(
                "[SOURce#:]BURSt:NCYCles",
                self._set_attr(
                    "burst_cycles", lambda v: integer(v, minimum=1, maximum=100_000_000, default=1)
                ),
                self._get_attr("burst_cycles", num),
            ),
            Command(
                "[SOURce#:]BURSt:INTernal:PERiod",
                self._set_attr(
                    "burst_period_s",
                    lambda v: number(v, unit="S", minimum=1e-6, maximum=8000, default=0.01),
                    restart=True,
                ),
                self._get_attr("burst_period_s", num),
            ),
            Command(
                "TRIGger#:SOURce",
                self._set_attr(
                    "trigger_source", lambda v: choice(v, TRIGGER_SOURCES), restart=True
                ),
                self._get_attr("trigger_source", text),
            ),
            Command(
                "TRIGger#:TIMer",
                self._set_attr(
                    "trigger_timer_s",
                    lambda v: number(v, unit="S", minimum=1e-6, maximum=8000, default=1e-3),
                    restart=True,
                ),
                self._get_attr("trigger_timer_s", num),
            ),
            Command(
                "TRIGger#:DELay",
                self._set_attr(
                    "trigger_delay_s",
                    lambda v: number(v, unit="S", minimum=0, maximum=1000, default=0),
                ),
                self._get_attr("trigger_delay_s", num),
            ),
            Command("TRIGger#[:IMMediate]", self._trigger_now),
            Command("OUTPut#[:STATe]", self._set_output, self._get_attr("output", flag)),
            Command("OUTPut#:LOAD", self._set_load, self._get_load),
            Command(
                "OUTPut:SYNC[:STATe]",
                lambda p, s: setattr(self, "sync", boolean(one(p))),
                lambda p, s: "1" if self.sync else "0",
            ),
        ]
