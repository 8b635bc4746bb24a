"""The run recorder: a subscriber that writes engine events to SQLite as they happen.

Storage subscribes; the engine does not know it exists. A completed step, its traces and
its measurements go in one transaction committed before the engine moves on, so a crash
loses at most the step in progress. Every event also lands in the hash-chained audit log.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import sqlite_utils

from engine import events as ev
from storage.database import StorageError

GENESIS_HASH = "0" * 64


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error; errors become StorageError."""
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StorageError(f"database {_db_name(conn)}: cannot start a write: {exc}") from exc
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StorageError(f"database {_db_name(conn)}: write failed: {exc}") from exc
        raise


def _db_name(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return row[2] if row else "?"


def chain_hash(prev_hash: str, run_id: str, at: str, kind: str, payload_json: str) -> str:
    """The audit chain link: any edited, deleted or reordered event breaks it."""
    digest = hashlib.sha256()
    for part in (prev_hash, run_id, at, kind, payload_json):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def append_event(conn: sqlite3.Connection, run_id: str, at: str, kind: str,
                 payload: dict[str, Any]) -> None:
    """Append one audit event inside the caller's transaction."""
    payload_json = json.dumps(payload, sort_keys=True, default=_json_default)
    row = conn.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS_HASH
    conn.execute(
        "INSERT INTO events (run_id, at, kind, payload_json, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (run_id, at, kind, payload_json, prev, chain_hash(prev, run_id, at, kind, payload_json)),
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _clean_measures(measures: dict[str, Any]) -> dict[str, Any]:
    """rustcore output as plain JSON numbers (NaN becomes null)."""
    clean: dict[str, Any] = {}
    for key, value in measures.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and value != value:  # NaN
            value = None
        clean[key] = value
    return clean


def insert_interpretation(conn: sqlite3.Connection, run_id: str, at: str, source: str,
                          document: dict[str, Any]) -> None:
    """One interpretation row inside the caller's transaction; the newest is current."""
    where = document.get("localisation", {})
    conn.execute(
        "INSERT INTO interpretations (run_id, at, source, level, site, nature, impression, "
        "document_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, at, source, str(where.get("level", "none")), str(where.get("site", "")),
         str(document.get("nature", "")), str(document.get("impression", "")),
         json.dumps(document, sort_keys=True, default=_json_default)))


class RunRecorder:
    """Subscribe with `Run(subscribers=[RunRecorder(db)])`."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.SweepRecorded):
            return  # live display only; the step's traces are committed with the step
        with transaction(self.db) as conn:
            if isinstance(event, ev.RunStarted):
                self._run_started(conn, event)
            elif isinstance(event, ev.StepCompleted):
                self._step_completed(conn, event)
            elif isinstance(event, ev.Interpretation):
                insert_interpretation(conn, event.run_id, event.at, event.source,
                                      event.document)
            elif isinstance(event, ev.RunFinished):
                conn.execute(
                    "UPDATE runs SET status = ?, status_reason = ?, finished_at = ? WHERE id = ?",
                    (event.status, event.reason, event.at, event.run_id),
                )
            append_event(conn, event.run_id, event.at, type(event).__name__,
                         ev.audit_payload(event))

    def _run_started(self, conn: sqlite3.Connection, event: ev.RunStarted) -> None:
        owner = (str(event.owner.get("host", "")), int(event.owner.get("pid", 0)),
                 str(event.owner.get("token", "")))
        if event.resumed:
            updated = conn.execute(
                "UPDATE runs SET status = 'running', status_reason = '', finished_at = NULL, "
                "owner_host = ?, owner_pid = ?, owner_token = ? WHERE id = ?",
                (*owner, event.run_id)).rowcount
            if updated != 1:
                raise StorageError(f"cannot resume run {event.run_id}: not in this database")
            return
        prov = event.provenance
        conn.execute(
            "INSERT INTO runs (id, started_at, status, protocol_id, protocol_title, "
            "protocol_sha256, protocol_text, subject_id, operator, bench_profile, reference_id, "
            "reference_version, software_version, provenance_json) "
            "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.run_id, event.at, event.protocol_id, event.protocol_title,
                prov.get("protocol_sha256", ""), prov.get("protocol_text", ""),
                event.subject_id, prov.get("operator", ""), prov.get("bench_profile", ""),
                prov.get("reference_id", ""), prov.get("reference_version", ""),
                prov.get("software_version", ""),
                json.dumps({k: v for k, v in prov.items() if k != "protocol_text"},
                           sort_keys=True, default=_json_default),
            ),
        )
        conn.execute("UPDATE runs SET owner_host = ?, owner_pid = ?, owner_token = ? "
                     "WHERE id = ?", (*owner, event.run_id))

    def _step_completed(self, conn: sqlite3.Connection, event: ev.StepCompleted) -> None:
        cursor = conn.execute(
            "INSERT INTO steps (run_id, seq, step_id, kind, title, status, reason, started_at, "
            "finished_at, result_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, seq) DO UPDATE SET status = excluded.status, "
            "reason = excluded.reason, finished_at = excluded.finished_at, "
            "result_json = excluded.result_json RETURNING id",
            (
                event.run_id, event.seq, event.step_id, event.kind, event.title, event.status,
                event.reason, event.started_at, event.at,
                json.dumps(event.result, sort_keys=True, default=_json_default),
            ),
        )
        step_row = cursor.fetchone()[0]
        trace_ids: list[int] = []
        for idx, trace in enumerate(event.traces):
            sweep = trace.sweep
            codes = np.ascontiguousarray(sweep.codes)
            cursor = conn.execute(
                "INSERT INTO traces (run_id, step_row, idx, role, site, current_mA, "
                "pulse_width_ms, sample_rate, t0, dtype, scale, offset, n_samples, samples, "
                "measures_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.run_id, step_row, idx, trace.role, trace.site,
                    float(trace.current_mA), float(trace.pulse_width_ms),
                    float(sweep.sample_rate), float(sweep.t0), codes.dtype.str,
                    float(sweep.scale), float(sweep.offset), int(codes.size), codes.tobytes(),
                    json.dumps(_clean_measures(trace.measures), sort_keys=True),
                ),
            )
            trace_ids.append(int(cursor.lastrowid or 0))
        abnormal = 0
        for m in event.measurements:
            trace_id = trace_ids[m.trace_index] if m.trace_index is not None else None
            conn.execute(
                "INSERT INTO measurements (run_id, step_row, trace_id, name, site, value, unit, "
                "lower, upper, outcome, reference_id, citation, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.run_id, step_row, trace_id, m.name, m.site, m.value, m.unit,
                    m.lower, m.upper, m.outcome, m.reference_id, m.citation, m.note,
                ),
            )
            abnormal += m.outcome == "abnormal"
        if abnormal:
            conn.execute("UPDATE runs SET abnormal_count = abnormal_count + ? WHERE id = ?",
                         (abnormal, event.run_id))
