"""Events the engine emits while a run proceeds.

Subscribers (storage, the terminal app, the headless printer) receive these on the
engine's thread. They are immutable so a subscriber can hand them to another thread
without copying, and plain data so they can later cross a socket to a re-attached UI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from engine.prompts import Prompt
    from instruments.sweep import Sweep

class RecordError(Exception):
    """A subscriber that keeps the record (storage) could not keep an event.

    Storage raises a subclass (disk full, read-only, locked). The engine then holds the
    run at the step's commit instead of losing or failing the study."""


RunStatus = Literal["running", "completed", "failed", "stopped", "aborted", "interrupted"]
StepStatus = Literal["done", "skipped", "failed"]
Outcome = Literal["normal", "abnormal", "unflagged"]


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds, the one time format stored everywhere."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class StepInfo:
    """What the step list shows before a step runs."""

    seq: int
    step_id: str
    kind: str
    title: str
    group: str = "main"


@dataclass(frozen=True)
class Measurement:
    """One measured or computed value in clinical units, with its reference verdict."""

    name: str  # e.g. "onset_latency", "neg_amplitude", "conduction_velocity"
    value: float | None
    unit: str  # ms, mV, m/s, mV·ms
    site: str = ""  # stimulation site or segment ("wrist", "forearm")
    lower: float | None = None
    upper: float | None = None
    outcome: Outcome = "unflagged"
    reference_id: str = ""  # reference entry that supplied the limits
    citation: str = ""
    trace_index: int | None = None  # index into StepCompleted.traces it was measured on
    note: str = ""


@dataclass(frozen=True)
class TraceRecord:
    """A sweep kept with the step: role says why it was recorded."""

    role: str  # "search" (supramaximal search), "final"
    site: str
    sweep: Sweep
    current_mA: float
    pulse_width_ms: float
    measures: dict[str, Any] = field(default_factory=dict)  # raw rustcore output (SI)


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    protocol_id: str
    protocol_title: str
    subject_id: str
    steps: tuple[StepInfo, ...]
    provenance: dict[str, Any]
    at: str = field(default_factory=utc_now)
    resumed: bool = False
    owner: dict[str, Any] = field(default_factory=dict)  # host, pid, token of the engine


@dataclass(frozen=True)
class StepStarted:
    run_id: str
    seq: int
    step_id: str
    kind: str
    title: str
    text: str = ""
    diagram: str = ""
    attempt: int = 1
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class PromptRequested:
    run_id: str
    seq: int
    prompt: Prompt
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class PromptAnswered:
    """Audited: which prompt, what answer, from where."""

    run_id: str
    seq: int
    prompt_id: str
    value: Any
    source: str  # "headless-default", "answers-file", "tui", ...
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class SweepRecorded:
    """A sweep just arrived: for live display, not yet committed."""

    run_id: str
    seq: int
    step_id: str
    role: str
    site: str
    sweep: Sweep
    measures: dict[str, Any]
    current_mA: float
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class StepCompleted:
    """A finished step with everything it produced; storage commits it at once."""

    run_id: str
    seq: int
    step_id: str
    kind: str
    title: str
    status: StepStatus
    started_at: str
    traces: tuple[TraceRecord, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    result: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class GateOverridden:
    """Audited: a contraindicated step was run on the operator's typed override."""

    run_id: str
    seq: int
    step_id: str
    rules: tuple[str, ...]
    reason: str
    source: str
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class Notice:
    """Something the operator should read: warnings, instrument faults."""

    run_id: str
    level: Literal["info", "warning", "error"]
    text: str
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class RunPaused:
    """The run waits at a step; resuming restarts the step after the operator confirms.

    `discarded` counts the sweeps of the interrupted attempt that will not be kept."""

    run_id: str
    seq: int
    step_id: str
    discarded: int = 0
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class RunResumed:
    """Audited: the operator confirmed restarting the paused step."""

    run_id: str
    seq: int
    step_id: str
    source: str
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class Interpretation:
    """The criteria that fired, localisation and impression, emitted before RunFinished."""

    run_id: str
    document: dict[str, Any]  # edxbench.interpretation/1 (engine/interpret)
    source: str = "run"  # run | reinterpret
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    status: RunStatus
    reason: str = ""
    at: str = field(default_factory=utc_now)


Event = (
    RunStarted
    | StepStarted
    | PromptRequested
    | PromptAnswered
    | SweepRecorded
    | StepCompleted
    | GateOverridden
    | Notice
    | RunPaused
    | RunResumed
    | Interpretation
    | RunFinished
)
Subscriber = Callable[[Event], None]


def audit_payload(event: Event) -> dict[str, Any]:
    """The event as JSON-able data for the audit log, without bulky sample arrays."""
    if isinstance(event, SweepRecorded):
        return {"step_id": event.step_id, "role": event.role, "site": event.site,
                "current_mA": event.current_mA}
    if isinstance(event, StepCompleted):
        return {
            "step_id": event.step_id,
            "status": event.status,
            "reason": event.reason,
            "traces": len(event.traces),
            "measurements": [asdict(m) for m in event.measurements],
            "result": event.result,
        }
    if isinstance(event, PromptRequested):
        return {"prompt": asdict(event.prompt)}
    data = asdict(event)
    data.pop("run_id", None)
    data.pop("at", None)
    return data
