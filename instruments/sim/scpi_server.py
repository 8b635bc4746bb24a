"""Loopback TCP server for one simulated instrument (raw SCPI socket, like port 5025).

Newline-terminated program messages in, newline-terminated replies out, with
TCP_NODELAY so small write-then-query exchanges are not held back by Nagle.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

from instruments.sim.faults import GARBAGE, WRONG_IDN
from instruments.sim.scpi_instrument import ScpiInstrument


@dataclass(frozen=True)
class Outcome:
    """What to send for one program message, whatever the wire protocol.

    `action`: "reply" (send `reply`, if any, as a complete response), "truncate" (send
    the partial `reply` and keep the connection), "drop" (send the partial `reply`, then
    close the connection), "restart" (the instrument power-cycled: close every connection).
    """

    reply: bytes | None
    action: str = "reply"


def respond(inst: ScpiInstrument, line: str) -> Outcome:
    """Execute `line` on `inst`, applying any injected fault (SOCKET and HiSLIP share this)."""
    fault = inst.faults.take(line, "before")
    if fault is not None and fault.kind == "error":
        with inst.lock:
            inst.received.append(line)
            inst.push_error(int(fault.value or -200), "injected fault")
        return Outcome(None)
    if fault is not None:  # restart
        inst.power_cycle()
        return Outcome(None, "restart")
    reply = inst.handle_message(line)
    if reply is None:
        return Outcome(None)
    fault = inst.faults.take(line, "reply", reply)
    kind = fault.kind if fault else ""
    if kind == "timeout":
        return Outcome(None)
    if kind == "slow":
        assert fault is not None
        time.sleep(fault.value / 1000.0)
    elif kind == "garbage":
        reply = GARBAGE
    elif kind == "idn":
        reply = WRONG_IDN
    elif kind in ("drop", "truncate"):
        return Outcome(reply[: max(len(reply) // 2, 12)], kind)
    return Outcome(reply)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(sock, add=True)
        buffer = b""
        try:
            while True:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    line = raw.decode("latin-1").rstrip("\r")
                    if not self._serve(sock, line):
                        return
        finally:
            self.server.track(sock, add=False)

    def _serve(self, sock: socket.socket, line: str) -> bool:
        """Execute one message and send its reply, applying any injected fault.

        False when the connection has been closed.
        """
        outcome = respond(self.server.instrument, line)
        if outcome.action == "restart":
            self.server.drop_clients()
            return False
        if outcome.reply is None:
            return True
        if outcome.action in ("drop", "truncate"):
            sock.sendall(outcome.reply)
            if outcome.action == "drop":
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_WR)  # FIN after the half block, as a cut cable
                self.server.drop_clients()
                return False
            return True
        sock.sendall(outcome.reply + b"\n")
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], instrument: ScpiInstrument) -> None:
        self.instrument = instrument
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, sock: socket.socket, *, add: bool) -> None:
        with self._clients_lock:
            if add:
                self._clients.add(sock)
            else:
                self._clients.discard(sock)

    def drop_clients(self) -> None:
        with self._clients_lock:
            for sock in self._clients:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._clients.clear()


class LoopbackService:
    """A socketserver on 127.0.0.1 run by a daemon thread (SOCKET and HiSLIP share it)."""

    def __init__(self, server: Any, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name=name, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.drop_clients()
        self._server.server_close()
        self._thread.join(timeout=2)


class ScpiServer(LoopbackService):
    """Serves `instrument` on 127.0.0.1:`port` (0 = ephemeral) from a daemon thread."""

    def __init__(self, instrument: ScpiInstrument, port: int = 0) -> None:
        super().__init__(_Server(("127.0.0.1", port), instrument), f"scpi-{instrument.role}")

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"
