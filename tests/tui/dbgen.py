"""A review database with many runs, written fast (executemany) for the benchmark and tests.

Rows follow the schema `storage.migrations` creates; the database itself is opened (and
migrated) through `storage.database.open_database`. Only the first `detailed` runs get
steps, traces and measurements, which is all a list and one opened run need.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PROTOCOLS = (("median-motor", "Median motor NCS (APB)"), ("ulnar-motor", "Ulnar motor NCS (ADM)"),
             ("fibular-motor", "Fibular motor NCS (EDB)"), ("median-f-waves", "Median F waves"))
STATUSES = ("completed",) * 14 + ("aborted", "interrupted", "failed", "stopped")
FS, T0, N = 20_000.0, -0.002, 1000


def cmap_codes(amplitude: float) -> np.ndarray:
    t = T0 + np.arange(N) / FS
    wave = np.where(t > 0.0035, -amplitude * np.sin(np.clip((t - 0.0035) / 0.004, 0, 2)
                                                     * np.pi / 2), 0.0)
    noise = np.random.default_rng(7).normal(0, 2e-5, N)
    return np.round((wave + noise) / 1e-6).astype("<i2")  # 1 µV per code


def generate(path: Path, runs: int = 100_000, detailed: int = 200) -> list[str]:
    """Write `runs` runs (newest first by id order) and return their ids."""
    from storage.database import open_database

    db = open_database(path)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")  # a throwaway benchmark file
    ids = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(runs)]
    rows = []
    for i, run_id in enumerate(ids):
        protocol_id, title = PROTOCOLS[i % len(PROTOCOLS)]
        day, minute = divmod(i, 24 * 60)
        started = (f"20{20 + day // 365 % 10:02d}-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}"
                   f"T{minute // 60:02d}:{minute % 60:02d}:00.000+00:00")
        rows.append((run_id, started, started, STATUSES[i % len(STATUSES)], "", protocol_id,
                     title, "0" * 64, "", f"S-{i % 5000:04d}", "sim", (i % 7 == 0 and 2) or 0))
    with conn:
        conn.executemany(
            "INSERT INTO runs (id, started_at, finished_at, status, status_reason, protocol_id, "
            "protocol_title, protocol_sha256, protocol_text, subject_id, bench_profile, "
            "abnormal_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        measures = json.dumps({"onset": 0.0035, "neg_peak_latency": 0.0075, "baseline": 0.0,
                               "neg_amplitude": 8e-3})
        samples = cmap_codes(8e-3).tobytes()
        for run_id in ids[-detailed:]:
            for seq, (step_id, kind) in enumerate((("checklist", "safety_checklist"),
                                                   ("wrist", "stimulate"),
                                                   ("elbow", "stimulate"),
                                                   ("velocity", "compute"))):
                step_row = conn.execute(
                    "INSERT INTO steps (run_id, seq, step_id, kind, title, status, started_at, "
                    "finished_at) VALUES (?, ?, ?, ?, ?, 'done', '', '') RETURNING id",
                    (run_id, seq, step_id, kind, step_id.title())).fetchone()[0]
                if kind != "stimulate":
                    continue
                conn.executemany(
                    "INSERT INTO traces (run_id, step_row, idx, role, site, current_mA, "
                    "pulse_width_ms, sample_rate, t0, dtype, scale, offset, n_samples, samples, "
                    "measures_json) VALUES (?, ?, ?, ?, ?, ?, 0.2, ?, ?, '<i2', 1e-6, 0, ?, ?, ?)",
                    [(run_id, step_row, idx, "final" if idx == 5 else "search", step_id,
                      5.0 * (idx + 1), FS, T0, N, samples, measures) for idx in range(6)])
                conn.executemany(
                    "INSERT INTO measurements (run_id, step_row, name, site, value, unit, "
                    "outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, step_row, name, step_id, value, unit, outcome)
                     for name, value, unit, outcome in (
                         ("onset_latency", 3.5, "ms", "normal"),
                         ("neg_amplitude", 3.1, "mV", "abnormal"),
                         ("neg_duration", 5.2, "ms", "normal"))])
    db.close()
    return ids
