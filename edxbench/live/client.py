"""A terminal's end of a live run: the same shape as an in-process session.

`LiveSession.run` has `execute()` (blocks, handing every event to the subscribers, until
the run ends or the link drops) and the control requests; `LiveSession.prompter` has the
`answer()` and `pending` of a `ChannelPrompter`. So a screen drives a run in another
process exactly as it drives one on its own thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from edxbench.errors import SessionError
from edxbench.live.host import WATCHING
from edxbench.live.paths import SOCKET_SUFFIX, runtime_dir
from edxbench.live.wire import MAX_LINE, WireError, decode, encode
from engine import events as ev
from engine.prompts import AnswerError, Prompt
from engine.runner import RunResult

Subscriber = Callable[[ev.Event], None]


class LiveSession:
    """A connection to an engine host, holding control or watching."""

    def __init__(self, conn: socket.socket, stream: Any, welcome: dict[str, Any],
                 subscribers: Iterable[Subscriber]) -> None:
        self.conn = conn
        self.stream = stream  # the reader the welcome came through (it may hold more)
        self.info: dict[str, Any] = welcome["info"]
        self.run_id: str = self.info["run_id"]
        self.role: str = welcome["role"]
        self.held: bool = welcome["held"]
        self.subscribers = list(subscribers)
        self.pending: Prompt | None = None
        self.ended = False
        self._send_lock = threading.Lock()
        self.run = RemoteRun(self)
        self.prompter = RemotePrompter(self)

    @property
    def watching(self) -> bool:
        return self.role != "control"

    def send(self, message: dict[str, Any]) -> None:
        # a dropped link is seen by the reader, which ends execute()
        with self._send_lock, contextlib.suppress(OSError):
            self.conn.sendall(encode(message))

    def close(self) -> None:
        """Leave the run (it keeps waiting); safe to call twice, from any thread."""
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)
        self.conn.close()

    # ---- the reader (execute's thread) ---------------------------------------------------
    def pump(self) -> RunResult:
        status: ev.RunStatus = "running"
        reason = ""
        self._say_role()
        while True:
            try:
                line = self.stream.readline(MAX_LINE + 1)
            except (OSError, ValueError):
                line = b""
            if not line:
                break
            try:
                message = decode(line)
            except WireError as exc:
                self._tell("error", f"engine host sent a bad line: {exc}")
                continue
            kind = message.get("type")
            if kind == "event":
                event = message["event"]
                self._track(event)
                if isinstance(event, ev.RunFinished):
                    status, reason = event.status, event.reason
                self._emit(event)
            elif kind == "role":
                self.role, self.held = message["role"], message["held"]
                self._say_role()
            elif kind in ("refused", "error"):
                self._tell("warning", message["message"])
            elif kind == "answer_error":
                self._tell("error", message["message"])
                if self.pending is not None:  # ask again: the form was cleared on sending
                    self._emit(ev.PromptRequested(self.run_id, -1, self.pending))
            elif kind == "end":
                self.ended = True
                break
        self.close()
        return RunResult(self.run_id, status, reason)

    def _track(self, event: ev.Event) -> None:
        if isinstance(event, ev.PromptRequested):
            self.pending = event.prompt
        elif isinstance(event, ev.PromptAnswered | ev.StepCompleted | ev.RunPaused
                        | ev.RunFinished):
            self.pending = None  # answered, or given way to a pause

    def _emit(self, event: ev.Event) -> None:
        for subscriber in self.subscribers:
            subscriber(event)

    def _tell(self, level: Literal["info", "warning", "error"], text: str) -> None:
        self._emit(ev.Notice(self.run_id, level, text))

    def _say_role(self) -> None:
        if self.role == "control":
            self._tell("info", "this terminal holds control of the run")
        elif self.held:
            self._tell("warning", WATCHING)
        else:
            self._tell("warning", "watching — nobody holds control: t takes it")


class RemoteRun:
    """Control requests for the host's run (ignored with a notice while watching)."""

    def __init__(self, live: LiveSession) -> None:
        self.live = live
        self.run_id = live.run_id

    def execute(self) -> RunResult:
        return self.live.pump()

    def _control(self, action: str, reason: str = "") -> None:
        if self.live.watching:
            self.live._tell("warning", WATCHING)
            return
        self.live.send({"op": "control", "action": action, "reason": reason})

    def request_stop(self) -> None:
        self._control("stop")

    def request_abort(self) -> None:
        self._control("abort")

    def request_pause(self) -> None:
        self._control("pause")

    def request_repeat(self) -> None:
        self._control("repeat")

    def request_skip(self, reason: str) -> None:
        if not reason.strip():
            raise ValueError("skipping a step needs a reason")
        self._control("skip", reason.strip())

    def take_control(self) -> None:
        self.live.send({"op": "take_control"})


class RemotePrompter:
    """Answers are checked here with the prompt's own validation, then sent."""

    source = "tui"

    def __init__(self, live: LiveSession) -> None:
        self.live = live

    @property
    def pending(self) -> Prompt | None:
        return self.live.pending

    def answer(self, prompt_id: str, value: Any) -> Any:
        if self.live.watching:
            raise AnswerError(WATCHING)
        prompt = self.live.pending
        if prompt is None or prompt.id != prompt_id:
            raise AnswerError(f"no prompt '{prompt_id}' is waiting")
        accepted = prompt.validate(value)
        self.live.send({"op": "answer", "prompt_id": prompt_id, "value": accepted})
        return accepted

    def cancel(self) -> None:
        """Stop and abort cancel the host's own prompt; nothing waits here."""


def connect(path: str | Path, *, watch: bool = False,
            subscribers: Iterable[Subscriber] = (), timeout: float = 10.0) -> LiveSession:
    """Attach to the host at `path`; control if asked for and free, else watching."""
    try:
        conn = _open(path, timeout)
    except OSError as exc:
        raise SessionError(f"{path}: no engine host listens there ({exc.strerror or exc})") \
            from None
    stream = conn.makefile("rb")
    try:
        conn.sendall(encode({"op": "hello", "mode": "watch" if watch else "control"}))
        line = stream.readline(MAX_LINE + 1)
        welcome = decode(line) if line else {}
    except (OSError, WireError) as exc:
        conn.close()
        raise SessionError(f"{path}: the engine host did not answer ({exc})") from None
    if welcome.get("type") != "welcome":
        conn.close()
        raise SessionError(f"{path}: the engine host did not welcome this terminal")
    conn.settimeout(None)
    return LiveSession(conn, stream, welcome, subscribers)


def _open(path: str | Path, timeout: float) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        raise
    return conn


def live_runs(db_path: str | Path | None = None, timeout: float = 2.0) -> list[dict[str, Any]]:
    """The runs whose engine host answers, for one database (or all); stale sockets of
    hosts that died are removed."""
    found = []
    for path in sorted(runtime_dir().glob(f"*{SOCKET_SUFFIX}")):
        try:
            conn = _open(path, timeout)
        except ConnectionRefusedError:
            with contextlib.suppress(OSError):
                path.unlink()  # nobody listens: the host died without cleaning up
            continue
        except OSError:
            continue
        try:
            conn.sendall(encode({"op": "info"}))
            line = conn.makefile("rb").readline(MAX_LINE + 1)
            info = decode(line).get("info") if line else None
        except (OSError, WireError):
            info = None
        finally:
            conn.close()
        if not isinstance(info, dict) or info.get("state") != "running":
            continue
        if db_path is not None and Path(info["db"]).resolve() != Path(db_path).resolve():
            continue
        found.append(info)
    return found


def find_live_run(run_id: str | None, db_path: str | Path | None = None) -> dict[str, Any]:
    """The one live run matching `run_id` (a prefix), or the only live run."""
    runs = live_runs(db_path)
    matches = [r for r in runs if run_id is None or r["run_id"].startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(f"no live run{f' matches {run_id!r}' if run_id else ''} "
                          f"(runtime directory {runtime_dir()})")
    listed = ", ".join(f"{r['run_id'][:8]} ({r['protocol_id']}, {r['subject_id']})"
                       for r in matches)
    raise LookupError(f"several live runs: {listed}; name one")
