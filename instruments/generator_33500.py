"""Keysight (Agilent) 33500B / 33600A series function generator driver.

Commands follow the Keysight 33500B Series Operating and Service Guide, SCPI
programming reference (SOURce:FUNCtion, FUNCtion:PULSe, VOLTage:HIGH/LOW, BURSt,
TRIGger, OUTPut, OUTPut:LOAD). The driver exposes primitives; how they make a
stimulus is the stimulator's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from instruments.errors import InstrumentProtocolError
from instruments.scpi_driver import ScpiDriver, fmt
from instruments.transport import Transport

SUPPORTED_MODELS = frozenset({
    "33509B", "33510B", "33511B", "33512B", "33519B", "33520B", "33521B", "33522B",
    "33611A", "33612A", "33621A", "33622A",
})
MAKERS = ("AGILENT TECHNOLOGIES", "KEYSIGHT TECHNOLOGIES")
INFINITE_LOAD_REPLY = 9.9e37


def is_33500(fields: list[str]) -> bool:
    return fields[0].upper() in MAKERS and fields[1].upper() in SUPPORTED_MODELS


@dataclass(frozen=True)
class PulseSettings:
    """What the generator reports for a channel (read back before output is enabled)."""

    function: str
    width_s: float
    high_v: float
    low_v: float
    load_ohm: float  # inf for INFinity
    burst: bool
    burst_cycles: int
    trigger_source: str

    def as_dict(self) -> dict[str, object]:
        return {
            "function": self.function, "width_s": self.width_s, "high_v": self.high_v,
            "low_v": self.low_v,
            "load_ohm": "INF" if self.load_ohm == float("inf") else self.load_ohm,
            "burst": self.burst, "burst_cycles": self.burst_cycles,
            "trigger_source": self.trigger_source,
        }


class Generator33500(ScpiDriver):
    role = "generator"

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.identify(is_33500, "Keysight 33500B/33600A generator")

    def output(self, on: bool, channel: int = 1) -> None:
        self.t.write(f"OUTP{channel} {'ON' if on else 'OFF'}")

    def output_is_on(self, channel: int = 1) -> bool:
        reply = self.t.query(f"OUTP{channel}?")
        if reply not in ("0", "1"):
            raise InstrumentProtocolError(self.t.role, self.t.resource,
                                          f"OUTP{channel}? answered {reply!r}")
        return reply == "1"

    def clear_status(self) -> None:
        self.t.write("*CLS")

    def set_load_infinite(self, channel: int = 1) -> None:
        """High-Z load setting: the value set is the voltage a high-Z input receives."""
        self.t.write(f"OUTP{channel}:LOAD INF")

    def set_pulse_function(self, channel: int = 1) -> None:
        self.t.write(f"SOUR{channel}:FUNC PULS")

    def set_pulse_period(self, period_s: float, channel: int = 1) -> None:
        self.t.write(f"SOUR{channel}:FUNC:PULS:PER {fmt(period_s)}")

    def set_pulse_width(self, width_s: float, channel: int = 1) -> None:
        self.t.write(f"SOUR{channel}:FUNC:PULS:WIDT {fmt(width_s)}")

    def set_high(self, volts: float, channel: int = 1) -> None:
        self.t.write(f"SOUR{channel}:VOLT:HIGH {fmt(volts)}")

    def set_low(self, volts: float, channel: int = 1) -> None:
        self.t.write(f"SOUR{channel}:VOLT:LOW {fmt(volts)}")

    def set_triggered_burst(self, cycles: int, channel: int = 1) -> None:
        """Burst of `cycles` pulses on each bus trigger (*TRG)."""
        self.t.write(f"SOUR{channel}:BURS:MODE TRIG")
        self.t.write(f"SOUR{channel}:BURS:NCYC {cycles}")
        self.t.write(f"TRIG{channel}:SOUR BUS")
        self.t.write(f"SOUR{channel}:BURS:STAT ON")

    def set_burst_cycles(self, cycles: int, channel: int = 1) -> None:
        self.t.write(f"SOUR{channel}:BURS:NCYC {cycles}")

    def trigger(self) -> None:
        self.t.write("*TRG")

    def wait_complete(self) -> None:
        reply = self.t.query("*OPC?")
        if reply.lstrip("+") != "1":
            raise InstrumentProtocolError(self.t.role, self.t.resource, f"*OPC? answered {reply!r}")

    def pulse_settings(self, channel: int = 1) -> PulseSettings:
        c = channel
        reply = self.t.query(
            f"SOUR{c}:FUNC?;:SOUR{c}:FUNC:PULS:WIDT?;:SOUR{c}:VOLT:HIGH?;:SOUR{c}:VOLT:LOW?;"
            f":OUTP{c}:LOAD?;:SOUR{c}:BURS:STAT?;:SOUR{c}:BURS:NCYC?;:TRIG{c}:SOUR?"
        )
        parts = reply.split(";")
        if len(parts) != 8:
            raise InstrumentProtocolError(
                self.t.role, self.t.resource, f"settings read-back answered {reply!r}"
            )
        try:
            load = float(parts[4])
            return PulseSettings(
                function=parts[0].strip().upper(),
                width_s=float(parts[1]),
                high_v=float(parts[2]),
                low_v=float(parts[3]),
                load_ohm=float("inf") if load >= INFINITE_LOAD_REPLY else load,
                burst=parts[5].strip() == "1",
                burst_cycles=round(float(parts[6])),
                trigger_source=parts[7].strip().upper(),
            )
        except ValueError as exc:
            raise InstrumentProtocolError(
                self.t.role, self.t.resource, f"settings read-back answered {reply!r}"
            ) from exc
