"""The SCPI message processor every simulated instrument shares.

An instrument declares a command table (pattern + set/query handlers) and gets
IEEE 488.2 common commands, `;` chaining with the SCPI current-path rule, the error
queue with its status bits, and the rule that an unknown query gets no reply.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from instruments.sim.faults import FaultPlan
from instruments.sim.scpi_syntax import (
    Node,
    ScpiError,
    compile_pattern,
    integer,
    match_header,
    one,
    split_outside_quotes,
)

Reply = str | bytes
Setter = Callable[[list[str], list[int]], None]
Getter = Callable[[list[str], list[int]], Reply]

ERROR_QUEUE_DEPTH = 20

# ESR bits (IEEE 488.2)
ESR_OPC, ESR_QUERY, ESR_DEVICE, ESR_EXECUTION, ESR_COMMAND, ESR_POWER_ON = 1, 4, 8, 16, 32, 128


@dataclass
class Command:
    pattern: str
    set: Setter | None = None
    query: Getter | None = None
    nodes: tuple[Node, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.nodes = compile_pattern(self.pattern)


class ScpiInstrument:
    """Base class: subclasses set `idn`, implement `commands()` and `reset()`."""

    idn: tuple[str, str, str, str] = ("edxbench", "SIM", "0", "0")
    role = "instrument"

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self.lock = lock or threading.RLock()
        self.errors: deque[tuple[int, str]] = deque()
        self.esr = ESR_POWER_ON
        self.ese = 0
        self.sre = 0
        self.received: list[str] = []
        self.faults = FaultPlan()
        self._table = [*self.commands(), *self._system_commands()]
        self.reset()

    # --- to override --------------------------------------------------------
    def commands(self) -> Sequence[Command]:
        return []

    def reset(self) -> None:
        """*RST: factory settings."""

    def power_cycle(self) -> None:
        """Restart: factory settings, empty error queue, power-on status."""
        with self.lock:
            self.reset()
            self.errors.clear()
            self.esr = ESR_POWER_ON

    def bus_trigger(self) -> None:
        """*TRG."""
        raise ScpiError(-211)

    def self_test(self) -> int:
        return 0

    # --- error queue --------------------------------------------------------
    def push_error(self, code: int, text: str) -> None:
        if code <= -400:
            self.esr |= ESR_QUERY
        elif code <= -300:
            self.esr |= ESR_DEVICE
        elif code <= -200:
            self.esr |= ESR_EXECUTION
        elif code <= -100:
            self.esr |= ESR_COMMAND
        if len(self.errors) >= ERROR_QUEUE_DEPTH:
            self.errors[-1] = (-350, "Queue overflow")
            return
        self.errors.append((code, text))

    def next_error(self) -> str:
        if not self.errors:
            return '+0,"No error"'
        code, text = self.errors.popleft()
        return f'{code:+d},"{text}"'

    def status_byte(self) -> int:
        stb = 0
        if self.errors:
            stb |= 4
        if self.esr & self.ese:
            stb |= 32
        if stb & self.sre:
            stb |= 64
        return stb

    def _system_commands(self) -> list[Command]:
        return [
            Command("SYSTem:ERRor[:NEXT]", query=lambda p, s: self.next_error()),
            Command("SYSTem:VERSion", query=lambda p, s: "1999.0"),
        ]

    # --- messages -----------------------------------------------------------
    def handle_message(self, line: str) -> bytes | None:
        """Execute one program message; the reply bytes (without LF), or None."""
        with self.lock:
            self.received.append(line)
            replies: list[bytes] = []
            path: list[str] = []
            for unit in split_outside_quotes(line, ";"):
                unit = unit.strip()
                if not unit:
                    continue
                try:
                    reply, path = self._execute(unit, path)
                except ScpiError as err:
                    self.push_error(err.code, err.text)
                    continue
                if reply is not None:
                    replies.append(reply.encode() if isinstance(reply, str) else reply)
            return b";".join(replies) if replies else None

    def _execute(self, unit: str, path: list[str]) -> tuple[Reply | None, list[str]]:
        header, _, rest = unit.partition(" ")
        params = split_outside_quotes(rest, ",") if rest.strip() else []
        is_query = header.endswith("?")
        header = header.rstrip("?")
        if header.startswith("*"):
            return self._common(header.upper(), is_query, params), path
        absolute = header.startswith(":")
        tokens = header.lstrip(":").split(":")
        if not all(tokens):
            raise ScpiError(-102, unit)
        candidates = [tokens] if absolute or not path else [[*path, *tokens], tokens]
        for toks in candidates:
            for command in self._table:
                suffixes = match_header(command.nodes, toks)
                if suffixes is None:
                    continue
                handler = command.query if is_query else command.set
                if handler is None:
                    raise ScpiError(-113, header)
                reply = handler(params, suffixes)
                return (reply if is_query else None), toks[:-1]
        raise ScpiError(-113, header)

    def _common(self, header: str, is_query: bool, params: list[str]) -> Reply | None:
        name = header + ("?" if is_query else "")
        if name == "*IDN?":
            return ",".join(self.idn)
        if name == "*RST":
            self.reset()
        elif name == "*CLS":
            self.errors.clear()
            self.esr = 0
        elif name == "*ESR?":
            value, self.esr = self.esr, 0
            return f"{value:+d}"
        elif name == "*ESE":
            self.ese = integer(one(params), minimum=0, maximum=255)
        elif name == "*ESE?":
            return f"{self.ese:+d}"
        elif name == "*SRE":
            self.sre = integer(one(params), minimum=0, maximum=255)
        elif name == "*SRE?":
            return f"{self.sre:+d}"
        elif name == "*STB?":
            return f"{self.status_byte():+d}"
        elif name == "*OPC":
            self.esr |= ESR_OPC
        elif name == "*OPC?":
            return "1"
        elif name == "*WAI":
            pass
        elif name == "*TRG":
            self.bus_trigger()
        elif name == "*TST?":
            return f"{self.self_test():+d}"
        else:
            raise ScpiError(-113, name)
        return None
