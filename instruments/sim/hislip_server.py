"""Minimal HiSLIP server (IVI-6.1) for one simulated instrument on loopback.

HiSLIP runs two TCP connections to one port: the synchronous channel carries program
messages (Data/DataEnd, each with a message id the reply must echo) and the
asynchronous channel carries control (lock, remote/local, status byte, device clear,
maximum message size). Every message starts with a 16-byte header:
``"HS"``, message type, control code, 32-bit message parameter, 64-bit payload length
(network byte order).

Implemented as far as a VISA client needs for the bench (checked against pyvisa-py's
client in ``pyvisa_py/protocols/hislip.py``): Initialize / AsyncInitialize (session id,
protocol version 1.0, no overlap), Data / DataEnd in both directions (replies split to the
client's maximum message size), Trigger (= *TRG), AsyncMaxMsgSize, AsyncLock (request and
release, exclusive lock always granted — one client at a time on the sim), AsyncLockInfo,
AsyncRemoteLocalControl, AsyncStatusQuery (the IEEE 488.2 status byte), AsyncDeviceClear
with DeviceClearComplete/DeviceClearAcknowledge. Anything else gets an Error message
("Unrecognized Message Type"). Injected faults (faults.py) behave as on the SOCKET
server: a partial block is sent as a Data message without its DataEnd.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import socketserver
import struct
import threading
from dataclasses import dataclass, field

from instruments.sim.scpi_instrument import ScpiInstrument
from instruments.sim.scpi_server import LoopbackService, respond

HEADER = struct.Struct("!2sBBIQ")
PROLOGUE = b"HS"
VERSION = 0x0100  # protocol 1.0 (major.minor bytes)
VENDOR = b"ED"
SERVER_MAX_MESSAGE = 1 << 24  # bytes per HiSLIP message the server accepts
DEFAULT_CLIENT_MAX = 1 << 20  # VISA default until AsyncMaxMsgSize says otherwise
UNTAGGED = 0xFFFF_FFFF  # message id for replies not tied to a request

TYPES = {
    "Initialize": 0, "InitializeResponse": 1, "FatalError": 2, "Error": 3,
    "AsyncLock": 4, "AsyncLockResponse": 5, "Data": 6, "DataEnd": 7,
    "DeviceClearComplete": 8, "DeviceClearAcknowledge": 9,
    "AsyncRemoteLocalControl": 10, "AsyncRemoteLocalResponse": 11, "Trigger": 12,
    "AsyncMaxMsgSize": 15, "AsyncMaxMsgSizeResponse": 16, "AsyncInitialize": 17,
    "AsyncInitializeResponse": 18, "AsyncDeviceClear": 19, "AsyncStatusQuery": 21,
    "AsyncStatusResponse": 22, "AsyncDeviceClearAcknowledge": 23, "AsyncLockInfo": 24,
    "AsyncLockInfoResponse": 25,
}
NAMES = {number: name for name, number in TYPES.items()}
ERROR_UNRECOGNIZED_TYPE = 1
FATAL_BAD_HEADER = 1
FATAL_BAD_INIT = 3


class ChannelClosed(Exception):
    """The peer closed the connection (or sent something unparseable)."""


@dataclass
class Message:
    kind: str
    control: int
    parameter: int
    payload: bytes


@dataclass
class Session:
    """One client: its two channels, its maximum message size and its lock."""

    session_id: int
    sync: socket.socket
    asyn: socket.socket | None = None
    client_max: int = DEFAULT_CLIENT_MAX
    locked: bool = False
    send_lock: threading.Lock = field(default_factory=threading.Lock)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        try:
            chunk = sock.recv(min(size - got, 1 << 20))
        except OSError:
            raise ChannelClosed from None
        if not chunk:
            raise ChannelClosed
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_message(sock: socket.socket) -> Message:
    prologue, kind, control, parameter, length = HEADER.unpack(_recv_exact(sock, HEADER.size))
    if prologue != PROLOGUE:
        raise ChannelClosed
    if length > SERVER_MAX_MESSAGE:
        raise ChannelClosed
    payload = _recv_exact(sock, length) if length else b""
    return Message(NAMES.get(kind, f"type {kind}"), control, parameter, payload)


def send_message(sock: socket.socket, kind: str, control: int = 0, parameter: int = 0,
                 payload: bytes = b"") -> None:
    sock.sendall(HEADER.pack(PROLOGUE, TYPES[kind], control, parameter, len(payload)) + payload)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(sock, add=True)
        try:
            first = read_message(sock)
            if first.kind == "Initialize":
                self._sync_channel(sock, first)
            elif first.kind == "AsyncInitialize":
                self._async_channel(sock, first)
            else:
                send_message(sock, "FatalError", FATAL_BAD_INIT, 0, b"Initialize expected")
        except ChannelClosed:
            pass
        finally:
            self.server.track(sock, add=False)

    # --- synchronous channel ----------------------------------------------------
    def _sync_channel(self, sock: socket.socket, init: Message) -> None:
        session = self.server.new_session(sock)
        send_message(sock, "InitializeResponse", 0, (VERSION << 16) | session.session_id)
        pending = b""
        try:
            while True:
                msg = read_message(sock)
                if msg.kind == "Data":
                    pending += msg.payload
                elif msg.kind == "DataEnd":
                    text, pending = pending + msg.payload, b""
                    if not self._execute(session, text, msg.parameter):
                        return
                elif msg.kind == "Trigger":
                    if not self._execute(session, b"*TRG", msg.parameter):
                        return
                elif msg.kind == "DeviceClearComplete":
                    pending = b""
                    send_message(sock, "DeviceClearAcknowledge", msg.control & 1)
                else:
                    send_message(sock, "Error", ERROR_UNRECOGNIZED_TYPE, 0,
                                 f"unsupported message {msg.kind}".encode())
        finally:
            self.server.end_session(session)

    def _execute(self, session: Session, text: bytes, message_id: int) -> bool:
        """Run each LF-separated program message; False once the connection is gone."""
        inst = self.server.instrument
        for raw in text.split(b"\n"):
            line = raw.decode("latin-1").rstrip("\r")
            if not line.strip():
                continue
            outcome = respond(inst, line)
            if outcome.action == "restart":
                self.server.drop_clients()
                return False
            if outcome.reply is None:
                continue
            if outcome.action in ("drop", "truncate"):
                # part of the block, without the DataEnd that would complete it
                send_message(session.sync, "Data", 0, message_id, outcome.reply)
                if outcome.action == "drop":
                    self.server.drop_clients()
                    return False
                continue
            self._send_reply(session, outcome.reply + b"\n", message_id)
        return True

    @staticmethod
    def _send_reply(session: Session, reply: bytes, message_id: int) -> None:
        room = max(session.client_max - HEADER.size, 1)
        chunks = [reply[i:i + room] for i in range(0, len(reply), room)] or [b""]
        with session.send_lock:
            for chunk in chunks[:-1]:
                send_message(session.sync, "Data", 0, message_id, chunk)
            send_message(session.sync, "DataEnd", 0, message_id, chunks[-1])

    # --- asynchronous channel ---------------------------------------------------
    def _async_channel(self, sock: socket.socket, init: Message) -> None:
        session = self.server.attach_async(init.parameter & 0xFFFF, sock)
        if session is None:
            send_message(sock, "FatalError", FATAL_BAD_INIT, 0, b"unknown session id")
            return
        send_message(sock, "AsyncInitializeResponse", 0,
                     int.from_bytes(VENDOR.ljust(4, b"\0"), "big"))
        inst = self.server.instrument
        while True:
            msg = read_message(sock)
            if msg.kind == "AsyncMaxMsgSize":
                (wanted,) = struct.unpack("!Q", msg.payload[:8].rjust(8, b"\0"))
                session.client_max = max(min(wanted, SERVER_MAX_MESSAGE), HEADER.size + 1)
                send_message(sock, "AsyncMaxMsgSizeResponse", 0, 0,
                             struct.pack("!Q", SERVER_MAX_MESSAGE))
            elif msg.kind == "AsyncLock":
                request = msg.control == 1
                done = self.server.lock(session, request=request)
                # request: 1 success, 0 failure; release: 1 success, 3 error (none held)
                send_message(sock, "AsyncLockResponse", 1 if done else (0 if request else 3))
            elif msg.kind == "AsyncLockInfo":
                holders = self.server.lock_holders()
                send_message(sock, "AsyncLockInfoResponse", 1 if holders else 0, holders)
            elif msg.kind == "AsyncRemoteLocalControl":
                send_message(sock, "AsyncRemoteLocalResponse")
            elif msg.kind == "AsyncStatusQuery":
                with inst.lock:
                    stb = inst.status_byte()
                send_message(sock, "AsyncStatusResponse", stb & 0xFF)
            elif msg.kind == "AsyncDeviceClear":
                # Replies are sent whole as each message is executed, so there is no input
                # or output buffer to discard; status and the error queue survive a device
                # clear (IEEE 488.2 clears only the message exchange).
                send_message(sock, "AsyncDeviceClearAcknowledge", 0)  # no overlap mode
            else:
                send_message(sock, "Error", ERROR_UNRECOGNIZED_TYPE, 0,
                             f"unsupported message {msg.kind}".encode())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], instrument: ScpiInstrument) -> None:
        self.instrument = instrument
        self._guard = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._sessions: dict[int, Session] = {}
        self._ids = itertools.count(1)
        super().__init__(address, _Handler)

    def track(self, sock: socket.socket, *, add: bool) -> None:
        with self._guard:
            (self._sockets.add if add else self._sockets.discard)(sock)

    def new_session(self, sync: socket.socket) -> Session:
        with self._guard:
            session = Session(next(self._ids) & 0xFFFF or 1, sync)
            self._sessions[session.session_id] = session
            return session

    def attach_async(self, session_id: int, sock: socket.socket) -> Session | None:
        with self._guard:
            session = self._sessions.get(session_id)
            if session is not None:
                session.asyn = sock
            return session

    def end_session(self, session: Session) -> None:
        with self._guard:
            self._sessions.pop(session.session_id, None)
        if session.asyn is not None:
            with contextlib.suppress(OSError):
                session.asyn.shutdown(socket.SHUT_RDWR)

    def lock(self, session: Session, *, request: bool) -> bool:
        with self._guard:
            if not request:
                was, session.locked = session.locked, False
                return was
            if any(s.locked for s in self._sessions.values() if s is not session):
                return False
            session.locked = True
            return True

    def lock_holders(self) -> int:
        with self._guard:
            return sum(s.locked for s in self._sessions.values())

    def drop_clients(self) -> None:
        with self._guard:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._sockets.clear()


class HislipServer(LoopbackService):
    """Serves `instrument` over HiSLIP on 127.0.0.1:`port` (0 = ephemeral)."""

    def __init__(self, instrument: ScpiInstrument, port: int = 0) -> None:
        super().__init__(_Server(("127.0.0.1", port), instrument), f"hislip-{instrument.role}")

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::hislip0,{self.port}::INSTR"
