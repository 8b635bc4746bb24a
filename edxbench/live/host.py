"""The engine host: one process per run that owns the bench, the database and the run.

Started by the terminal app in a session of its own (`start_new_session=True`), so closing
the terminal or losing SSH does not reach it; it ignores SIGHUP and aborts on SIGTERM.
It listens on a Unix socket in the per-user runtime directory and speaks JSON lines
(`edxbench.live.wire`). It keeps every event of the run so that a client attaching later
rebuilds the screen. One client holds control (answers prompts; pause, repeat, skip, stop,
abort); others watch. When the controlling client goes away the run simply waits at its
current prompt until a client takes control. After the run ends the host leaves as soon
as its last client has gone.

    python -m edxbench.live.host --db PATH (--protocol FILE --subject ID | --resume RUN)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import signal
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edxbench.live.paths import socket_path
from edxbench.live.wire import MAX_LINE, WireError, decode, encode
from engine import events as ev
from engine.prompts import AnswerError, ChannelPrompter, Prompt
from engine.runner import PromptInterrupted

WATCHING = "watching — control held by another terminal"


class HostPrompter(ChannelPrompter):
    """A channel prompter whose waiting prompt can give way to pause, repeat or skip."""

    def __init__(self) -> None:
        super().__init__(source="tui")
        self._interrupt = False

    def ask(self, prompt: Prompt, announce: Callable[[], None] = lambda: None) -> Any:
        value = super().ask(prompt, announce)
        with self._lock:
            if self._interrupt:
                self._interrupt = False
                raise PromptInterrupted(prompt.id)
        return value

    def interrupt(self) -> None:
        with self._lock:
            if self._pending is None:
                return  # nothing waits: the engine's next checkpoint takes the request
            self._interrupt = True
            self._ready.set()


class Client:
    """One connected terminal: its own writer thread, so a stalled link never stalls the
    engine."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.role = "watch"
        self.outbox: queue.Queue[bytes | None] = queue.Queue()
        self.alive = True
        threading.Thread(target=self._write, daemon=True, name="client-writer").start()

    def send(self, line: bytes) -> None:
        if self.alive:
            self.outbox.put(line)

    def _write(self) -> None:
        while (line := self.outbox.get()) is not None:
            try:
                self.conn.sendall(line)
            except OSError:
                break
        self.alive = False
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.alive = False
        self.outbox.put(None)


class Host:
    """The run's event history, its clients and who holds control."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.prompter = HostPrompter()
        self.session: Any = None
        self.history: list[tuple[ev.Event, bytes]] = []
        self.clients: list[Client] = []
        self.controller: Client | None = None
        self.finished = threading.Event()
        self.lock = threading.Lock()
        self.gone = threading.Condition(self.lock)
        self.listener: socket.socket | None = None
        self.path: Path | None = None

    # ---- the engine's side --------------------------------------------------------------
    def publish(self, event: ev.Event) -> None:
        """Engine subscriber: remember the event and pass it to every client."""
        line = encode({"type": "event", "event": event})
        with self.lock:
            self.history.append((event, line))
            for client in self.clients:
                client.send(line)

    def info(self) -> dict[str, Any]:
        """What the start screen lists for a live run."""
        started = next((e for e, _ in self.history if isinstance(e, ev.RunStarted)), None)
        step = next((e.title for e, _ in reversed(self.history)
                     if isinstance(e, ev.StepStarted)), "")
        pending = self.prompter.pending
        return {
            "run_id": self.session.run.run_id, "pid": os.getpid(), "socket": str(self.path),
            "db": str(self.db_path), "state": "finished" if self.finished.is_set() else "running",
            "protocol_id": started.protocol_id if started else "",
            "protocol_title": started.protocol_title if started else "",
            "subject_id": started.subject_id if started else "",
            "step": step, "waiting": pending.text if pending else "",
            "controlled": self.controller is not None, "clients": len(self.clients),
        }

    # ---- clients ------------------------------------------------------------------------
    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the host is leaving
            threading.Thread(target=self._talk, args=(conn,), daemon=True,
                             name="client-reader").start()

    def _talk(self, conn: socket.socket) -> None:
        client = Client(conn)
        if _peer_uid(conn) != os.getuid():  # the 0700 directory should make this impossible
            client.close()
            return
        try:
            with conn.makefile("rb") as stream:
                first = self._read(stream, client)
                if first is None:
                    return
                if first.get("op") == "info":
                    with self.lock:
                        client.send(encode({"type": "info", "info": self.info()}))
                    return
                if first.get("op") != "hello":
                    client.send(encode({"type": "error", "message": "expected hello"}))
                    return
                self._welcome(client, first.get("mode") == "control")
                while (message := self._read(stream, client)) is not None:
                    self._handle(client, message)
        except OSError:
            pass
        finally:
            self._leave(client)

    def _read(self, stream: Any, client: Client) -> dict[str, Any] | None:
        while True:
            line = stream.readline(MAX_LINE + 1)
            if not line or len(line) > MAX_LINE:
                return None
            try:
                return decode(line)
            except WireError as exc:
                client.send(encode({"type": "error", "message": str(exc)}))

    def _welcome(self, client: Client, wants_control: bool) -> None:
        """Replay the run so far, atomically with joining the live stream."""
        with self.lock:
            if wants_control and self.controller is None:
                self.controller = client
                client.role = "control"
            client.send(encode({"type": "welcome", "role": client.role,
                                "held": self.controller is not None, "info": self.info()}))
            pending = self.prompter.pending
            last_prompt = max((i for i, (e, _) in enumerate(self.history)
                               if isinstance(e, ev.PromptRequested)), default=-1)
            for i, (event, line) in enumerate(self.history):
                # answered prompts are history, not questions: only the waiting one is shown
                if isinstance(event, ev.PromptRequested) and not (
                        i == last_prompt and pending is not None
                        and pending.id == event.prompt.id):
                    continue
                client.send(line)
            client.send(encode({"type": "replayed"}))
            if self.finished.is_set():
                client.send(encode({"type": "end"}))
            self.clients.append(client)

    def _handle(self, client: Client, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "take_control":
            with self.lock:
                if self.controller in (None, client):
                    self.controller = client
                    client.role = "control"
                self._announce_roles()
            return
        if op == "release":
            with self.lock:
                if self.controller is client:
                    self.controller, client.role = None, "watch"
                self._announce_roles()
            return
        if op not in ("answer", "control"):
            client.send(encode({"type": "error", "message": f"unknown op {op!r}"}))
            return
        if self.controller is not client:
            client.send(encode({"type": "refused", "message": WATCHING}))
            return
        if op == "answer":
            prompt_id = str(message.get("prompt_id"))
            try:
                value = self.prompter.answer(prompt_id, message.get("value"))
            except AnswerError as exc:
                client.send(encode({"type": "answer_error", "prompt_id": prompt_id,
                                    "message": str(exc)}))
                return
            client.send(encode({"type": "answered", "prompt_id": prompt_id, "value": value}))
            return
        self._control(client, str(message.get("action")), str(message.get("reason") or ""))

    def _control(self, client: Client, action: str, reason: str) -> None:
        run = self.session.run
        try:
            if action == "skip":
                run.request_skip(reason)
            elif action in ("pause", "repeat", "stop", "abort"):
                getattr(run, f"request_{action}")()
            else:
                raise ValueError(f"unknown action {action!r}")
        except ValueError as exc:
            client.send(encode({"type": "refused", "message": str(exc)}))

    def _announce_roles(self) -> None:
        held = self.controller is not None
        for c in self.clients:
            c.send(encode({"type": "role", "role": c.role, "held": held}))

    def _leave(self, client: Client) -> None:
        """A client went away: the run keeps waiting; nobody holds control until taken."""
        client.close()
        with self.lock:
            if client in self.clients:
                self.clients.remove(client)
            if self.controller is client:
                self.controller = None
                self._announce_roles()
            self.gone.notify_all()

    # ---- the end --------------------------------------------------------------------------
    def finish(self, status: str, reason: str) -> None:
        """Tell the clients the run is over and wait until the last has left."""
        with self.lock:
            self.finished.set()
            for client in self.clients:
                client.send(encode({"type": "end", "status": status, "reason": reason}))
            while self.clients:
                self.gone.wait()


def _peer_uid(conn: socket.socket) -> int:
    """The connecting process's user, from the kernel (SO_PEERCRED: pid, uid, gid)."""
    try:
        raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return -1
    return struct.unpack("3i", raw)[1]


def _abort_on(host: Host) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        if host.session is not None:
            host.session.run.request_abort()
    return handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edxbench.live.host")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--protocol", type=Path)
    parser.add_argument("--subject")
    parser.add_argument("--resume", metavar="RUN")
    parser.add_argument("--bench", default="sim")
    parser.add_argument("--bench-config", type=Path)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the terminal is not ours to die with
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    host = Host(args.db)
    signal.signal(signal.SIGTERM, _abort_on(host))
    try:
        host.session = _open(args, host)
        host.path = socket_path(host.session.run.run_id)
        listener = _listen(host.path)
    except Exception as exc:
        if host.session is not None:
            host.session.close()
        _ready({"error": _one_line(exc)})
        return 2
    _ready({"socket": str(host.path), "run_id": host.session.run.run_id, "pid": os.getpid()})
    threading.Thread(target=host.serve, args=(listener,), daemon=True, name="accept").start()
    status, reason = "failed", ""
    try:
        result = host.session.run.execute()
        status, reason = result.status, result.reason
    except Exception:
        traceback.print_exc()
    finally:
        host.session.close()
    try:
        host.finish(status, reason)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            host.path.unlink()
    return 0


def _open(args: argparse.Namespace, host: Host) -> Any:
    from edxbench.session import open_resume_session, open_session

    common = {"db_path": args.db, "prompter": host.prompter, "subscribers": [host.publish],
              "fast": args.fast, "bench_config": args.bench_config}
    if args.resume:
        return open_resume_session(args.resume, **common)
    if not (args.protocol and args.subject):
        raise LookupError("the host needs --protocol and --subject, or --resume")
    return open_session(args.protocol, args.subject, profile=args.bench, **common)


def _listen(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket is born 0600: only this user may connect
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    listener.listen(8)
    return listener


def _ready(message: dict[str, Any]) -> None:
    """One JSON line on stdout for the starter; then stdout points nowhere, so writing
    after the starter left can never raise."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _one_line(exc: BaseException) -> str:
    from edxbench.cli import _user_message

    message = _user_message(exc)
    if message is not None:
        return message
    traceback.print_exc()
    return f"internal error: {type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
