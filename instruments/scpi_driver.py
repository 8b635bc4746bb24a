"""What every SCPI driver shares: identity check and draining the error queue."""

from __future__ import annotations

from collections.abc import Callable

from instruments.errors import InstrumentProtocolError, UnsupportedInstrument
from instruments.transport import Transport


def fmt(value: float) -> str:
    """A number as we send it: shortest form that round-trips to 9 significant digits."""
    return format(value, ".9g")


class ScpiDriver:
    role = "instrument"

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self.idn = ""
        self._settings_session = -1  # transport session the cached settings were sent on

    def settings_current(self) -> bool:
        """Whether settings sent earlier still hold: not after the session was reopened
        (a dropped connection may have been an instrument restart to power-on state)."""
        return self._settings_session == self.t.next_session

    def settings_sent(self) -> None:
        self._settings_session = self.t.sessions

    @property
    def resource(self) -> str:
        return self.t.resource

    def identify(self, supported: Callable[[list[str]], bool], family: str) -> str:
        """Ask *IDN? and refuse models this driver was not written for."""
        idn = self.t.query("*IDN?")
        fields = [f.strip() for f in idn.split(",")]
        if len(fields) != 4 or not supported(fields):
            raise UnsupportedInstrument(
                self.t.role, self.t.resource, f"*IDN? answered {idn!r}, not a {family}"
            )
        self.idn = idn
        return idn

    def reconnect(self, supported: Callable[[list[str]], bool] | None = None,
                  family: str = "") -> None:
        """Open the session again (after a drop or a restart) and re-check *IDN?."""
        self.t.reopen()
        if supported is not None:
            self.identify(supported, family)

    def number(self, message: str) -> float:
        """Query a number; a reply that is not one is a protocol error naming the query."""
        reply = self.t.query(message)
        try:
            return float(reply)
        except ValueError:
            raise InstrumentProtocolError(
                self.t.role, self.t.resource, f"{message} answered {reply!r}") from None

    def errors(self, limit: int = 32) -> list[str]:
        """Drain SYST:ERR? until it answers 0 (the queue is finite; so is this loop)."""
        found = []
        for _ in range(limit):
            reply = self.t.query("SYST:ERR?")
            if _error_code(reply) == 0:
                break
            found.append(reply)
        return found

    def check_errors(self, context: str) -> None:
        found = self.errors()
        if found:
            raise InstrumentProtocolError(
                self.t.role, self.t.resource, f"{context}: instrument reported {'; '.join(found)}"
            )

    def close(self) -> None:
        self.t.close()


def _error_code(reply: str) -> int:
    try:
        return int(reply.split(",", 1)[0])
    except ValueError:
        return -1
