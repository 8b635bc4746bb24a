"""Numbered schema migrations keyed on `PRAGMA user_version`.

Each migration runs once, in order, inside one transaction with the version bump, so a
database is never left half-upgraded. Never edit a shipped migration: add the next one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: runs, steps, traces, measurements and the audit log.
    """
    CREATE TABLE runs (
        id               TEXT PRIMARY KEY,          -- UUID: runs merge across databases
        started_at       TEXT NOT NULL,
        finished_at      TEXT,
        status           TEXT NOT NULL,             -- running, completed, failed, stopped, ...
        status_reason    TEXT NOT NULL DEFAULT '',
        protocol_id      TEXT NOT NULL,
        protocol_title   TEXT NOT NULL,
        protocol_sha256  TEXT NOT NULL,
        protocol_text    TEXT NOT NULL,
        subject_id       TEXT NOT NULL,             -- pseudonymous, never a name
        operator         TEXT NOT NULL DEFAULT '',
        bench_profile    TEXT NOT NULL DEFAULT '',
        reference_id     TEXT NOT NULL DEFAULT '',
        reference_version TEXT NOT NULL DEFAULT '',
        software_version TEXT NOT NULL DEFAULT '',
        provenance_json  TEXT NOT NULL DEFAULT '{}',
        abnormal_count   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_started ON runs(started_at DESC);
    CREATE INDEX runs_subject ON runs(subject_id);
    CREATE INDEX runs_protocol ON runs(protocol_id);

    CREATE TABLE steps (
        id          INTEGER PRIMARY KEY,
        run_id      TEXT NOT NULL REFERENCES runs(id),
        seq         INTEGER NOT NULL,
        step_id     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        title       TEXT NOT NULL,
        status      TEXT NOT NULL,                  -- done|skipped|failed
        reason      TEXT NOT NULL DEFAULT '',
        started_at  TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        result_json TEXT NOT NULL DEFAULT '{}',
        UNIQUE (run_id, seq)
    );

    CREATE TABLE traces (
        id             INTEGER PRIMARY KEY,
        run_id         TEXT NOT NULL REFERENCES runs(id),
        step_row       INTEGER NOT NULL REFERENCES steps(id),
        idx            INTEGER NOT NULL,            -- order within the step
        role           TEXT NOT NULL,               -- search|final
        site           TEXT NOT NULL,
        current_mA     REAL NOT NULL,
        pulse_width_ms REAL NOT NULL,
        sample_rate    REAL NOT NULL,               -- Hz
        t0             REAL NOT NULL,               -- s, time of sample 0 from the stimulus
        dtype          TEXT NOT NULL,               -- NumPy dtype string of the raw codes
        scale          REAL NOT NULL,               -- volts at the electrodes per code
        offset         REAL NOT NULL,               -- volts at code 0
        n_samples      INTEGER NOT NULL,
        samples        BLOB NOT NULL,               -- raw codes as the digitiser sent them
        measures_json  TEXT NOT NULL DEFAULT '{}'   -- rustcore output, SI units
    );
    CREATE INDEX traces_step ON traces(step_row);

    CREATE TABLE measurements (
        id           INTEGER PRIMARY KEY,
        run_id       TEXT NOT NULL REFERENCES runs(id),
        step_row     INTEGER NOT NULL REFERENCES steps(id),
        trace_id     INTEGER REFERENCES traces(id),
        name         TEXT NOT NULL,
        site         TEXT NOT NULL DEFAULT '',
        value        REAL,
        unit         TEXT NOT NULL,
        lower        REAL,
        upper        REAL,
        outcome      TEXT NOT NULL,                 -- normal|abnormal|unflagged
        reference_id TEXT NOT NULL DEFAULT '',
        citation     TEXT NOT NULL DEFAULT '',
        note         TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX measurements_run ON measurements(run_id);

    CREATE TABLE events (
        id           INTEGER PRIMARY KEY,
        run_id       TEXT NOT NULL,
        at           TEXT NOT NULL,
        kind         TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        prev_hash    TEXT NOT NULL,                 -- hash chain: edits, deletions and
        hash         TEXT NOT NULL                  -- reorderings become detectable
    );
    CREATE INDEX events_run ON events(run_id);
    """,
    # 2: which process owns a running run, so a crashed run can be told from a live one.
    """
    ALTER TABLE runs ADD COLUMN owner_host TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN owner_token TEXT NOT NULL DEFAULT '';
    CREATE INDEX runs_status ON runs(status);
    """,
    # 3: the run list's order (newest first, id to break ties) without a temporary sort.
    """
    DROP INDEX runs_started;
    CREATE INDEX runs_started ON runs(started_at DESC, id);
    """,
    # 4: operator marker edits and the measurement revisions they caused (originals stay).
    """
    CREATE TABLE marker_edits (
        id          INTEGER PRIMARY KEY,
        run_id      TEXT NOT NULL REFERENCES runs(id),
        step_id     TEXT NOT NULL,
        trace_id    INTEGER NOT NULL REFERENCES traces(id),
        marker      TEXT NOT NULL,                  -- onset|peak
        old_s       REAL,                           -- s from the stimulus; NULL: none before
        new_s       REAL NOT NULL,
        automatic_s REAL,                           -- where rustcore placed it
        operator    TEXT NOT NULL,
        reason      TEXT NOT NULL,
        at          TEXT NOT NULL
    );
    CREATE INDEX marker_edits_trace ON marker_edits(trace_id, id);
    CREATE INDEX marker_edits_run ON marker_edits(run_id);

    CREATE TABLE measurement_revisions (
        id             INTEGER PRIMARY KEY,
        measurement_id INTEGER NOT NULL REFERENCES measurements(id),
        edit_id        INTEGER NOT NULL REFERENCES marker_edits(id),
        value          REAL,
        outcome        TEXT NOT NULL,
        note           TEXT NOT NULL DEFAULT '',
        at             TEXT NOT NULL
    );
    CREATE INDEX measurement_revisions_measurement ON measurement_revisions(measurement_id, id);
    """,
    # 5: interpretations of a run (criteria fired, localisation, impression); the newest
    # row is current, older ones stay when a run is re-interpreted.
    """
    CREATE TABLE interpretations (
        id            INTEGER PRIMARY KEY,
        run_id        TEXT NOT NULL REFERENCES runs(id),
        at            TEXT NOT NULL,
        source        TEXT NOT NULL,                -- run (engine at the end) | reinterpret
        level         TEXT NOT NULL,                -- localisation level, e.g. root, nerve, none
        site          TEXT NOT NULL DEFAULT '',
        nature        TEXT NOT NULL DEFAULT '',
        impression    TEXT NOT NULL,
        document_json TEXT NOT NULL                 -- edxbench.interpretation/1
    );
    CREATE INDEX interpretations_run ON interpretations(run_id, id);
    """,
    # 6: a run's trace list without touching the sample blobs (covering index): opening a
    # run read every trace row of the database before (no index on traces.run_id).
    """
    CREATE INDEX traces_run ON traces(run_id, step_row, idx, role, site, current_mA,
                                      pulse_width_ms, sample_rate, n_samples);
    """,
)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to the newest schema; return the version reached."""
    current = schema_version(conn)
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {current} is newer than this edxbench understands "
            f"({len(MIGRATIONS)}); upgrade edxbench"
        )
    for version in range(current + 1, len(MIGRATIONS) + 1):
        script = MIGRATIONS[version - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return schema_version(conn)


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
