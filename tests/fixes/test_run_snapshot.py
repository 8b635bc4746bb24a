"""`get_run` reads a run as one snapshot while the run writes.

A reader's statements are interleaved with a real commit on another connection: the
step commits right after the read has listed the steps. Without one read transaction the
later SELECTs saw that step's traces and measurements (a torn read); with it they do not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from engine import events as ev
from instruments.sweep import StimulusInfo, Sweep
from storage.database import open_database
from storage.queries import get_run
from storage.recorder import RunRecorder


def stimulate_step(seq: int) -> ev.StepCompleted:
    sweep = Sweep(np.arange(64, dtype="<i2"), 1e-6, 0.0, 20_000.0, -0.002,
                  StimulusInfo(20.0, 0.2))
    trace = ev.TraceRecord("final", f"site{seq}", sweep, 20.0, 0.2, {"onset": 0.003})
    return ev.StepCompleted("run-1", seq, f"site{seq}", "stimulate", f"Site {seq}", "done",
                            ev.utc_now(), traces=(trace,),
                            measurements=(ev.Measurement("onset_latency", 3.0 + seq, "ms",
                                                         f"site{seq}", trace_index=0),))


def test_a_step_committed_during_the_read_is_wholly_absent(tmp_path: Path) -> None:
    db_path = tmp_path / "runs.sqlite"
    writer = open_database(db_path)
    record = RunRecorder(writer)
    record(ev.RunStarted("run-1", "median-motor", "Median", "S-0001", (), {}))
    record(stimulate_step(0))

    reader = open_database(db_path, readonly=True)
    plain_execute = reader.execute
    committed: list[int] = []

    def execute(sql: str, parameters: Any = None) -> Any:
        cursor = plain_execute(sql, parameters)
        if "FROM steps WHERE" in sql and not committed:
            record(stimulate_step(1))  # the engine commits the next step now
            committed.append(1)
        return cursor

    reader.execute = execute  # type: ignore[method-assign]
    run = get_run(reader, "run-1")
    assert committed, "the interleaved commit did not happen"
    listed = {s["step_id"] for s in run["steps"]}
    assert listed == {"site0"}
    assert {t["step_id"] for t in run["traces"]} == listed
    assert {m["step_id"] for m in run["measurements"]} == listed
    assert not reader.conn.in_transaction  # the snapshot ended with the read
    # a later read sees the whole new step
    again = get_run(reader, "run-1")
    assert {t["step_id"] for t in again["traces"]} == {"site0", "site1"}
    assert {m["step_id"] for m in again["measurements"]} == {"site0", "site1"}
