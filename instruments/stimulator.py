"""Constant-current stimulator safety layer over the generator.

A DS5-type stimulator follows the generator's voltage (mA per volt), so the
generator *is* the stimulator's control and this module is where safety lives:
every request is checked against the bench profile's limits before any byte is
written, settings are read back before the output is enabled, and the output is
forced off on connect, after every stimulus, on any error and on close.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import ParamSpec, TypeVar

from instruments.clock import Clock, RealClock
from instruments.errors import InstrumentError, InstrumentProtocolError, StimulusLimitError
from instruments.generator_33500 import Generator33500, PulseSettings, is_33500
from instruments.scpi_driver import fmt

P = ParamSpec("P")
R = TypeVar("R")

PULSE_PERIOD_S = 0.01  # within a burst of one; must exceed any allowed width
MIN_GENERATOR_V = 0.001  # smallest high level the generator can set (1 mVpp)
READBACK_REL_TOL = 1e-3
MAX_TRAIN_PULSES = 500  # RNS trains are 10 at 3 Hz or up to ~50 at 20–50 Hz


@dataclass(frozen=True)
class StimulusLimits:
    max_current_mA: float
    max_pulse_width_ms: float
    max_rate_hz: float
    max_energy_mJ: float
    load_ohm: float

    def energy_mJ(self, current_mA: float, pulse_width_ms: float) -> float:
        """E = I²·R·t into the profile's nominal load."""
        return (current_mA * 1e-3) ** 2 * self.load_ohm * (pulse_width_ms * 1e-3) * 1e3

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class ConstantCurrentStimulator:
    role = "stimulator"

    def __init__(
        self,
        generator: Generator33500,
        limits: StimulusLimits,
        mA_per_volt: float,
        clock: Clock | None = None,
        channel: int = 1,
    ) -> None:
        self.generator = generator
        self.limits = limits
        self.mA_per_volt = mA_per_volt
        self.clock = clock or RealClock()
        self.channel = channel
        self.last_stimulus_at: float | None = None
        self.last_settings: PulseSettings | None = None
        self._set_up = False  # the generator holds our pulse set-up (lost on a restart)
        self._safe(self._connect)

    # --- safety ---------------------------------------------------------------
    def _refuse(self, detail: str) -> StimulusLimitError:
        return StimulusLimitError(self.role, self.generator.resource, detail)

    def check_train(self, current_mA: float, pulse_width_ms: float, rate_hz: float,
                    count: int) -> None:
        """Limits for a train: each pulse as `check`, the rate within the profile's ceiling."""
        self.check(current_mA, pulse_width_ms)
        if not (math.isfinite(rate_hz) and rate_hz > 0):
            raise self._refuse(f"train rate {rate_hz:g} Hz must be a positive number")
        if rate_hz > self.limits.max_rate_hz:
            raise self._refuse(f"train rate {rate_hz:g} Hz exceeds {self.limits.max_rate_hz:g} Hz")
        if not 1 <= count <= MAX_TRAIN_PULSES:
            raise self._refuse(f"train of {count} pulses outside 1–{MAX_TRAIN_PULSES}")
        if pulse_width_ms * 1e-3 >= 0.5 / rate_hz:
            raise self._refuse(f"pulse width {pulse_width_ms:g} ms too long for {rate_hz:g} Hz")

    def check(self, current_mA: float, pulse_width_ms: float) -> None:
        """Raise StimulusLimitError if the request is outside the limits (sends nothing)."""
        lim = self.limits
        if not (math.isfinite(current_mA) and math.isfinite(pulse_width_ms)):
            raise self._refuse("current and pulse width must be finite numbers")
        # judge the values as the generator will receive them (9 significant digits):
        # a request just under a limit can round to a command just over it
        current_mA = float(fmt(current_mA / self.mA_per_volt)) * self.mA_per_volt
        pulse_width_ms = float(fmt(pulse_width_ms * 1e-3)) * 1e3
        if current_mA <= 0:
            raise self._refuse(f"current {current_mA:g} mA must be positive")
        if current_mA / self.mA_per_volt < MIN_GENERATOR_V:
            raise self._refuse(f"current {current_mA:g} mA is below what the generator can set")
        if current_mA > lim.max_current_mA:
            raise self._refuse(f"current {current_mA:g} mA exceeds {lim.max_current_mA:g} mA")
        if not 0 < pulse_width_ms <= lim.max_pulse_width_ms:
            raise self._refuse(
                f"pulse width {pulse_width_ms:g} ms outside (0, {lim.max_pulse_width_ms:g}] ms"
            )
        energy = lim.energy_mJ(current_mA, pulse_width_ms)
        if energy > lim.max_energy_mJ:
            raise self._refuse(
                f"pulse energy {energy:.3g} mJ into {lim.load_ohm:g} Ω exceeds "
                f"{lim.max_energy_mJ:g} mJ"
            )
        if self.last_stimulus_at is not None:
            interval = self.clock.now() - self.last_stimulus_at
            min_interval = 1.0 / lim.max_rate_hz
            if interval < min_interval:
                raise self._refuse(
                    f"stimulus {interval * 1e3:.1f} ms after the previous one exceeds "
                    f"{lim.max_rate_hz:g} Hz (minimum interval {min_interval * 1e3:.1f} ms)"
                )

    def _safe(self, action: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `action`; on any error force the output off, then re-raise."""
        try:
            return action(*args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, InstrumentError):
                self._set_up = False  # it may have restarted: program it again before a pulse
            self.force_off()
            raise

    def output_off(self) -> None:
        """Switch the output off and confirm it from the instrument."""
        self.generator.output(False, self.channel)
        if self.generator.output_is_on(self.channel):
            raise InstrumentProtocolError(
                self.role, self.generator.resource, "output still on after OUTP OFF"
            )

    def force_off(self) -> None:
        """Best effort, and the original error is the one to report. If the link itself
        failed (dropped, timed out, restarted), open it again once to switch off."""
        try:
            self.output_off()
        except InstrumentError:
            self._set_up = False  # the link failed: the instrument may have restarted
            with contextlib.suppress(Exception):
                self.generator.reconnect(is_33500, "Keysight 33500B/33600A generator")
                self.output_off()
        except Exception:
            pass

    # --- operation ------------------------------------------------------------------
    def _connect(self) -> None:
        g, c = self.generator, self.channel
        self.output_off()
        g.clear_status()
        g.set_load_infinite(c)
        g.set_pulse_function(c)
        g.set_pulse_period(PULSE_PERIOD_S, c)
        g.set_low(0.0, c)
        g.set_triggered_burst(1, c)
        g.check_errors("stimulator set-up")
        self._set_up = True

    def _ensure_set_up(self) -> None:
        """After a lost link, check it is still the same kind of generator (*IDN?) and
        program the set-up again (output off first) before the next pulse."""
        if not self._set_up:
            self.generator.identify(is_33500, "Keysight 33500B/33600A generator")
            self._connect()

    def deliver(self, current_mA: float, pulse_width_ms: float) -> PulseSettings:
        """One pulse: checked, programmed, read back, output on just for it, then off."""
        self.check(current_mA, pulse_width_ms)
        return self._safe(self._deliver, current_mA, pulse_width_ms)

    def _deliver(self, current_mA: float, pulse_width_ms: float) -> PulseSettings:
        self._ensure_set_up()
        g, c = self.generator, self.channel
        volts = current_mA / self.mA_per_volt
        g.set_pulse_width(pulse_width_ms * 1e-3, c)
        g.set_high(volts, c)
        settings = g.pulse_settings(c)
        self._verify(settings, volts, pulse_width_ms * 1e-3)
        self.last_settings = settings
        try:
            g.output(True, c)
            g.trigger()
            self.last_stimulus_at = self.clock.now()
            g.wait_complete()
        finally:
            self.output_off()
        return settings

    def deliver_train(self, current_mA: float, pulse_width_ms: float, rate_hz: float,
                      count: int, wait_done: Callable[[], None]) -> PulseSettings:
        """`count` pulses at `rate_hz` from one trigger (generator burst); the output stays
        on until `wait_done` returns (the scope has every response), then goes off."""
        self.check_train(current_mA, pulse_width_ms, rate_hz, count)
        return self._safe(self._deliver_train, current_mA, pulse_width_ms, rate_hz, count,
                          wait_done)

    def _deliver_train(self, current_mA: float, pulse_width_ms: float, rate_hz: float,
                       count: int, wait_done: Callable[[], None]) -> PulseSettings:
        self._ensure_set_up()
        g, c = self.generator, self.channel
        volts = current_mA / self.mA_per_volt
        try:
            g.set_pulse_width(pulse_width_ms * 1e-3, c)
            g.set_pulse_period(1.0 / rate_hz, c)
            g.set_burst_cycles(count, c)
            g.set_high(volts, c)
            settings = g.pulse_settings(c)
            self._verify(settings, volts, pulse_width_ms * 1e-3, cycles=count)
            self.last_settings = settings
            try:
                g.output(True, c)
                g.trigger()
                started = self.clock.now()
                wait_done()
                # The last pulse left (count − 1) periods after the first, on this clock.
                self.last_stimulus_at = max(self.clock.now(), started + (count - 1) / rate_hz)
            finally:
                self.output_off()
        finally:
            g.set_burst_cycles(1, c)
            g.set_pulse_period(PULSE_PERIOD_S, c)
        return settings

    def _verify(self, s: PulseSettings, volts: float, width_s: float, cycles: int = 1) -> None:
        problems = []
        if s.function != "PULS":
            problems.append(f"function {s.function}")
        if not math.isinf(s.load_ohm):
            problems.append(f"load {s.load_ohm:g} Ω instead of INF (output would double)")
        if not math.isclose(s.high_v, volts, rel_tol=READBACK_REL_TOL, abs_tol=1e-6):
            problems.append(f"high level {s.high_v:g} V instead of {volts:g} V")
        if abs(s.low_v) > 1e-6:
            problems.append(f"low level {s.low_v:g} V instead of 0 V")
        if not math.isclose(s.width_s, width_s, rel_tol=READBACK_REL_TOL, abs_tol=1e-9):
            problems.append(f"pulse width {s.width_s:g} s instead of {width_s:g} s")
        if not s.burst or s.burst_cycles != cycles or s.trigger_source != "BUS":
            problems.append(f"not a bus-triggered burst of {cycles}")
        if problems:
            errors = self.generator.errors()
            raise InstrumentProtocolError(
                self.role, self.generator.resource,
                "read-back before enabling output: " + "; ".join(problems + errors),
            )

    def close(self) -> None:
        self.force_off()
