"""Soak: one bench session runs studies back to back for a lab day in fast time.

The simulated bench (over sockets) and one database stay open, as on a lab machine left
running; motor and sensory studies follow each other until the bench clock has counted
the day (8 h in full mode: every stimulus paced at its protocol's rate, and the minutes
an operator needs between studies to swap electrodes and patients). The resident memory
of the process must stay flat after warm-up, and the database must grow only with what
is stored: bytes per stored sample, chunk by chunk, stay the same.
"""

from __future__ import annotations

import itertools
import sqlite3
import statistics
from pathlib import Path

from engine.prompts import HeadlessPrompter
from engine.protocol import load_protocol
from engine.reference import load_references
from engine.runner import Run
from instruments.bench import Bench
from instruments.bench_config import load_bench_config
from instruments.clock import FastClock
from instruments.sim import SimBench
from storage.database import open_database
from storage.recorder import RunRecorder
from tests.conftest import ROOT
from tests.reliability.figures import count, report

PROTOCOLS = ("median_motor.yaml", "ulnar_motor.yaml", "median_sensory.yaml")
BETWEEN_STUDIES_S = 300.0  # electrodes off, next patient or nerve prepared
MB = 1024 * 1024


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def stored(db_path: Path) -> tuple[int, int]:
    """(file bytes after a checkpoint, samples stored)."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        samples = conn.execute("SELECT coalesce(sum(n_samples), 0) FROM traces").fetchone()[0]
    finally:
        conn.close()
    return db_path.stat().st_size, int(samples)


def test_a_lab_day_back_to_back(tmp_path: Path) -> None:
    day_s = count(3 * 3600, 8 * 3600)
    profile = load_bench_config()["sim"]
    protocols = [load_protocol(ROOT / "protocols" / name) for name in PROTOCOLS]
    db_path = tmp_path / "day.sqlite"
    clock = FastClock()
    points: list[tuple[int, int, int, int]] = []  # (runs, rss, bytes, samples)
    statuses: dict[str, int] = {}
    with SimBench(seed=9, settings=profile.sim_settings()) as sim:
        bench = Bench.connect(profile, sim.resources, clock, sim_seed=9)
        db = open_database(db_path)
        try:
            bench.connect_subject("normal-adult")
            n = 0
            while clock.now() < day_s:
                protocol = protocols[n % len(protocols)]
                result = Run(protocol, subject_id="normal-adult", bench=bench,
                             prompter=HeadlessPrompter(), subscribers=[RunRecorder(db)],
                             reference=load_references(protocol.references),
                             operator="op-1").execute()
                statuses[result.status] = statuses.get(result.status, 0) + 1
                n += 1
                clock.advance(BETWEEN_STUDIES_S)
                if n % 2 == 0:
                    points.append((n, rss_bytes(), *stored(db_path)))
        finally:
            bench.close()
            db.conn.close()
    assert statuses == {"completed": n}, statuses
    # RSS swings by ~25 MB with the allocator's arenas and SQLite's page cache: compare
    # medians of the second and last thirds (after warm-up), and fit a slope per study
    third = len(points) // 3
    middle = statistics.median(p[1] for p in points[third:2 * third])
    end = statistics.median(p[1] for p in points[2 * third:])
    after = points[third:]
    slope = statistics.linear_regression([p[0] for p in after], [p[1] for p in after]).slope
    rates = [(b1 - b0) / (s1 - s0) for (_, _, b0, s0), (_, _, b1, s1)
             in itertools.pairwise(points) if s1 > s0]
    early, late = statistics.mean(rates[:3]), statistics.mean(rates[-3:])
    last = points[-1]
    report("5 soak", f"{n} studies back to back over {clock.now() / 3600:.1f} h of bench "
           f"time ({BETWEEN_STUDIES_S / 60:g} min between studies): RSS median "
           f"{middle / MB:.1f} MB (middle third) → {end / MB:.1f} MB (last third), growth "
           f"{(end - middle) / MB:+.2f} MB, trend {slope / 1024:+.1f} kB per study; database "
           f"{last[2] / MB:.2f} MB for {last[3]} samples, bytes per stored sample "
           f"{early:.2f} in the first chunks, {late:.2f} in the last")
    assert end - middle < 20 * MB and slope < 200 * 1024
    assert abs(late - early) / early < 0.25, (early, late)
