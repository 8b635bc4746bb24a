"""The engine host over a real Unix socket: attach, control, watch, detach, re-attach.

The host is the real `python -m edxbench.live.host` process with the simulated bench in
fast time and SQLite in tmp_path; clients are the ones the terminal app uses.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from edxbench.errors import SessionError
from edxbench.live.client import LiveSession, connect, find_live_run, live_runs
from edxbench.live.host import WATCHING
from edxbench.live.spawn import start_host
from engine import events as ev
from engine.prompts import AnswerError
from storage.database import open_database
from storage.queries import get_run
from tests.conftest import ROOT

pytestmark = pytest.mark.timeout(120)
MEDIAN = ROOT / "protocols" / "median_motor.yaml"


class Terminal:
    """A client as a screen would use it: events arrive on the pump's thread."""

    def __init__(self, path: str, watch: bool = False) -> None:
        self.events: queue.Queue[ev.Event] = queue.Queue()
        self.seen: list[ev.Event] = []
        self.live: LiveSession = connect(path, watch=watch, subscribers=[self.events.put])
        self.result: Any = None
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        self.result = self.live.run.execute()

    def next(self, kind: type, timeout: float = 30.0, where: Any = None) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(event)
            if isinstance(event, kind) and (where is None or where(event)):
                return event
        raise AssertionError(f"no {kind.__name__} within {timeout} s; saw "
                             f"{[type(e).__name__ for e in self.seen[-8:]]}")

    def drain(self, wait: float = 0.3) -> list[ev.Event]:
        time.sleep(wait)
        while True:
            try:
                self.seen.append(self.events.get_nowait())
            except queue.Empty:
                return self.seen

    def answer_next(self) -> ev.PromptRequested:
        asked = self.next(ev.PromptRequested)
        prompt = asked.prompt
        value = {"review": "accept", "choice": prompt.default}.get(prompt.kind, prompt.default)
        self.live.prompter.answer(prompt.id, value)
        return asked

    def notices(self) -> list[str]:
        return [e.text for e in self.seen if isinstance(e, ev.Notice)]


@pytest.fixture
def host(runtime: Path, tmp_path: Path):
    ready = start_host(db_path=tmp_path / "edx.db", protocol_path=MEDIAN,
                       subject_id="normal-adult", fast=True)
    try:
        yield ready
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(ready["pid"], signal.SIGTERM)  # only if a test failed half-way


def host_gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # our child: reap it so it can vanish
        time.sleep(0.05)
    return False


def test_control_watch_detach_take_control_and_finish(host: dict, runtime: Path,
                                                      tmp_path: Path) -> None:
    path = host["socket"]
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(runtime).st_mode) == 0o700

    first = Terminal(path)
    assert first.live.role == "control"
    for _ in range(4):  # part of the safety checklist
        first.answer_next()
    fifth = first.next(ev.PromptRequested)  # waits, unanswered

    second = Terminal(path)  # asks for control, which is held: it watches
    assert second.live.watching
    second.next(ev.Notice, where=lambda n: n.text == WATCHING)
    waiting = second.next(ev.PromptRequested)
    # the watcher's replay shows only the prompt that waits, not the answered ones
    assert [e for e in second.seen if isinstance(e, ev.PromptRequested)] == [waiting]
    assert first.live.pending == waiting.prompt == fifth.prompt
    with pytest.raises(AnswerError, match="watching"):
        second.live.prompter.answer(waiting.prompt.id, waiting.prompt.default)
    second.live.run.request_abort()  # refused locally: only the holder may abort
    second.next(ev.Notice, where=lambda n: n.text == WATCHING)

    first.live.close()  # the controlling terminal goes away: the run waits
    first.thread.join(5)
    second.next(ev.Notice, where=lambda n: "nobody holds control" in n.text)
    [info] = live_runs(tmp_path / "edx.db")
    assert (info["state"], info["controlled"], info["waiting"]) == (
        "running", False, waiting.prompt.text)
    assert not [e for e in second.drain(0.5) if isinstance(e, ev.PromptAnswered)
                and e.at > waiting.at]

    second.live.run.take_control()
    second.next(ev.Notice, where=lambda n: "holds control" in n.text)
    third = Terminal(path)  # control is held again: a third terminal watches
    assert third.live.watching

    second.live.prompter.answer(waiting.prompt.id, waiting.prompt.default)
    while not isinstance(second.seen[-1], ev.RunFinished):
        event = second.next(ev.PromptRequested | ev.RunFinished)
        if isinstance(event, ev.PromptRequested):
            prompt = event.prompt
            second.live.prompter.answer(
                prompt.id, "accept" if prompt.kind == "review" else prompt.default)
    second.thread.join(10)
    assert second.result.status == "completed"
    third.next(ev.RunFinished)
    third.thread.join(10)  # the end message closes every client
    assert host_gone(host["pid"])
    assert not Path(path).exists()
    stored = get_run(open_database(tmp_path / "edx.db"), host["run_id"])
    assert stored is not None and stored["status"] == "completed"
    assert all(s["status"] == "done" for s in stored["steps"])
    started = next(e for e in third.seen if isinstance(e, ev.RunStarted))  # replayed
    assert len(stored["steps"]) == len(started.steps)


def test_reattach_rebuilds_the_steps_done_and_pause_at_a_prompt(host: dict,
                                                                tmp_path: Path) -> None:
    path = host["socket"]
    first = Terminal(path)
    while (asked := first.next(ev.PromptRequested)).prompt.id != "wrist.placed":
        prompt = asked.prompt
        first.live.prompter.answer(prompt.id, prompt.default)  # wrist placement waits
    first.live.close()
    first.thread.join(5)

    again = Terminal(path)  # a new terminal takes the free control at once
    assert again.live.role == "control"
    asked = again.next(ev.PromptRequested)
    assert asked.prompt.id == "wrist.placed"
    replayed = [e.step_id for e in again.seen if isinstance(e, ev.StepCompleted)]
    stored = get_run(open_database(tmp_path / "edx.db"), host["run_id"])
    assert stored is not None
    assert replayed == [s["step_id"] for s in stored["steps"]] == [
        "checklist", "skin", "electrodes"]
    kinds = [type(e) for e in again.seen]
    assert kinds.index(ev.RunStarted) < kinds.index(ev.StepCompleted)

    again.live.run.request_pause()  # the waiting prompt gives way at once
    paused = again.next(ev.RunPaused)
    assert (paused.step_id, paused.discarded) == ("wrist", 0)
    choice = again.next(ev.PromptRequested)
    assert choice.prompt.id == "wrist.paused"
    again.live.prompter.answer("wrist.paused", "stop")
    cleanup = again.next(ev.PromptRequested)  # cleanup still runs, and asks
    assert cleanup.prompt.id == "remove"
    again.live.prompter.answer("remove", True)
    again.next(ev.RunFinished)
    again.thread.join(10)
    assert again.result.status == "stopped"
    assert host_gone(host["pid"])


def test_host_refuses_bad_input_in_one_line(runtime: Path, tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="pseudonymous"):
        start_host(db_path=tmp_path / "edx.db", protocol_path=MEDIAN,
                   subject_id="John Smith", fast=True)
    with pytest.raises(LookupError, match="no live run"):
        find_live_run(None)
    assert list(runtime.iterdir()) == []


def test_killed_host_leaves_a_resumable_run_and_a_stale_socket_is_swept(
        host: dict, runtime: Path, tmp_path: Path) -> None:
    first = Terminal(host["socket"])
    while (asked := first.next(ev.PromptRequested)).prompt.id != "wrist.placed":
        first.live.prompter.answer(asked.prompt.id, asked.prompt.default)
    os.kill(host["pid"], signal.SIGKILL)  # power loss, kill -9: no clean-up at all
    assert host_gone(host["pid"])
    first.thread.join(5)
    assert not first.live.ended  # the link dropped; the run did not end
    assert Path(host["socket"]).exists()
    assert live_runs() == [] and not Path(host["socket"]).exists()

    again = start_host(db_path=tmp_path / "edx.db", resume_run_id=host["run_id"][:8],
                       fast=True)
    try:
        resumed = Terminal(again["socket"])
        assert resumed.next(ev.RunStarted).resumed
        while not isinstance(resumed.seen[-1], ev.RunFinished):
            event = resumed.next(ev.PromptRequested | ev.RunFinished)
            if isinstance(event, ev.PromptRequested):
                prompt = event.prompt
                resumed.live.prompter.answer(
                    prompt.id, "accept" if prompt.kind == "review" else prompt.default)
        resumed.thread.join(10)
        assert resumed.result.status == "completed"
        asked = [e.prompt.id for e in resumed.seen if isinstance(e, ev.PromptRequested)]
        assert asked[0] == "resume"
        assert not [p for p in asked if p.startswith(("checklist.", "skin", "electrodes"))]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(again["pid"], signal.SIGTERM)
    assert host_gone(again["pid"])
    stored = get_run(open_database(tmp_path / "edx.db"), host["run_id"])
    assert stored is not None and stored["status"] == "completed"
    assert all(s["status"] == "done" for s in stored["steps"])


def test_runtime_directory_open_to_others_is_refused(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from edxbench.live.paths import runtime_dir

    shared = tmp_path / "rt"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    monkeypatch.setenv("EDXBENCH_RUNTIME_DIR", str(shared))
    with pytest.raises(SessionError, match="mode 0700"):
        runtime_dir()


def test_attach_without_a_live_run_says_so_in_one_line(runtime: Path, cli: Any,
                                                       tmp_path: Path) -> None:
    done = cli("attach", "--db", str(tmp_path / "edx.db"),
               env={"EDXBENCH_RUNTIME_DIR": str(runtime)})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no live run" in done.stderr
