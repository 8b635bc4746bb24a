"""Verifying the hash-chained audit log: any edited, deleted or reordered event shows."""

from __future__ import annotations

import sqlite_utils

from storage.recorder import GENESIS_HASH, chain_hash


def verify_chain(db: sqlite_utils.Database) -> list[str]:
    """Problems found, one line each (empty when the chain is intact)."""
    problems: list[str] = []
    prev = GENESIS_HASH
    cursor = db.execute("SELECT id, run_id, at, kind, payload_json, prev_hash, hash "
                        "FROM events ORDER BY id")
    for event_id, run_id, at, kind, payload, prev_hash, stored in cursor:
        if prev_hash != prev:
            problems.append(f"event {event_id}: does not follow the previous event "
                            "(an event was deleted, inserted or reordered)")
        if chain_hash(prev_hash, run_id, at, kind, payload) != stored:
            problems.append(f"event {event_id}: content does not match its hash (edited)")
        prev = stored
    return problems


def event_count(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
