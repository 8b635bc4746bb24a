"""Run control on the real simulated bench: stop, abort, a dropped instrument.

Completed steps are never lost, cleanup runs unless aborted, and stimulator output is
off at the end whatever happened.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edxbench.session import open_session
from engine import events as ev
from engine.prompts import HeadlessPrompter
from storage.database import open_database
from storage.queries import get_run
from tests.conftest import ROOT

MEDIAN = ROOT / "protocols" / "median_motor.yaml"


class Tap:
    """Subscriber that records events and can act when a given step completes."""

    def __init__(self, on_step: str | None = None, action=None) -> None:
        self.events: list[ev.Event] = []
        self.on_step = on_step
        self.action = action

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)
        if (isinstance(event, ev.StepCompleted) and event.step_id == self.on_step
                and self.action is not None):
            self.action()


def start(db_path: Path, tap: Tap, answers: dict | None = None):
    return open_session(MEDIAN, "normal-adult", db_path=db_path,
                        prompter=HeadlessPrompter(answers), subscribers=[tap], fast=True)


def stored(db_path: Path, run_id: str) -> dict:
    run = get_run(open_database(db_path), run_id)
    assert run is not None
    return run


def test_stop_keeps_completed_steps_and_runs_cleanup(db_path: Path) -> None:
    tap = Tap(on_step="wrist")
    session = start(db_path, tap)
    tap.action = session.run.request_stop
    try:
        result = session.run.execute()
        assert not session.bench.generator.output_is_on(session.bench.stimulator.channel)
    finally:
        session.close()
    assert result.status == "stopped"
    run = stored(db_path, result.run_id)
    steps = [s["step_id"] for s in run["steps"]]
    # cleanup ran after the stop
    assert steps == ["checklist", "skin", "electrodes", "wrist", "remove"]
    assert run["status"] == "stopped"
    assert any(t["site"] == "wrist" and t["role"] == "final" for t in run["traces"])


def test_abort_skips_cleanup(db_path: Path) -> None:
    tap = Tap(on_step="electrodes")
    session = start(db_path, tap)
    tap.action = session.run.request_abort
    try:
        result = session.run.execute()
    finally:
        session.close()
    assert result.status == "aborted"
    run = stored(db_path, result.run_id)
    assert [s["step_id"] for s in run["steps"]] == ["checklist", "skin", "electrodes"]


@pytest.mark.parametrize("choice", ["abort", "skip"])
def test_dropped_instrument_is_reported_and_completed_data_kept(db_path: Path,
                                                                choice: str) -> None:
    tap = Tap(on_step="wrist")
    session = start(db_path, tap, answers={"elbow.fault": choice, "forearm_distance": 230})

    def unplug() -> None:
        process = session.bench._process
        assert process is not None
        process.kill()
        process.wait()

    tap.action = unplug
    try:
        result = session.run.execute()
    finally:
        session.close()
    errors = [e.text for e in tap.events if isinstance(e, ev.Notice) and e.level == "error"]
    assert errors and "TCPIP0::127.0.0.1::" in errors[0]
    run = stored(db_path, result.run_id)
    wrist = next(s for s in run["steps"] if s["step_id"] == "wrist")
    assert wrist["status"] == "done"
    assert any(m["step_id"] == "wrist" and m["name"] == "onset_latency"
               for m in run["measurements"])
    elbow = next(s for s in run["steps"] if s["step_id"] == "elbow")
    if choice == "abort":
        assert result.status == "failed" and elbow["status"] == "failed"
        assert "TCPIP0" in result.reason
    else:
        assert elbow["status"] == "skipped"
        velocity = next(s for s in run["steps"] if s["step_id"] == "forearm_velocity")
        assert velocity["status"] == "failed"  # no proximal onset to compute from
