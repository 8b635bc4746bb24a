"""Pause, resume, repeat and skip on the real simulated bench (fast time), no UI.

A pause takes effect after the current instrument action; nothing is stimulated again
until the operator answers the pause prompt, and the interrupted attempt's sweeps are not
stored. Skips carry the operator's reason into storage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edxbench.session import open_session
from engine import events as ev
from engine.prompts import HeadlessPrompter, Prompt, PromptCancelled
from storage.database import open_database
from storage.queries import get_run
from tests.conftest import ROOT

MEDIAN = ROOT / "protocols" / "median_motor.yaml"


class Operator(HeadlessPrompter):
    """Answers like a headless run, runs a hook before chosen prompts, honours cancel."""

    def __init__(self, answers: dict[str, Any],
                 hooks: dict[str, Callable[[], None]] | None = None) -> None:
        super().__init__(answers)
        self.hooks = dict(hooks or {})
        self.cancelled = False

    def ask(self, prompt: Prompt, announce: Callable[[], None] = lambda: None) -> Any:
        hook = self.hooks.pop(prompt.id, None)
        if hook is not None:
            hook()
        if self.cancelled:
            raise PromptCancelled(prompt.id)
        return super().ask(prompt, announce)

    def cancel(self) -> None:
        self.cancelled = True


class Tap:
    """Records events; calls `action` once, at the n-th sweep of a step."""

    def __init__(self, step_id: str = "", nth_sweep: int = 0) -> None:
        self.events: list[ev.Event] = []
        self.step_id, self.nth = step_id, nth_sweep
        self.action: Callable[[], None] | None = None
        self.bench: Any = None
        self._seen = 0

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)
        if isinstance(event, ev.SweepRecorded) and event.step_id == self.step_id:
            self._seen += 1
            if self._seen == self.nth and self.action is not None:
                self.action()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def execute(db_path: Path, tap: Tap, operator: Operator, act: str) -> tuple[Any, dict]:
    session = open_session(MEDIAN, "normal-adult", db_path=db_path, prompter=operator,
                           subscribers=[tap], fast=True)
    run = session.run
    tap.bench = session.bench
    tap.action = {"pause": run.request_pause, "repeat": run.request_repeat,
                  "skip": lambda: run.request_skip("electrode fell off")}[act]
    operator.hooks = {k: (run.request_abort if v == "abort" else v)
                      for k, v in operator.hooks.items()}
    try:
        result = run.execute()
        assert not session.bench.generator.output_is_on(session.bench.stimulator.channel)
    finally:
        session.close()
    stored = get_run(open_database(db_path), result.run_id)
    assert stored is not None
    return result, stored


def test_pause_waits_after_the_sweep_and_resume_restarts_the_step(db_path: Path) -> None:
    tap = Tap("wrist", nth_sweep=2)
    outputs: list[bool] = []
    operator = Operator({"wrist.paused": "resume"}, {"wrist.paused": lambda: outputs.append(
        tap.bench.generator.output_is_on(tap.bench.stimulator.channel))})
    result, stored = execute(db_path, tap, operator, "pause")
    assert outputs == [False]  # asked while paused: stimulator output off
    assert result.status == "completed", result.reason
    paused = tap.of(ev.RunPaused)
    assert [(p.step_id, p.discarded) for p in paused] == [("wrist", 2)]
    # between the pause and the operator's choice no instrument action ran
    i_pause = tap.events.index(paused[0])
    i_answer = next(i for i, e in enumerate(tap.events) if isinstance(e, ev.PromptAnswered)
                    and e.prompt_id == "wrist.paused")
    assert i_answer > i_pause
    assert not any(isinstance(e, ev.SweepRecorded) for e in tap.events[i_pause:i_answer])
    assert isinstance(tap.events[i_answer + 1], ev.RunResumed)
    attempts = [e.attempt for e in tap.of(ev.StepStarted) if e.step_id == "wrist"]
    assert attempts == [1, 2]
    # the stored wrist step holds only the second attempt's sweeps
    second = [e for e in tap.events[i_answer:] if isinstance(e, ev.SweepRecorded)
              and e.step_id == "wrist"]
    wrist_traces = [t for t in stored["traces"] if t["site"] == "wrist"]
    assert len(wrist_traces) == len(second)
    assert [s["status"] for s in stored["steps"]].count("done") == len(stored["steps"])


def test_pause_then_stop_runs_cleanup_and_keeps_nothing_of_the_step(db_path: Path) -> None:
    tap = Tap("elbow", nth_sweep=1)
    result, stored = execute(db_path, tap, Operator({"elbow.paused": "stop"}), "pause")
    assert result.status == "stopped"
    assert [s["step_id"] for s in stored["steps"]] == [
        "checklist", "skin", "electrodes", "wrist", "remove"]
    assert not any(t["site"] == "elbow" for t in stored["traces"])


def test_pause_then_skip_asks_for_the_reason(db_path: Path) -> None:
    tap = Tap("wrist", nth_sweep=1)
    operator = Operator({"wrist.paused": "skip", "wrist.skip_reason": "subject moved"})
    result, stored = execute(db_path, tap, operator, "pause")
    wrist = next(s for s in stored["steps"] if s["step_id"] == "wrist")
    assert wrist["status"] == "skipped"
    assert wrist["reason"] == "skipped by the operator: subject moved"
    assert result.status == "completed"


def test_abort_while_paused_marks_the_run_aborted(db_path: Path) -> None:
    tap = Tap("wrist", nth_sweep=1)
    result, stored = execute(db_path, tap, Operator({}, {"wrist.paused": "abort"}), "pause")
    assert result.status == "aborted" and stored["status"] == "aborted"
    assert "remove" not in [s["step_id"] for s in stored["steps"]]


def test_skip_with_reason_ends_the_step_and_the_run_goes_on(db_path: Path) -> None:
    tap = Tap("wrist", nth_sweep=1)
    result, stored = execute(db_path, tap, Operator({}), "skip")
    assert result.status == "completed", result.reason
    wrist = next(s for s in stored["steps"] if s["step_id"] == "wrist")
    assert (wrist["status"], wrist["reason"]) == ("skipped",
                                                  "skipped by the operator: electrode fell off")
    velocity = next(s for s in stored["steps"] if s["step_id"] == "forearm_velocity")
    assert velocity["status"] == "failed"  # no distal onset to compute from
    assert stored["steps"][-1]["step_id"] == "remove"


def test_repeat_restarts_the_step_and_keeps_the_new_attempt(db_path: Path) -> None:
    tap = Tap("wrist", nth_sweep=2)
    result, stored = execute(db_path, tap, Operator({}), "repeat")
    assert result.status == "completed"
    assert [e.attempt for e in tap.of(ev.StepStarted) if e.step_id == "wrist"] == [1, 2]
    assert any("restarted" in n.text for n in tap.of(ev.Notice))
    wrist_sweeps = [e for e in tap.of(ev.SweepRecorded) if e.step_id == "wrist"]
    stored_wrist = [t for t in stored["traces"] if t["site"] == "wrist"]
    assert len(stored_wrist) == len(wrist_sweeps) - 2
