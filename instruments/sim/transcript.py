"""Transcript testing for drivers, after PyMeasure's `expected_protocol`.

A transcript is the exact list of (sent, reply) messages for an operation, written
from the manufacturer's programming manual. `TranscriptServer` plays the instrument
from it on a real loopback socket and fails on any unexpected or left-over
message; `replay_on_sim` sends the same messages to the simulator and checks its
replies, so the simulator and the drivers are each held to the manual, not only to
each other.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from instruments.sim.bench import SimBench


@dataclass(frozen=True)
class Step:
    """One exchange: the exact message the driver sends and the instrument's reply.

    `reply` None = no reply. `sim_reply` is a regex the simulator's reply must match
    where it legitimately differs (e.g. measured waveform data); default: exact.
    `sim_action` runs against the sim before the message (e.g. a stimulus arrives).
    `cite` names where the manual documents the message: "<manual key>: <section, page>".
    """

    sent: str
    reply: str | bytes | None = None
    sim_reply: str | None = None
    sim_action: Callable[[SimBench], None] | None = None
    cite: str = ""


class TranscriptServer:
    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self.position = 0
        self.failure: str | None = None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.resource = f"TCPIP0::127.0.0.1::{self._listener.getsockname()[1]}::SOCKET"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    line = raw.decode("latin-1")
                    if self.position >= len(self.steps):
                        self.failure = f"unexpected extra message {line!r}"
                        return
                    step = self.steps[self.position]
                    if line != step.sent:
                        self.failure = (f"message {self.position}: expected {step.sent!r}, "
                                        f"got {line!r}")
                        return
                    self.position += 1
                    if step.reply is not None:
                        data = step.reply if isinstance(step.reply, bytes) else step.reply.encode()
                        conn.sendall(data + b"\n")

    def verify(self) -> None:
        assert self.failure is None, self.failure
        left = [s.sent for s in self.steps[self.position:]]
        assert not left, f"messages never sent: {left}"

    def close(self) -> None:
        self._listener.close()


def replay_on_sim(sim: SimBench, role: str, steps: list[Step]) -> None:
    """Send the transcript's messages to the simulator and check its replies."""
    host, port = "127.0.0.1", int(sim.resources[role].split("::")[2])
    with socket.create_connection((host, port), timeout=3) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = sock.makefile("rb")
        for i, step in enumerate(steps):
            if step.sim_action is not None:
                step.sim_action(sim)
            sock.sendall(step.sent.encode() + b"\n")
            if step.reply is None:
                continue
            got = _read_reply(stream)
            want = step.reply if isinstance(step.reply, bytes) else step.reply.encode()
            if step.sim_reply is not None:
                assert re.fullmatch(step.sim_reply.encode(), got, re.DOTALL), (
                    f"step {i} {step.sent!r}: sim replied {got[:80]!r}"
                )
            else:
                assert got == want, f"step {i} {step.sent!r}: sim replied {got!r}, manual {want!r}"
        # Nothing stray queued: the next reply must be the answer to *OPC?.
        sock.sendall(b"*OPC?\n")
        assert _read_reply(stream) == b"1"


def _read_reply(stream: BinaryIO) -> bytes:
    first = stream.read(1)
    if first == b"#":
        digits = int(stream.read(1))
        length_text = stream.read(digits)
        payload = stream.read(int(length_text))
        assert stream.read(1) == b"\n"
        return b"#" + str(digits).encode() + length_text + payload
    return (first + stream.readline()).rstrip(b"\n")
