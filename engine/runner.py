"""The run: executes a protocol's steps on a bench and announces everything as events.

The runner knows no UI and no database. It asks questions through a prompter, drives the
bench through the instrument layer, measures each sweep in rustcore, and tells its
subscribers what happened. Storage is one subscriber; a screen or a printer is another.
Cleanup steps always run, and stimulator output is turned off whatever happens.
"""

from __future__ import annotations

import getpass
import platform
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np

import rustcore
from engine import events as ev
from engine.compute import compute, reference_keys, unreliable_inputs
from engine.needle import run_needle
from engine.ownership import this_owner
from engine.prompts import AnswerError, Prompt, PromptCancelled, Prompter
from engine.protocol import (
    BenchCheckStep,
    CompareStep,
    ComputeStep,
    InputStep,
    InstructionStep,
    NeedleStep,
    Protocol,
    SafetyChecklistStep,
    SeriesStep,
    Step,
    StimulateStep,
)
from engine.reference import ReferenceSet, flagged
from engine.resume import ResumePoint
from engine.safety import SafetyState, StepTarget, decide, is_override, load_safety, override_prompt
from engine.series import run_series
from engine.supramaximal import SupramaximalSearch
from engine.validation import run_bench_check
from instruments.bench import Bench, SweepSettings
from instruments.errors import InstrumentError
from instruments.sweep import Sweep

SOFTWARE_VERSION = "0.1.0"

# rustcore output (SI) → measurement name, unit, factor to clinical units, per response kind
RESPONSE_QUANTITIES: dict[str, tuple[tuple[str, str, str, float], ...]] = {
    "cmap": (
        ("onset", "onset_latency", "ms", 1e3),
        ("neg_peak_latency", "neg_peak_latency", "ms", 1e3),
        ("neg_amplitude", "neg_amplitude", "mV", 1e3),
        ("p2p_amplitude", "p2p_amplitude", "mV", 1e3),
        ("neg_duration", "neg_duration", "ms", 1e3),
        ("neg_area", "neg_area", "mV·ms", 1e6),
    ),
    "snap": (
        ("onset", "onset_latency", "ms", 1e3),
        ("neg_peak_latency", "peak_latency", "ms", 1e3),
        ("neg_amplitude", "amplitude", "µV", 1e6),  # baseline to negative peak
        ("p2p_amplitude", "p2p_amplitude", "µV", 1e6),
    ),
}


class RunCancelled(Exception):
    """Stop or abort was requested; the runner unwinds to cleanup."""


class StepFailed(Exception):
    """A step could not complete and the operator chose to abort."""


ControlAction = Literal["pause", "repeat", "skip"]


class PromptInterrupted(Exception):
    """Raised by a prompter (one with `interrupt()`) whose waiting prompt gave way to a
    pause, repeat or skip request; the engine acts on the request or asks again."""


class StepInterrupted(Exception):
    """Pause, repeat or skip took effect at a checkpoint inside a step: between instrument
    actions or before a prompt, never in the middle of a stimulus."""

    def __init__(self, action: ControlAction, reason: str = "") -> None:
        super().__init__(action)
        self.action = action
        self.reason = reason


@dataclass
class RunResult:
    run_id: str
    status: ev.RunStatus
    reason: str = ""
    measurements: list[ev.Measurement] = field(default_factory=list)


class Run:
    """One execution of a protocol for one subject on one bench."""

    def __init__(
        self,
        protocol: Protocol,
        *,
        subject_id: str,
        bench: Bench,
        prompter: Prompter,
        reference: ReferenceSet,
        subscribers: Iterable[Callable[[ev.Event], None]] = (),
        operator: str | None = None,
        bench_profile: str = "sim",
        run_id: str | None = None,
        resume: ResumePoint | None = None,
        bench_check: dict[str, Any] | None = None,
    ) -> None:
        self.protocol = protocol
        self.subject_id = subject_id
        self.bench = bench
        self.prompter = prompter
        self.reference = reference
        self.subscribers = list(subscribers)
        self.operator = operator if operator is not None else _operator()
        self.bench_profile = bench_profile
        self.resume = resume
        self.bench_check = bench_check  # the bench's latest validation (provenance)
        self.run_id = resume.run_id if resume else (run_id or str(uuid.uuid4()))
        self.clock = bench.clock
        self._stop = threading.Event()
        self._abort = threading.Event()
        # pause/repeat/skip wait here until the engine reaches a checkpoint inside a step
        self._control: tuple[ControlAction, str] | None = None
        self._control_lock = threading.Lock()
        self._in_step = False
        self._attempt_sweeps = 0
        # While the record (storage) refuses writes, events wait here, in order, for it.
        self._unrecorded: list[tuple[Callable[[ev.Event], None], ev.Event]] = []
        self._recording_down = False
        self._recording_given_up = False
        self._done: frozenset[int] = resume.completed if resume else frozenset()
        self._values: dict[str, float] = dict(resume.values) if resume else {}
        # every measured value so far, "step.name" → value, for compute steps
        self._measured: dict[str, float] = dict(resume.measured) if resume else {}
        self._currents: dict[str, float] = dict(resume.currents) if resume else {}
        self._measurements: list[ev.Measurement] = list(resume.measurements) if resume else []
        # every measurement with its step (a resumed run's earlier ones too): interpretation
        # and the reliability of compute-step inputs read it
        self._measured_by_step: list[tuple[str, ev.Measurement]] = (
            list(resume.measured_by_step) if resume else [])
        self._subject_age: float | None = None  # from the subject header at the checklist
        # when the latest stimulus was scheduled to go (bench clock): the next is paced
        # from here, so the time a sweep takes to arm, read and measure is not added on
        self._scheduled_stimulus: float | None = None
        self.safety_data = load_safety()
        self._safety = SafetyState()
        if resume and resume.safety:
            self._safety = SafetyState(dict(resume.safety), str(resume.safety.get("side", "")))

    # ---- control (any thread) -------------------------------------------------------
    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set() or self._abort.is_set()

    def request_stop(self) -> None:
        """Finish cleanly: no further steps, cleanup runs, status 'stopped'."""
        self._stop.set()
        self.prompter.cancel()

    def request_abort(self) -> None:
        """End now: outputs off, no cleanup steps, status 'aborted'."""
        self._abort.set()
        self.prompter.cancel()

    def request_pause(self) -> None:
        """Wait after the current instrument action; resuming restarts the step once the
        operator confirms (what the interrupted attempt recorded is not kept)."""
        self._request("pause")

    def request_repeat(self) -> None:
        """Restart the current step from its beginning after the current action."""
        self._request("repeat")

    def request_skip(self, reason: str) -> None:
        """End the current step as skipped, with the operator's reason."""
        if not reason.strip():
            raise ValueError("skipping a step needs a reason")
        self._request("skip", reason.strip())

    def _request(self, action: ControlAction, reason: str = "") -> None:
        with self._control_lock:
            self._control = (action, reason)
        interrupt = getattr(self.prompter, "interrupt", None)
        if interrupt is not None:  # a prompt waiting for an answer gives way at once
            interrupt()

    # ---- execution (the engine thread) ----------------------------------------------
    def execute(self) -> RunResult:
        status: ev.RunStatus = "completed"
        reason = ""
        try:
            self._emit(must_keep=True, event=ev.RunStarted(
                run_id=self.run_id, protocol_id=self.protocol.id,
                protocol_title=self.protocol.title, subject_id=self.subject_id,
                steps=tuple(ev.StepInfo(i, s.id, s.kind, s.title, s.group)
                            for i, s in enumerate(self.protocol.steps)),
                provenance=self._provenance(), resumed=self.resume is not None,
                owner=this_owner(),
            ))
        except Exception as exc:  # storage refused the run: nothing started
            self.bench.all_outputs_off()
            return RunResult(self.run_id, "failed", f"could not start the run: {exc}")
        try:
            self._warn_unvalidated_bench()
            self._confirm_resume()
            for seq, step in enumerate(self.protocol.steps):
                if step.group == "cleanup" or seq in self._done:
                    continue
                self._check_cancel()
                self._run_step(seq, step)
        except RunCancelled:
            status, reason = ("aborted", "aborted by operator") if self._abort.is_set() else (
                "stopped", "stopped by operator")
        except StepFailed as exc:
            status, reason = "failed", str(exc)
        except AnswerError as exc:
            status, reason = "failed", str(exc)
        except Exception as exc:  # a storage or unexpected failure: loud, never silent
            status, reason = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self.bench.all_outputs_off()
        if status != "aborted":
            reason = self._run_cleanup(reason)
        if status in ("completed", "stopped"):
            self._interpret()  # a resumed run's covers its earlier steps too
        try:
            self._emit(ev.RunFinished(self.run_id, status, reason))
        except Exception as exc:
            status = "failed"
            reason = f"{reason}; could not record the end of the run: {exc}".lstrip("; ")
        if self._unrecorded:
            status = "failed"
            reason = (f"{reason}; {len(self._unrecorded)} event(s) could not be recorded "
                      "(the database refused writes)").lstrip("; ")
        return RunResult(self.run_id, status, reason, list(self._measurements))

    def _interpret(self) -> None:
        """Criteria, localisation and impression (engine/interpret) for storage and screens.

        A subscriber that cannot take the event gets a warning instead; the run's findings
        are already stored, so the interpretation never decides whether a run completed."""
        from engine.interpret import interpret

        answers = self._safety.answers
        facts = {"age": self._subject_age,
                 "limb_temperature_c": answers.get("limb_temperature_c"),
                 "days_since_injury": answers.get("days_since_injury")}
        try:
            event = ev.Interpretation(self.run_id, interpret(self.protocol, [
                {**vars(m), "step_id": step} for step, m in self._measured_by_step], facts))
        except Exception as exc:
            self._emit(ev.Notice(self.run_id, "warning", f"no interpretation: {exc}"))
            return
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception as exc:
                self._emit(ev.Notice(self.run_id, "warning",
                                     f"interpretation not delivered: {exc}"))

    def _warn_unvalidated_bench(self) -> None:
        """A study on a bench whose latest check did not pass says so at the start, where
        the operator sees it and the run's notices keep it (never checked: provenance only)."""
        check = self.bench_check
        if (check is None or self.protocol.study_kind == "bench"
                or check.get("outcome") in ("pass", "none")):
            return
        self._emit(ev.Notice(self.run_id, "warning", (
            f"the latest bench check of profile '{self.bench_profile}' did not pass "
            f"({check.get('outcome')}, run {str(check.get('run_id', ''))[:8]}): "
            "`edxbench bench show` lists what failed")))

    def _read_subject(self) -> dict[str, Any]:
        """The subject header the bench knows (the simulated one; a real bench has none):
        its age selects age-banded limits and feeds the interpretation."""
        known = self.bench.subject_header() or {}
        self._subject_age = known.get("age")
        self.reference = self.reference.with_age(self._subject_age)  # age-banded limits
        return known

    def _confirm_resume(self) -> None:
        """A resumed run re-runs its interrupted step only after the operator says so."""
        if self.resume is None:
            return
        if any(isinstance(s, SafetyChecklistStep) and seq in self._done
               for seq, s in enumerate(self.protocol.steps)):
            self._read_subject()  # the checklist that read it ran before the interruption
        pending = [(seq, s) for seq, s in enumerate(self.protocol.steps) if seq not in self._done]
        if not pending:
            return
        seq, step = pending[0]
        go_on = self._ask(seq, Prompt(
            id="resume", kind="confirm", default=True,
            text=f"Resume this run at step '{step.title}'? The step restarts from its "
                 "beginning; nothing done before it is repeated."))
        if not go_on:
            raise RunCancelled()

    def _run_cleanup(self, reason: str) -> str:
        for seq, step in enumerate(self.protocol.steps):
            if step.group != "cleanup" or seq in self._done:
                continue
            try:
                self._run_step(seq, step, cancellable=False)
            except Exception as exc:
                reason = f"{reason}; cleanup step '{step.id}' failed: {exc}".lstrip("; ")
            finally:
                self.bench.all_outputs_off()
        return reason

    def _check_cancel(self) -> None:
        """A checkpoint: stop and abort act anywhere, pause/repeat/skip only inside a step."""
        if self._stop.is_set() or self._abort.is_set():
            raise RunCancelled()
        if self._in_step:
            with self._control_lock:
                request, self._control = self._control, None
            if request is not None:
                raise StepInterrupted(*request)

    def _emit(self, event: ev.Event, *, must_keep: bool = False) -> None:
        if isinstance(event, ev.SweepRecorded):
            self._attempt_sweeps += 1
        for subscriber in self.subscribers:
            if must_keep:
                subscriber(event)
            elif any(s is subscriber for s, _ in self._unrecorded):
                self._unrecorded.append((subscriber, event))  # keep its order
            else:
                try:
                    subscriber(event)
                except ev.RecordError:
                    # held until the step's commit, where the operator decides
                    self._recording_down = True
                    self._unrecorded.append((subscriber, event))

    def _commit(self, seq: int, step: Step, completed: ev.StepCompleted) -> None:
        """Hand a completed step to storage and the screens.

        If storage cannot keep it (disk full, read-only), the run waits with outputs off
        until the operator frees space and retries, or stops; the step and the events
        meanwhile are held in order and written on retry, so nothing is lost."""
        while True:
            try:
                while self._unrecorded:
                    subscriber, held = self._unrecorded[0]
                    subscriber(held)
                    self._unrecorded.pop(0)
                self._emit(completed, must_keep=True)
                self._recording_down = False
                return
            except ev.RecordError as exc:
                self.bench.all_outputs_off()
                self._recording_down = True
                if self._recording_given_up:
                    raise StepFailed(str(exc)) from None
                self._emit(ev.Notice(self.run_id, "error", f"{exc}: '{step.title}' is held "
                                     "in memory, not stored yet"))
                choice = self._ask(seq, Prompt(
                    id=f"{step.id}.storage", kind="choice", choices=("retry", "stop"),
                    default="stop",
                    text=f"The database cannot store '{step.title}' ({exc}). Free disk space "
                         "(or make the database writable) and retry, or stop: steps already "
                         "stored are kept and the run can be resumed later."),
                    cancellable=False)
                if choice != "retry":
                    self._recording_given_up = True
                    raise StepFailed(f"{exc} (stopped at '{step.title}'; stored steps are "
                                     "kept, resume the run once the database is writable)"
                                     ) from None

    def _ask(self, seq: int, prompt: Prompt, *, cancellable: bool = True) -> Any:
        if cancellable:
            self._check_cancel()
        try:
            value = self.prompter.ask(
                prompt, lambda: self._emit(ev.PromptRequested(self.run_id, seq, prompt)))
        except PromptInterrupted:
            if cancellable:
                self._check_cancel()  # raises for a request this point can act on
            return self._ask(seq, prompt, cancellable=cancellable)
        except PromptCancelled:
            if cancellable:
                raise RunCancelled() from None
            value = prompt.default
        self._emit(ev.PromptAnswered(self.run_id, seq, prompt.id, value, self.prompter.source))
        return value

    def _run_step(self, seq: int, step: Step, *, cancellable: bool = True) -> None:
        started = ev.utc_now()
        attempt = 1
        gated = self._safety_gate(seq, step, started)
        if gated is not None:
            self._commit(seq, step, gated)
            return
        while True:
            self._emit(ev.StepStarted(self.run_id, seq, step.id, step.kind, step.title,
                                      step.text, step.diagram, attempt))
            self._attempt_sweeps = 0
            try:
                self._in_step = cancellable
                try:
                    completed = self._dispatch(seq, step, started, cancellable)
                finally:
                    self._in_step = False
            except StepInterrupted as request:
                outcome = self._interrupted(seq, step, started, request)
                if outcome is None:
                    attempt += 1
                    continue
                completed = outcome
            except InstrumentError as exc:
                self.bench.all_outputs_off()
                self._emit(ev.Notice(self.run_id, "error", str(exc)))
                choice = self._ask(seq, Prompt(
                    id=f"{step.id}.fault", kind="choice",
                    text=f"Instrument fault in step '{step.title}': retry, skip or abort?",
                    choices=("retry", "skip", "abort"), default="abort"), cancellable=cancellable)
                if choice == "retry":
                    attempt += 1
                    continue
                if choice == "skip":
                    completed = ev.StepCompleted(
                        self.run_id, seq, step.id, step.kind, step.title, "skipped", started,
                        reason=f"skipped after instrument fault: {exc}")
                else:
                    self._emit(ev.StepCompleted(
                        self.run_id, seq, step.id, step.kind, step.title, "failed", started,
                        reason=str(exc)))
                    raise StepFailed(str(exc)) from None
            self._measurements.extend(completed.measurements)
            self._measured_by_step.extend((step.id, m) for m in completed.measurements)
            for m in completed.measurements:
                if m.value is not None:
                    self._measured[f"{step.id}.{m.name}"] = m.value
            self._commit(seq, step, completed)
            return

    def _interrupted(self, seq: int, step: Step, started: str,
                     request: StepInterrupted) -> ev.StepCompleted | None:
        """Act on pause, repeat or skip; None restarts the step from its beginning."""
        if request.action == "skip":
            return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, "skipped",
                                    started, reason=f"skipped by the operator: {request.reason}")
        if request.action == "repeat":
            self._emit(ev.Notice(self.run_id, "info", f"{step.title}: restarted from its "
                                 "beginning at the operator's request"))
            return None
        self.bench.all_outputs_off()  # nothing stimulates while the run waits
        self._emit(ev.RunPaused(self.run_id, seq, step.id, self._attempt_sweeps))
        kept = (f" The {self._attempt_sweeps} sweep(s) recorded in it so far are not kept."
                if self._attempt_sweeps else "")
        choice = self._ask(seq, Prompt(
            id=f"{step.id}.paused", kind="choice", choices=("resume", "skip", "stop"),
            text=f"Paused in '{step.title}'. resume restarts this step from its beginning "
                 f"(no instrument action runs until you choose it); skip or stop.{kept}"))
        with self._control_lock:
            self._control = None  # requests made while paused are answered by this choice
        if choice == "stop":
            self._stop.set()
            raise RunCancelled()
        if choice == "skip":
            why = ""
            while not why:  # a skip is recorded with its reason, never without one
                why = str(self._ask(seq, Prompt(id=f"{step.id}.skip_reason", kind="text",
                                                text=f"Why is '{step.title}' skipped?"))).strip()
            return self._interrupted(seq, step, started, StepInterrupted("skip", why))
        self._emit(ev.RunResumed(self.run_id, seq, step.id, self.prompter.source))
        return None

    # ---- safety -----------------------------------------------------------------------
    def _safety_gate(self, seq: int, step: Step, started: str) -> ev.StepCompleted | None:
        """The one place a step is checked against the checklist before it runs.

        Returns the skipped step when a gate holds; None lets the step run (warnings are
        announced, an override is audited)."""
        target = _target(step)
        if target is None:
            return None
        hits = decide(target, self._safety, self.safety_data)
        for hit in hits:
            if hit.action == "warn":
                self._emit(ev.Notice(self.run_id, "warning", f"{step.title}: {hit.reason}"))
        gates = [hit for hit in hits if hit.action == "gate"]
        if not gates:
            return None
        answer = self._ask(seq, override_prompt(step.id, step.title, gates))
        overridden, why = is_override(answer)
        if overridden:
            self._emit(ev.GateOverridden(self.run_id, seq, step.id,
                                         tuple(hit.rule_id for hit in gates), why,
                                         self.prompter.source))
            return None
        return ev.StepCompleted(
            self.run_id, seq, step.id, step.kind, step.title, "skipped", started,
            reason="contraindicated: " + "; ".join(hit.reason for hit in gates),
            result={"gated_by": [hit.rule_id for hit in gates]})

    def _checklist(self, seq: int, step: SafetyChecklistStep, started: str,
                   cancellable: bool) -> ev.StepCompleted:
        # The simulated bench knows the virtual subject's record; a real bench returns None
        # and the operator answers every item.
        known = self._read_subject()
        answers: dict[str, Any] = {}
        for item in self.safety_data.items:
            default = _subject_default(known, item.subject_field)
            answers[item.id] = self._ask(seq, item.prompt(default), cancellable=cancellable)
        self._safety = SafetyState(answers, str(answers.get("side", "")))
        return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, "done",
                                started, result={"answers": answers,
                                                 "checklist_version": self.safety_data.version})

    def _dispatch(self, seq: int, step: Step, started: str, cancellable: bool) -> ev.StepCompleted:
        if isinstance(step, SafetyChecklistStep):
            return self._checklist(seq, step, started, cancellable)
        if isinstance(step, StimulateStep):
            return self._stimulate(seq, step, started)
        if isinstance(step, SeriesStep):
            return run_series(self, seq, step, started)
        if isinstance(step, NeedleStep):
            return run_needle(self, seq, step, started)
        if isinstance(step, BenchCheckStep):
            return run_bench_check(self, seq, step, started)
        if isinstance(step, InputStep):
            return self._input(seq, step, started, cancellable)
        if isinstance(step, ComputeStep):
            return self._compute(seq, step, started)
        if isinstance(step, CompareStep):
            return self._compare(seq, step, started)
        assert isinstance(step, InstructionStep)
        done = self._ask(seq, Prompt(id=step.id, kind="confirm", text=step.title, default=True),
                         cancellable=cancellable)
        if not done:
            return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, "skipped",
                                    started, reason="operator answered no")
        return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, "done",
                                started, result={"confirmed": True})

    # ---- step kinds -------------------------------------------------------------------
    def _input(self, seq: int, step: InputStep, started: str,
               cancellable: bool) -> ev.StepCompleted:
        default = step.default
        if step.tape_measure is not None:
            tape = step.tape_measure
            try:
                measured = self.bench.measure_distance(tape.nerve, tape.from_site, tape.to_site)
            except InstrumentError as exc:  # a convenience default, not worth a fault prompt
                measured = None
                self._emit(ev.Notice(self.run_id, "warning",
                                     f"{step.title}: no tape-measure default ({exc})"))
            if measured is not None:
                default = round(float(measured), 1)
        value = self._ask(seq, Prompt(id=step.id, kind="number", text=step.title, unit=step.unit,
                                      minimum=step.minimum, maximum=step.maximum,
                                      default=default), cancellable=cancellable)
        self._values[step.id] = float(value)
        return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, "done", started,
                                result={"value": float(value), "unit": step.unit})

    def _stimulate(self, seq: int, step: StimulateStep, started: str) -> ev.StepCompleted:
        placed = self._ask(seq, Prompt(
            id=f"{step.id}.placed", kind="confirm",
            text=f"Stimulator at the {step.site}, recording from {step.recording}: ready?",
            default=True))
        if not placed:
            return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, "skipped",
                                    started, reason="operator did not confirm placement")
        self.bench.place_electrodes(nerve=step.nerve, stimulation_site=step.site,
                                    recording=step.recording)
        traces: list[ev.TraceRecord] = []
        result: dict[str, Any] = {}
        if step.supramaximal is not None:
            current, search_result = self._supramaximal(seq, step, traces)
            result.update(search_result)
        else:
            current = float(step.fixed_mA or 0.0)
        while True:
            final = self._record(seq, step, current, "final", traces)
            decision = self._ask(seq, Prompt(
                id=f"{step.id}.review", kind="review",
                text=f"{step.title}: accept this sweep or repeat it?",
                choices=("accept", "repeat"), default="accept"))
            if decision == "accept":
                traces.append(final)
                break
            traces.append(ev.TraceRecord("rejected", final.site, final.sweep, final.current_mA,
                                         final.pulse_width_ms, final.measures))
        final_index = len(traces) - 1
        searched = [t.measures.get("neg_amplitude") for t in traces if t.role == "search"]
        best = max((a for a in searched if a is not None and a == a), default=None)
        got = final.measures.get("neg_amplitude")
        if best and got is not None and got == got and got < 0.8 * best:
            self._emit(ev.Notice(self.run_id, "warning",
                                 f"{step.title}: the accepted response is smaller than the "
                                 "largest in the search; check the stimulator position"))
        measurements = self._response_measurements(step, final.measures, final_index)
        result["final_current_mA"] = current
        self._currents[step.id] = current
        return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, "done", started,
                                traces=tuple(traces), measurements=tuple(measurements),
                                result=result)

    def _supramaximal(self, seq: int, step: StimulateStep,
                      traces: list[ev.TraceRecord]) -> tuple[float, dict[str, Any]]:
        spec = step.supramaximal
        assert spec is not None
        ceiling = min(spec.max_mA, self.bench.profile.limits.max_current_mA)
        search = SupramaximalSearch(spec, ceiling)
        while (current := search.next_current()) is not None:
            trace = self._record(seq, step, current, "search")
            traces.append(trace)
            m = trace.measures
            responded = bool(m["neg_amplitude"] == m["neg_amplitude"]) and not (
                int(m["flags"]) & int(rustcore.FLAG_LOW_SNR))
            search.record(current, float(m["neg_amplitude"]) if responded else 0.0, responded)
        final = search.final_current()
        if not search.reached_plateau:
            self._emit(ev.Notice(self.run_id, "warning",
                                 f"{step.title}: the response still grew at {ceiling:g} mA; "
                                 "supramaximal stimulation is not confirmed"))
        return final, {
            "search": [{"current_mA": c, "neg_amplitude_mV": a * 1e3} for c, a in search.trials],
            "plateau_mA": search.plateau_mA,
            "supramaximal_confirmed": search.reached_plateau,
        }

    def _record(self, seq: int, step: StimulateStep, current_mA: float, role: str,
                keep: list[ev.TraceRecord] | None = None) -> ev.TraceRecord:
        """One response: a single sweep, or for `averages` > 1 the average of that many
        (the raw sweeps are kept in `keep` with role "raw")."""
        if role != "final" or step.averages <= 1:
            return self._sweep_once(seq, step, current_mA, role)
        raws = [self._sweep_once(seq, step, current_mA, "raw") for _ in range(step.averages)]
        if keep is not None:
            keep.extend(raws)
        first = raws[0].sweep
        stack = np.vstack([r.sweep.volts() for r in raws])
        averaged = rustcore.average_sweeps(stack, first.sample_rate, first.t0,
                                           reject_from=step.artefact_ms / 1e3)
        if averaged["n_accepted"] == 0:
            self._emit(ev.Notice(self.run_id, "warning", f"{step.title}: every sweep was "
                                 "rejected as artefact; the average is empty"))
        sweep = Sweep(averaged["mean"].astype(np.float32), 1.0, 0.0, first.sample_rate,
                      first.t0, first.stimulus)
        measures = self._measure(step, sweep)
        measures["averaged"] = int(averaged["n_accepted"])
        measures["rejected"] = int(averaged["n_rejected"])
        self._emit(ev.SweepRecorded(self.run_id, seq, step.id, role, step.site, sweep, measures,
                                    current_mA))
        return ev.TraceRecord(role, step.site, sweep, current_mA, step.pulse_width_ms, measures)

    def _sweep_once(self, seq: int, step: StimulateStep | SeriesStep, current_mA: float,
                    role: str) -> ev.TraceRecord:
        self._check_cancel()
        self._pace(step.rate_hz)
        settings = SweepSettings(window_ms=step.sweep.window_ms,
                                 pretrigger_ms=step.sweep.pretrigger_ms,
                                 sensitivity_mV_per_div=step.sweep.sensitivity_mV_per_div,
                                 points=step.sweep.points)
        sweep = self.bench.stimulate_and_record(current_mA, step.pulse_width_ms, settings)
        measures = self._measure(step, sweep)
        self._emit(ev.SweepRecorded(self.run_id, seq, step.id, role, step.site, sweep, measures,
                                    current_mA))
        return ev.TraceRecord(role, step.site, sweep, current_mA, step.pulse_width_ms, measures)

    def _measure(self, step: StimulateStep | SeriesStep, sweep: Sweep) -> dict[str, Any]:
        measures = dict(rustcore.measure_sweep(sweep.volts(), sweep.sample_rate, sweep.t0,
                                               search_start=step.artefact_ms / 1e3,
                                               min_snr=step.min_snr))
        if is_clipped(sweep, step.artefact_ms / 1e3):
            # the digitiser saturated: amplitudes, durations and areas would read low
            measures["clipped"] = True
            measures["acceptable"] = False
        return measures

    def _pace(self, rate_hz: float, pulses: int = 1) -> None:
        """Wait until the next stimulus is due at the protocol's rate, on the bench's clock.

        Due one period after the previous stimulus was scheduled, not after its sweep came
        back: waiting a period after the readout made a 1 Hz series run at ~1006 ms. Never
        sooner than the stimulator's rate limit after the pulse it last delivered (its own
        check, instruments/stimulator.py, reads the same clock; a pulse whose sweep then
        failed still counts). A schedule already past restarts from now: no catch-up burst.
        `pulses` > 1 is a train: the next stimulus follows its last pulse."""
        now = self.clock.now()
        due = now
        if self._scheduled_stimulus is not None:
            due = max(due, self._scheduled_stimulus + 1.0 / rate_hz)
        stimulator = getattr(self.bench, "stimulator", None)
        delivered = getattr(stimulator, "last_stimulus_at", None)
        limits = getattr(stimulator, "limits", None)
        if delivered is not None and limits is not None:  # 1 µs over: float rounding
            due = max(due, delivered + 1.0 / limits.max_rate_hz + 1e-6)
        if due > now:
            self.clock.sleep(due - now)
        self._scheduled_stimulus = due + (pulses - 1) / rate_hz

    def _response_measurements(self, step: StimulateStep, measures: dict[str, Any],
                               trace_index: int) -> list[ev.Measurement]:
        acceptable = bool(measures.get("acceptable", False))
        note = "" if acceptable else (
            "clipped: the response exceeds the sweep's range; lower the sensitivity"
            if measures.get("clipped") else
            f"waveform not acceptable (flags {int(measures['flags'])})")
        if not acceptable:
            self._emit(ev.Notice(self.run_id, "warning", f"{step.title}: {note}; not flagged"))
        result = []
        for key, name, unit, factor in RESPONSE_QUANTITIES[step.measure]:
            raw = measures.get(key)
            value = None if raw is None or raw != raw else round(float(raw) * factor, 4)
            entry = self.reference.find(nerve=step.nerve, recording=step.recording, quantity=name,
                                        site_role=step.role, distance_mm=step.distance_mm)
            result.append(flagged(name, value, unit, step.site, entry if acceptable else None,
                                  trace_index=trace_index, note=note))
        return result

    def _compute(self, seq: int, step: ComputeStep, started: str) -> ev.StepCompleted:
        unreliable = unreliable_inputs(self.protocol, [
            {**vars(m), "step_id": step_id} for step_id, m in self._measured_by_step])
        result = compute(step, self.protocol, self._measured, self._values, unreliable)
        nerve, recording = reference_keys(step, self.protocol)
        entry = self.reference.find(nerve=nerve, recording=recording, quantity=step.quantity,
                                    segment=step.segment)
        measurement = flagged(step.quantity, result.value, result.unit, step.segment, entry,
                              note=result.note)
        status: ev.StepStatus = "done" if result.value is not None else "failed"
        return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, status, started,
                                measurements=(measurement,), reason=result.note,
                                result=result.inputs)

    def _compare(self, seq: int, step: CompareStep, started: str) -> ev.StepCompleted:
        counts = {"normal": 0, "abnormal": 0, "unflagged": 0}
        abnormal = []
        for m in self._measurements:
            counts[m.outcome] += 1
            if m.outcome == "abnormal":
                abnormal.append(f"{m.site} {m.name} {m.value:g} {m.unit}")
        summary = (f"{counts['abnormal']} abnormal, {counts['normal']} normal, "
                   f"{counts['unflagged']} without a matching limit")
        self._emit(ev.Notice(self.run_id, "warning" if abnormal else "info",
                             f"{step.title}: {summary}"))
        return ev.StepCompleted(self.run_id, seq, step.id, step.kind, step.title, "done", started,
                                result={**counts, "abnormal_findings": abnormal,
                                        "reference_id": self.reference.id,
                                        "reference_version": self.reference.version})

    def _provenance(self) -> dict[str, Any]:
        return {
            "protocol_path": str(self.protocol.path),
            "protocol_version": self.protocol.version,
            "protocol_sha256": self.protocol.sha256,
            "protocol_text": self.protocol.text,
            "protocol_includes": dict(self.protocol.includes),
            "reference_id": self.reference.id,
            "reference_version": self.reference.version,
            "reference_sha256": self.reference.sha256,
            "software_version": SOFTWARE_VERSION,
            "rustcore_version": getattr(rustcore, "__version__", "?"),
            "python": platform.python_version(),
            "operator": self.operator,
            "subject_id": self.subject_id,
            "bench_profile": self.bench_profile,
            "instruments": self.bench.identities(),
            "instrument_settings": self.bench.settings_snapshot(),
            "bench_check": self.bench_check,
        }


def is_clipped(sweep: Sweep, after_s: float = 0.0) -> bool:
    """True when raw integer codes touch the digitiser's limits after the artefact."""
    codes = sweep.codes
    if not np.issubdtype(codes.dtype, np.integer):
        return False
    info = np.iinfo(codes.dtype)
    start = max(0, round((after_s - sweep.t0) * sweep.sample_rate))
    tail = codes[start:]
    return bool(tail.size) and bool((tail.max() >= info.max) or (tail.min() <= info.min))


def _target(step: Step) -> StepTarget | None:
    """What a step touches on the subject, or None for steps that touch nothing."""
    if isinstance(step, StimulateStep | SeriesStep):
        return StepTarget(kind="stimulate", site=step.site)
    if isinstance(step, NeedleStep):
        return StepTarget(kind="needle", muscle=step.muscle)
    return None


def _subject_default(known: dict[str, Any], field_name: str) -> Any:
    """A checklist default from the (virtual) subject's record; None asks the operator."""
    if not field_name:
        return None
    history = known.get("history", {}) or {}
    if field_name == "days_since_injury":
        injured = history.get("recent_injury_date")
        if not injured:
            return 0 if known else None
        try:
            return max(0, (date.today() - date.fromisoformat(str(injured))).days)
        except ValueError:
            return None
    value = history.get(field_name, known.get(field_name))
    if field_name == "lymphedema_limb" and known:
        return value or "none"
    if field_name == "skin_infection_sites" and known:
        return ", ".join(value or [])
    return value


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""
