"""VISA transport: the only module that imports PyVISA.

One `Transport` per instrument connection. It opens `@py` sessions with LF
termination (the defaults make *IDN? and binary reads time out), turns Nagle off
on raw sockets (pyvisa-py 0.8.1 rejects VI_ATTR_TCPIP_NODELAY, so the option is set
on the session's socket), reads definite-length blocks byte-exactly, and converts
every PyVISA or socket failure into an `InstrumentError` naming role and resource.

After a timeout or a broken block the session may still hold a late or partial reply
that the next query would read as its own answer, so the session is reopened before
it is used again (`reopen`, also how a dropped connection is re-established).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from typing import Any

from instruments.errors import (
    InstrumentConnectionError,
    InstrumentError,
    InstrumentProtocolError,
    InstrumentTimeout,
)

BLOCK_CHUNK = 4096  # pyvisa-py reads sockets 4096 bytes at a time anyway
_rm_lock = threading.Lock()
_resource_manager: Any = None


def _manager() -> Any:
    global _resource_manager
    with _rm_lock:
        if _resource_manager is None:
            import pyvisa

            _resource_manager = pyvisa.ResourceManager("@py")
        return _resource_manager


class Transport:
    """A message-based connection: `write`, `query`, `read_block`, `close`."""

    def __init__(
        self,
        resource: str,
        role: str,
        *,
        timeout_ms: int = 2000,
        open_timeout_ms: int = 2000,
        block_terminator: bool = True,
    ) -> None:
        self.resource = resource
        self.role = role
        self.timeout_ms = timeout_ms
        self.block_terminator = block_terminator
        self.open_timeout_ms = open_timeout_ms
        self._lock = threading.RLock()  # reopen() closes inside the lock
        self._inst: Any = None
        self._suspect = False  # a reply may be pending or half-read: reopen before reuse
        # Sessions opened so far: a driver that cached instrument settings re-sends them
        # when this changes, because the instrument may have restarted in between.
        self.sessions = 0
        self._open()

    def _open(self) -> None:
        try:
            inst = _manager().open_resource(
                self.resource,
                open_timeout=self.open_timeout_ms,
                read_termination="\n",
                write_termination="\n",
                timeout=self.timeout_ms,
            )
        except Exception as exc:
            raise InstrumentConnectionError(
                self.role, self.resource, f"cannot open: {_describe(exc)}") from exc
        self._inst = inst
        self._suspect = False
        self.sessions += 1
        try:
            self._prepare_socket()
        except BaseException:
            self.close()
            raise

    @property
    def next_session(self) -> int:
        """The session the next message will go out on: a suspect one is reopened first."""
        with self._lock:
            return self.sessions + (1 if self._suspect else 0)

    def set_timeout(self, timeout_ms: int) -> None:
        """Change the I/O timeout of this session (and of any reopened one)."""
        with self._lock:
            self.timeout_ms = timeout_ms
            if self._inst is not None:
                self._inst.timeout = timeout_ms

    def reopen(self) -> None:
        """Close and open the session again (after a dropped connection or a timeout)."""
        with self._lock:
            inst, self._inst = self._inst, None
            if inst is not None:
                with contextlib.suppress(Exception):
                    inst.close()
            self._open()

    def _prepare_socket(self) -> None:
        """Check the raw socket really connected, then turn Nagle off.

        pyvisa-py 0.8.1 reports success for a refused non-blocking connect (the socket
        selects as writable with an error pending), so the error is read here.
        """
        if not self.resource.upper().endswith("::SOCKET"):
            return
        session = _manager().visalib.sessions.get(self._inst.session)
        sock = getattr(session, "interface", None)
        if not isinstance(sock, socket.socket):
            return
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise InstrumentConnectionError(
                self.role, self.resource, f"cannot open: {os.strerror(error)}"
            )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _socket(self) -> socket.socket | None:
        """The TCP socket replies arrive on: the raw socket, or HiSLIP's synchronous channel."""
        if self._inst is None:
            return None
        session = _manager().visalib.sessions.get(self._inst.session)
        sock = getattr(session, "interface", None)
        sock = getattr(sock, "_sync", sock)  # pyvisa-py's HiSLIP client keeps it as _sync
        return sock if isinstance(sock, socket.socket) else None

    def _peer_closed(self) -> bool:
        """pyvisa-py reports a connection the instrument closed as a timeout: look."""
        sock = self._socket()
        if sock is None:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, TimeoutError):  # HiSLIP's socket has a timeout: nothing came
            return False
        except OSError:
            return True

    def _fail(self, what: str, exc: Exception) -> InstrumentError:
        self._suspect = True
        if isinstance(exc, InstrumentError):
            return exc
        text = _describe(exc)
        timed_out = "TMO" in text or "Timeout" in text or isinstance(exc, TimeoutError)
        if timed_out and self._peer_closed():
            return InstrumentConnectionError(
                self.role, self.resource, f"{what}: connection closed by the instrument")
        if timed_out:
            return InstrumentTimeout(
                self.role, self.resource, f"no reply to {what} within {self.timeout_ms} ms"
            )
        if (isinstance(exc, OSError | ConnectionError) or "CONN" in text or "closed" in text
                or "dropped" in text):  # pyvisa-py HiSLIP: "Connection was dropped by server."
            return InstrumentConnectionError(self.role, self.resource, f"{what}: {text}")
        return InstrumentProtocolError(self.role, self.resource, f"{what}: {text}")

    def _require_open(self, what: str) -> Any:
        if self._inst is None:
            raise InstrumentConnectionError(self.role, self.resource, f"{what}: session closed")
        if self._suspect:
            inst, self._inst = self._inst, None
            with contextlib.suppress(Exception):
                inst.close()
            self._open()
        return self._inst

    def write(self, message: str) -> None:
        with self._lock:
            inst = self._require_open(message)
            try:
                inst.write(message)
            except Exception as exc:
                raise self._fail(message, exc) from exc

    def query(self, message: str) -> str:
        with self._lock:
            inst = self._require_open(message)
            try:
                inst.write(message)
                return str(inst.read()).strip()
            except Exception as exc:
                raise self._fail(message, exc) from exc

    def read_block(self, message: str) -> bytes:
        """Send `message` and return the payload of its ``#<n><len><bytes>`` reply."""
        with self._lock:
            inst = self._require_open(message)
            try:
                inst.write(message)
                head = bytes(inst.read_bytes(2, break_on_termchar=False))
                if head[:1] != b"#" or not head[1:2].isdigit() or head[1:2] == b"0":
                    raise InstrumentProtocolError(
                        self.role, self.resource,
                        f"{message}: expected a definite-length block, got {head!r}",
                    )
                digits = int(head[1:2])
                length = int(bytes(inst.read_bytes(digits, break_on_termchar=False)))
                payload = self._payload(inst, message, length)
                if self.block_terminator:
                    tail = bytes(inst.read_bytes(1, break_on_termchar=False))
                    if tail != b"\n":
                        raise InstrumentProtocolError(
                            self.role, self.resource,
                            f"{message}: block not followed by LF (got {tail!r})",
                        )
                return payload
            except ValueError as exc:
                self._suspect = True
                raise InstrumentProtocolError(
                    self.role, self.resource, f"{message}: bad block header ({exc})"
                ) from exc
            except Exception as exc:
                raise self._fail(message, exc) from exc

    def _payload(self, inst: Any, message: str, length: int) -> bytes:
        """Read `length` bytes in chunks, so a block that stops short says how short."""
        parts: list[bytes] = []
        got = 0
        while got < length:
            try:
                chunk = bytes(inst.read_bytes(min(length - got, BLOCK_CHUNK),
                                              break_on_termchar=False))
            except Exception as exc:
                failure = self._fail(message, exc)
                if isinstance(failure, InstrumentConnectionError):
                    raise InstrumentConnectionError(
                        self.role, self.resource,
                        f"{message}: connection closed after {got} of {length} block bytes",
                    ) from exc
                if not isinstance(failure, InstrumentTimeout):  # header came, payload stopped
                    raise
                raise InstrumentProtocolError(
                    self.role, self.resource,
                    f"{message}: truncated block, {got} of {length} bytes before the timeout",
                ) from exc
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def close(self) -> None:
        with self._lock:
            inst, self._inst = self._inst, None
        if inst is not None:
            with contextlib.suppress(Exception):
                inst.close()


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
