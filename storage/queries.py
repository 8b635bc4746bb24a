"""Reading runs back: lists paged by key, one run in full, one trace's samples.

The review screen and `edxbench runs` share these, so both see the same rows.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import sqlite_utils

RUN_LIST_COLUMNS = (
    "id, started_at, finished_at, status, status_reason, protocol_id, protocol_title, "
    "subject_id, abnormal_count"
)


@dataclass(frozen=True)
class StoredTrace:
    """A trace as stored: raw codes plus the scaling that turns them into volts."""

    id: int
    step_id: str
    role: str
    site: str
    current_mA: float
    pulse_width_ms: float
    sample_rate: float
    t0: float
    scale: float
    offset: float
    codes: np.ndarray
    measures: dict[str, Any] = field(default_factory=dict)

    def volts(self) -> np.ndarray:
        return self.codes.astype(np.float64) * self.scale + self.offset


def list_runs(db: sqlite_utils.Database, *, limit: int = 200, offset: int = 0,
              search: str | None = None, status: str | None = None,
              protocol_id: str | None = None, subject_id: str | None = None,
              abnormal_only: bool = False, since: date | None = None,
              until: date | None = None) -> list[dict[str, Any]]:
    """Newest first; `search` matches protocol, subject or run id; the others filter.

    `since` and `until` are whole days (inclusive) of the stored UTC start time, the
    time the lists show."""
    where: list[str] = []
    params: list[Any] = []
    if search:
        where.append("(protocol_id LIKE ? OR protocol_title LIKE ? OR subject_id LIKE ? "
                     "OR id LIKE ?)")
        like = f"%{search}%"
        params += [like, like, like, like]
    for column, value in (("status", status), ("protocol_id", protocol_id),
                          ("subject_id", subject_id)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if abnormal_only:
        where.append("abnormal_count > 0")
    if since is not None:
        where.append("started_at >= ?")
        params.append(since.isoformat())
    if until is not None:
        where.append("started_at < ?")
        params.append((until + timedelta(days=1)).isoformat())
    sql = f"SELECT {RUN_LIST_COLUMNS} FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY started_at DESC, id LIMIT ? OFFSET ?"
    params += [int(limit), int(offset)]
    return [dict(row) for row in _rows(db, sql, params)]


def count_runs(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])


def find_run_id(db: sqlite_utils.Database, prefix: str) -> str | None:
    """Resolve a run id or a unique prefix of one (people type the first 8 characters)."""
    rows = db.execute("SELECT id FROM runs WHERE id LIKE ? LIMIT 2",
                      (prefix.replace("%", "") + "%",)).fetchall()
    return rows[0][0] if len(rows) == 1 else None


@contextlib.contextmanager
def read_snapshot(db: sqlite_utils.Database) -> Iterator[None]:
    """One read transaction around several SELECTs: under WAL it sees a single snapshot,
    so a step committed meanwhile is either wholly in the rows read or wholly absent.
    Inside a transaction already, that transaction is the snapshot."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:  # an error may have ended it already
            conn.execute("COMMIT")  # it wrote nothing


def get_run(db: sqlite_utils.Database, run_id: str) -> dict[str, Any] | None:
    """A run with its steps, measurements, marker edits and traces, read as one snapshot
    (the run may be writing: a review screen reads while the engine commits steps)."""
    with read_snapshot(db):
        return _get_run(db, run_id)


def _get_run(db: sqlite_utils.Database, run_id: str) -> dict[str, Any] | None:
    rows = _rows(db, "SELECT * FROM runs WHERE id = ?", [run_id])
    if not rows:
        return None
    run = dict(rows[0])
    run["provenance"] = json.loads(run.pop("provenance_json") or "{}")
    run["steps"] = [
        _with_result(row)
        for row in _rows(db, "SELECT id, seq, step_id, kind, title, status, reason, started_at, "
                             "finished_at, result_json FROM steps WHERE run_id = ? ORDER BY seq",
                         [run_id])
    ]
    run["measurements"] = measurements_with_revisions(db, run_id)
    run["marker_edits"] = marker_edits(db, run_id)
    run["traces"] = _rows(
        db,
        "SELECT t.id, s.step_id, t.idx, t.role, t.site, t.current_mA, t.pulse_width_ms, "
        "t.sample_rate, t.n_samples FROM traces t JOIN steps s ON s.id = t.step_row "
        "WHERE t.run_id = ? ORDER BY s.seq, t.idx",
        [run_id],
    )
    return run


def measurements_with_revisions(db: sqlite_utils.Database, run_id: str,
                                trace_id: int | None = None) -> list[dict[str, Any]]:
    """A run's measurements with the newest marker-edit revision in `value` and `outcome`.

    What screens and reports show: `revised` says a revision applies, `original_value` and
    `original_outcome` keep what the engine measured (that row is never changed)."""
    sql = (
        "SELECT m.id, s.step_id, m.trace_id, m.name, m.site, "
        "CASE WHEN r.id IS NULL THEN m.value ELSE r.value END AS value, m.unit, m.lower, "
        "m.upper, CASE WHEN r.id IS NULL THEN m.outcome ELSE r.outcome END AS outcome, "
        "m.reference_id, m.citation, m.note, m.value AS original_value, "
        "m.outcome AS original_outcome, r.id IS NOT NULL AS revised, r.id AS revision_id, "
        "r.at AS revised_at, r.note AS revision_note FROM measurements m "
        "JOIN steps s ON s.id = m.step_row "
        "LEFT JOIN measurement_revisions r ON r.id = (SELECT max(id) FROM "
        "measurement_revisions WHERE measurement_id = m.id) WHERE m.run_id = ?")
    params: list[Any] = [run_id]
    if trace_id is not None:
        sql += " AND m.trace_id = ?"
        params.append(int(trace_id))
    rows = _rows(db, sql + " ORDER BY s.seq, m.id", params)
    for row in rows:
        row["revised"] = bool(row["revised"])
    return rows


def marker_edits(db: sqlite_utils.Database, run_id: str) -> list[dict[str, Any]]:
    """Every stored marker edit of a run, oldest first (the last per marker is current)."""
    return _rows(db, "SELECT id, step_id, trace_id, marker, old_s, new_s, automatic_s, "
                     "operator, reason, at FROM marker_edits WHERE run_id = ? ORDER BY id",
                 [run_id])


@dataclass(frozen=True)
class MeasurementRevision:
    """A re-measured value for one stored measurement (see engine.remeasure)."""

    measurement_id: int
    value: float | None
    outcome: str
    note: str = ""


def record_marker_edit(db: sqlite_utils.Database, *, run_id: str, trace_id: int, marker: str,
                       old_s: float | None, new_s: float, automatic_s: float | None,
                       operator: str, reason: str, at: str,
                       revisions: list[MeasurementRevision]) -> int:
    """Store one marker edit, its revisions and its audit event in one transaction.

    The run's abnormal count follows the revised outcomes so the list's filter stays true;
    the original measurement rows are left as the engine wrote them."""
    from storage.recorder import append_event, transaction

    if marker not in ("onset", "peak"):
        raise ValueError(f"marker: unknown marker {marker!r} (onset or peak)")
    if not reason.strip():
        raise ValueError("reason: a marker edit needs a reason")
    with transaction(db) as conn:
        row = conn.execute("SELECT s.step_id FROM traces t JOIN steps s ON s.id = t.step_row "
                           "WHERE t.id = ? AND t.run_id = ?", (trace_id, run_id)).fetchone()
        if row is None:
            raise ValueError(f"trace {trace_id} is not a trace of run {run_id}")
        step_id = row[0]
        edit_id = int(conn.execute(
            "INSERT INTO marker_edits (run_id, step_id, trace_id, marker, old_s, new_s, "
            "automatic_s, operator, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, step_id, trace_id, marker, old_s, new_s, automatic_s, operator,
             reason.strip(), at)).lastrowid or 0)
        current = {r["id"]: r for r in measurements_with_revisions(db, run_id)}
        abnormal_delta = 0
        for rev in revisions:
            before = current.get(rev.measurement_id)
            if before is None:
                raise ValueError(f"measurement {rev.measurement_id} is not of run {run_id}")
            conn.execute("INSERT INTO measurement_revisions (measurement_id, edit_id, value, "
                         "outcome, note, at) VALUES (?, ?, ?, ?, ?, ?)",
                         (rev.measurement_id, edit_id, rev.value, rev.outcome, rev.note, at))
            abnormal_delta += (rev.outcome == "abnormal") - (before["outcome"] == "abnormal")
        if abnormal_delta:
            conn.execute("UPDATE runs SET abnormal_count = max(0, abnormal_count + ?) "
                         "WHERE id = ?", (abnormal_delta, run_id))
        append_event(conn, run_id, at, "MarkerEdited", {
            "edit_id": edit_id, "step_id": step_id, "trace_id": trace_id, "marker": marker,
            "old_s": old_s, "new_s": new_s, "automatic_s": automatic_s, "operator": operator,
            "reason": reason.strip(),
            "revisions": [{"measurement_id": r.measurement_id, "value": r.value,
                           "outcome": r.outcome} for r in revisions]})
    return edit_id


def _with_result(row: dict[str, Any]) -> dict[str, Any]:
    row["result"] = json.loads(row.pop("result_json") or "{}")
    return row


def run_notices(db: sqlite_utils.Database, run_id: str) -> list[dict[str, Any]]:
    """The warnings and errors the operator saw during a run, oldest first."""
    return [{"at": row["at"], **json.loads(row["payload_json"])}
            for row in _rows(db, "SELECT at, payload_json FROM events WHERE run_id = ? AND "
                                 "kind = 'Notice' ORDER BY id", [run_id])]


def load_trace(db: sqlite_utils.Database, trace_id: int) -> StoredTrace | None:
    rows = _rows(
        db,
        "SELECT t.*, s.step_id FROM traces t JOIN steps s ON s.id = t.step_row WHERE t.id = ?",
        [trace_id],
    )
    if not rows:
        return None
    row = rows[0]
    codes = np.frombuffer(row["samples"], dtype=np.dtype(row["dtype"]))
    return StoredTrace(
        id=row["id"], step_id=row["step_id"], role=row["role"], site=row["site"],
        current_mA=row["current_mA"], pulse_width_ms=row["pulse_width_ms"],
        sample_rate=row["sample_rate"], t0=row["t0"], scale=row["scale"],
        offset=row["offset"], codes=codes, measures=json.loads(row["measures_json"] or "{}"),
    )


def completed_steps(db: sqlite_utils.Database, run_id: str) -> list[dict[str, Any]]:
    """Steps already committed for a run (what a resumed run must not repeat)."""
    return _rows(db, "SELECT seq, step_id, status FROM steps WHERE run_id = ? ORDER BY seq",
                 [run_id])


def _rows(db: sqlite_utils.Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def running_runs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Runs marked running, with their owner: live, or left behind by a crash."""
    return _rows(db, "SELECT id, protocol_id, subject_id, started_at, owner_host, owner_pid, "
                     "owner_token FROM runs WHERE status = 'running' ORDER BY started_at", [])


def mark_interrupted(db: sqlite_utils.Database, run_id: str, reason: str) -> bool:
    """Record that a run's engine died; returns False if someone else already did."""
    from engine.events import utc_now
    from storage.recorder import append_event, transaction

    with transaction(db) as conn:
        changed = conn.execute("UPDATE runs SET status = 'interrupted', status_reason = ? "
                               "WHERE id = ? AND status = 'running'", (reason, run_id)).rowcount
        if changed:
            append_event(conn, run_id, utc_now(), "RunInterrupted", {"reason": reason})
    return bool(changed)


BENCH_PROTOCOL_PREFIX = "bench-"  # protocol ids of bench validation runs (protocols/bench/)


def latest_bench_check(db: sqlite_utils.Database, bench_profile: str) -> dict[str, Any] | None:
    """The newest bench validation run of a bench profile that is not still running, as
    `bench_check_summary` gives it; None when the bench was never checked."""
    row = db.execute("SELECT id FROM runs WHERE bench_profile = ? AND protocol_id LIKE ? "
                     "AND status != 'running' ORDER BY started_at DESC, id DESC LIMIT 1",
                     (bench_profile, BENCH_PROTOCOL_PREFIX + "%")).fetchone()
    return bench_check_summary(db, row[0]) if row else None


def bench_check_summary(db: sqlite_utils.Database, run_id: str) -> dict[str, Any] | None:
    """One bench check run: run id, times, status, outcome and per-check results.

    Outcome: "pass" when the run completed and every check passed, "fail" when any check
    failed, else "incomplete" (a check skipped or not reached, or the run did not finish).
    Each check has its step id, title, check kind, outcome (pass, fail, skipped, failed)
    and measurements with their tolerance limits."""
    runs = _rows(db, "SELECT id AS run_id, protocol_id, protocol_title, bench_profile, "
                     "started_at, finished_at, status, status_reason FROM runs WHERE id = ?",
                 [run_id])
    if not runs:
        return None
    steps = _rows(db, "SELECT id, step_id, title, status, reason, result_json FROM steps "
                      "WHERE run_id = ? AND kind = 'bench_check' ORDER BY seq", [run_id])
    measured = _rows(db, "SELECT step_row, name, value, unit, lower, upper, outcome, "
                         "reference_id, note FROM measurements WHERE run_id = ? ORDER BY id",
                     [run_id])
    checks = []
    for step in steps:
        result = json.loads(step.pop("result_json") or "{}")
        row_id = step.pop("id")
        checks.append({
            **step, "check": result.get("check", ""),
            "outcome": result.get("outcome", "") if step["status"] == "done" else step["status"],
            "measurements": [{k: v for k, v in m.items() if k != "step_row"}
                             for m in measured if m["step_row"] == row_id],
        })
    outcomes = [c["outcome"] for c in checks]
    if "fail" in outcomes:
        outcome = "fail"
    elif runs[0]["status"] == "completed" and outcomes and set(outcomes) == {"pass"}:
        outcome = "pass"
    else:
        outcome = "incomplete"
    return {**runs[0], "outcome": outcome, "checks": checks}


def get_interpretation(db: sqlite_utils.Database, run_id: str) -> dict[str, Any] | None:
    """The current (newest) interpretation of a run: the edxbench.interpretation/1 document
    with `at` and `source` added, or None if the run was never interpreted."""
    rows = _rows(db, "SELECT at, source, document_json FROM interpretations WHERE run_id = ? "
                     "ORDER BY id DESC LIMIT 1", [run_id])
    if not rows:
        return None
    return {**json.loads(rows[0]["document_json"]), "at": rows[0]["at"],
            "source": rows[0]["source"]}

