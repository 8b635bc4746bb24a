"""A scripted stand-in for the engine session and storage, for screen tests in isolation.

It emits the real `engine.events` types and asks through the real `ChannelPrompter`, so
the screens see exactly the contract the engine honours.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine import events as ev
from engine.prompts import Prompt, PromptCancelled
from tui.data import ProtocolEntry, RunFilter

FS = 20_000.0
T0 = -0.002


def cmap(n: int = 400, onset: float = 0.0035, peak: float = 0.0075,
         amplitude: float = 8e-3) -> np.ndarray:
    t = T0 + np.arange(n) / FS
    wave = np.where(t > onset, -amplitude * np.sin(np.clip((t - onset) / (peak - onset), 0, 2)
                                                   * np.pi / 2), 0.0)
    return wave


@dataclass
class FakeSweep:
    data: np.ndarray
    sample_rate: float = FS
    t0: float = T0

    def volts(self) -> np.ndarray:
        return self.data


@dataclass
class FakeTrace(FakeSweep):
    measures: dict[str, Any] = field(default_factory=dict)


MEASURES = {"onset": 0.0035, "neg_peak_latency": 0.0075, "baseline": 0.0, "neg_amplitude": 8e-3}

STEPS = (
    ev.StepInfo(0, "electrodes", "instruction", "Place the recording electrodes"),
    ev.StepInfo(1, "wrist", "stimulate", "Stimulate at the wrist"),
    ev.StepInfo(2, "distance", "input", "Forearm distance"),
    ev.StepInfo(3, "method", "input", "Method"),
)


class FakeRun:
    """Walks four steps: confirm, stimulate+review, number, choice."""

    def __init__(self, prompter: Any, subscribers: list[Any], fail_with: Exception | None = None,
                 run_id: str = "run-fake-1", safety: bool = False) -> None:
        self.safety = safety
        self.prompter = prompter
        self.subscribers = subscribers
        self.run_id = run_id
        self.fail_with = fail_with
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.answers: list[tuple[str, Any]] = []
        self.sweeps = 0

    def request_stop(self) -> None:
        self.stop.set()
        self.prompter.cancel()

    def request_abort(self) -> None:
        self.abort.set()
        self.prompter.cancel()

    def emit(self, event: Any) -> None:
        for subscriber in self.subscribers:
            subscriber(event)

    def ask(self, seq: int, prompt: Prompt) -> Any:
        self.emit(ev.PromptRequested(self.run_id, seq, prompt))
        value = self.prompter.ask(prompt)
        self.answers.append((prompt.id, value))
        return value

    def execute(self) -> str:
        self.emit(ev.RunStarted(self.run_id, "fake-protocol", "Fake protocol", "normal-adult",
                                STEPS, {}))
        status, reason = "completed", ""
        try:
            if self.fail_with is not None:
                raise self.fail_with
            if self.safety:
                self.safety_steps()
            self.emit(ev.StepStarted(self.run_id, 0, "electrodes", "instruction",
                                     STEPS[0].title, "Active over APB.", "[G1]──[G2]"))
            self.ask(0, Prompt("electrodes", "confirm", STEPS[0].title, default=True))
            self.emit(ev.StepCompleted(self.run_id, 0, "electrodes", "instruction",
                                       STEPS[0].title, "done", ev.utc_now()))
            attempt = 1
            while True:
                self.emit(ev.StepStarted(self.run_id, 1, "wrist", "stimulate", STEPS[1].title,
                                         attempt=attempt))
                for current in (5.0, 10.0, 15.0):
                    self.sweeps += 1
                    self.emit(ev.SweepRecorded(self.run_id, 1, "wrist", "search", "wrist",
                                               FakeSweep(cmap()), dict(MEASURES), current))
                decision = self.ask(1, Prompt("wrist.review", "review", "Accept this sweep?",
                                              choices=("accept", "repeat"), default="accept"))
                if decision == "accept":
                    break
                attempt += 1
            self.emit(ev.Notice(self.run_id, "warning", "supramaximal not confirmed"))
            self.emit(ev.StepCompleted(
                self.run_id, 1, "wrist", "stimulate", STEPS[1].title, "done", ev.utc_now(),
                measurements=(
                    ev.Measurement("onset_latency", 3.5, "ms", "wrist", None, 4.4, "normal"),
                    ev.Measurement("neg_amplitude", 3.1, "mV", "wrist", 4.1, None, "abnormal"),
                )))
            self.emit(ev.StepStarted(self.run_id, 2, "distance", "input", STEPS[2].title))
            self.ask(2, Prompt("distance", "number", STEPS[2].title, unit="mm", minimum=100,
                               maximum=400, default=230.0))
            self.emit(ev.StepCompleted(self.run_id, 2, "distance", "input", STEPS[2].title,
                                       "done", ev.utc_now()))
            self.emit(ev.StepStarted(self.run_id, 3, "method", "input", STEPS[3].title))
            self.ask(3, Prompt("method", "choice", "Method", choices=("surface", "needle"),
                               default="surface"))
            self.emit(ev.StepCompleted(self.run_id, 3, "method", "input", STEPS[3].title,
                                       "done", ev.utc_now()))
        except PromptCancelled:
            status = "aborted" if self.abort.is_set() else "stopped"
            reason = f"{status} by operator"
        except Exception as exc:
            status, reason = "failed", str(exc)
        self.emit(ev.RunFinished(self.run_id, status, reason))
        return status


    def safety_steps(self) -> None:
        """Three checklist items, then a gated step whose override prompt is answered."""
        self.emit(ev.StepStarted(self.run_id, 0, "checklist", "safety_checklist",
                                 "Safety checklist"))
        self.ask(0, Prompt("checklist.side", "choice", "Which side is studied?",
                           choices=("left", "right"), default="right"))
        self.ask(0, Prompt("checklist.anticoagulation", "confirm",
                           "Is the subject taking anticoagulant or antiplatelet drugs?",
                           default=False))
        self.ask(0, Prompt("checklist.pacemaker_or_icd", "confirm",
                           "Does the subject have a pacemaker or an implanted defibrillator "
                           "(ICD)?", default=True))
        self.emit(ev.StepCompleted(self.run_id, 0, "checklist", "safety_checklist",
                                   "Safety checklist", "done", ev.utc_now()))
        answer = self.ask(1, Prompt("erb.override", "text", default="",
                                    text="'Stimulate at Erb's point' is contraindicated "
                                         "(pacemaker or ICD: no proximal stimulation). It will "
                                         "be skipped. To run it anyway, type OVERRIDE followed "
                                         "by the clinical reason."))
        if str(answer).upper().startswith("OVERRIDE"):
            self.emit(ev.GateOverridden(self.run_id, 1, "erb", ("device-proximal-stimulation",),
                                        str(answer)[8:].strip(), "tui"))


@dataclass
class FakeSession:
    run: FakeRun
    closed: bool = False

    def close(self) -> None:
        self.closed = True


class FakeFactory:
    """Records the sessions it opens; can fail on open like an unreachable bench.

    Serves as resume factory too: called with a run id instead of a protocol path."""

    def __init__(self, open_error: Exception | None = None,
                 run_error: Exception | None = None, safety: bool = False) -> None:
        self.safety = safety
        self.open_error = open_error
        self.run_error = run_error
        self.sessions: list[FakeSession] = []
        self.calls: list[dict[str, Any]] = []

    def __call__(self, protocol_path: Any, subject_id: str = "", **kwargs: Any) -> FakeSession:
        self.calls.append({"protocol_path": protocol_path, "subject_id": subject_id, **kwargs})
        if self.open_error is not None:
            raise self.open_error
        run = FakeRun(kwargs["prompter"], list(kwargs.get("subscribers", [])), self.run_error,
                      safety=self.safety)
        session = FakeSession(run)
        self.sessions.append(session)
        return session


def stored_run(i: int) -> dict[str, Any]:
    status = "completed" if i % 3 else "aborted"
    if i % 10 == 5:
        status = "interrupted"
    protocol = ("median-motor", "Median motor NCS (APB)") if i % 2 == 0 else (
        "ulnar-motor", "Ulnar motor NCS (ADM)")
    return {"id": f"run-{i:05d}", "started_at": f"2026-01-01T{i // 60 % 24:02d}:{i % 60:02d}"
            ":00.000+00:00", "protocol_id": protocol[0], "protocol_title": protocol[1],
            "subject_id": f"S-{i:04d}", "status": status, "abnormal_count": i % 4}


class FakeSource:
    """In-memory runs; counts rows handed out to prove paging never loads everything."""

    def __init__(self, n_runs: int = 3, bench_error: Exception | None = None) -> None:
        self.all_runs = [stored_run(i) for i in range(n_runs)]
        self.page_calls: list[tuple[int, int, str | None]] = []
        self.filters: list[RunFilter] = []
        self.rows_served = 0
        self.bench_error = bench_error
        self.bench_checks = 0

    def protocols(self) -> list[ProtocolEntry]:
        return [ProtocolEntry("fake-protocol", "Fake protocol", Path("fake.yaml")),
                ProtocolEntry("median-motor", "Median motor NCS (APB)", Path("median.yaml")),
                ProtocolEntry("ulnar-motor", "Ulnar motor NCS (ADM)", Path("ulnar.yaml"))]

    def subjects(self) -> list[str]:
        return ["normal-adult", "cts-moderate"]

    def runs_page(self, offset: int, limit: int, filters: RunFilter) -> list[dict[str, Any]]:
        search = filters.search
        self.page_calls.append((offset, limit, search))
        self.filters.append(filters)
        rows = sorted((r for r in self.all_runs
                       if (not search or search in r["subject_id"]) and filters.matches(r)),
                      key=lambda r: r["started_at"], reverse=True)  # newest first, as storage
        page = rows[offset:offset + limit]
        self.rows_served += len(page)
        return page

    def run(self, run_id: str) -> dict[str, Any]:
        base = next(r for r in self.all_runs if r["id"] == run_id)
        return {**base, "reason": "", "steps": [
            {"seq": 0, "step_id": "electrodes", "title": "Place the electrodes", "status": "done"},
            {"seq": 1, "step_id": "wrist", "title": "Stimulate at the wrist", "status": "done"},
        ], "measurements": [
            {"step_id": "wrist", "name": "onset_latency", "site": "wrist", "value": 3.5,
             "unit": "ms", "lower": None, "upper": 4.4, "outcome": "normal"},
            {"step_id": "wrist", "name": "neg_amplitude", "site": "wrist", "value": 3.1,
             "unit": "mV", "lower": 4.1, "upper": None, "outcome": "abnormal"},
        ], "traces": [
            {"id": 1, "step_id": "wrist", "role": "search", "site": "wrist", "current_mA": 5.0},
            {"id": 2, "step_id": "wrist", "role": "final", "site": "wrist", "current_mA": 15.0},
        ]}

    def trace(self, trace_id: Any) -> FakeTrace:
        return FakeTrace(cmap(amplitude=4e-3 * int(trace_id)), measures=dict(MEASURES))

    def interrupted_runs(self) -> list[str]:
        return [r["id"] for r in self.all_runs if r["status"] == "interrupted"]

    def latest_bench_check(self, profile: str) -> dict[str, Any] | None:
        return None  # never checked: the screen says so and offers v

    def bench_info(self, profile: str, config: Path | None) -> dict[str, Any]:
        self.bench_checks += 1
        if self.bench_error is not None:
            raise self.bench_error
        return {"profile": profile, "kind": "sim", "identities": {
            "generator": "Keysight Technologies,33522B,SIM0001,5.0",
            "scope": "KEYSIGHT TECHNOLOGIES,DSOX1204G,SIM0002,2.0",
            "subject": ""}, "settings": {"profile": profile, "limits": {"max_current_mA": 100}}}
