"""Faults the simulated instruments inject on demand, so error paths can be exercised.

Each instrument carries a `FaultPlan`. A fault fires on the next message that
matches it (a case-insensitive substring of the program message; by default any
message of the kind it affects) and for `count` messages (0 = until cleared):

  slow      the reply is held back `value` ms
  timeout   no reply at all
  drop      the connection closes half-way through a binary block
  truncate  a binary block stops short of its declared length (connection stays up)
  garbage   the reply is replaced by bytes that are not SCPI
  error     the message is not executed; SCPI error `value` (default −200) is queued
  idn       *IDN? names another instrument
  restart   the instrument resets to power-on state and drops its connections

Inject in-process with `SimBench.inject_fault(role, kind, ...)`, or over the subject
link with ``FAULt:INJect "<role>","<kind>"[,<count>[,<value>[,"<match>"]]]``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("slow", "timeout", "drop", "truncate", "garbage", "error", "idn", "restart")
BEFORE = ("error", "restart")  # act instead of executing the message
BLOCK = ("drop", "truncate")  # act on binary-block replies only
WRONG_IDN = b"ACME INSTRUMENTS,XYZ-100,0,1.0"
GARBAGE = bytes(range(0x80, 0x90)) + b"\x00?#@!~"


@dataclass
class Fault:
    kind: str
    count: int = 1  # messages it affects; 0 = until cleared
    value: float = 0.0  # slow: delay in ms; error: SCPI error code
    match: str = ""  # substring of the program message; "" = any message it applies to

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; known: {', '.join(KINDS)}")
        if not self.match and self.kind == "idn":
            self.match = "*IDN?"


class FaultPlan:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: list[tuple[str, str]] = []  # (kind, message) for tests

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, line: str, stage: str, reply: bytes | None = None) -> Fault | None:
        """The fault to apply to `line` at `stage` ("before" or "reply"), consuming one use."""
        with self._lock:
            for fault in self._faults:
                if (fault.kind in BEFORE) != (stage == "before"):
                    continue
                if fault.kind in BLOCK and not (reply or b"").startswith(b"#"):
                    continue
                if fault.match and fault.match.upper() not in line.upper():
                    continue
                if fault.count:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                self.fired.append((fault.kind, line))
                return fault
        return None
