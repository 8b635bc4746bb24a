"""Real-time pacing of a stimulation series on the simulated bench: does it stutter?

Runs the median F-wave protocol (supramaximal search, then 20 stimuli at 1 Hz) through
the real engine on `open_bench("sim")` in real time (RealClock, no fast mode), with the
run recorder writing to a temporary SQLite file as in the app, and times the arrival of
every series sweep (the engine's SweepRecorded event, what the app's live view receives).
Prints the arrival intervals against the protocol's period: p50 / p95 / max of the
deviation, and the largest gap.

    .venv/bin/python benchmarks/realtime_jitter.py [--protocol protocols/median_f_waves.yaml]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edxbench.session import open_session  # noqa: E402
from engine import events as ev  # noqa: E402
from engine.prompts import HeadlessPrompter  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", type=Path, default=ROOT / "protocols" / "median_f_waves.yaml")
    parser.add_argument("--subject", default="normal-adult")
    args = parser.parse_args(argv)

    arrivals: list[float] = []
    rate: list[float] = []

    def timing(event: ev.Event) -> None:
        if isinstance(event, ev.SweepRecorded) and event.role == "series":
            arrivals.append(time.monotonic())

    with tempfile.TemporaryDirectory() as tmp:
        session = open_session(args.protocol, args.subject, db_path=Path(tmp) / "jitter.db",
                               prompter=HeadlessPrompter({}), subscribers=[timing])
        try:
            for step in session.protocol.steps:
                if getattr(step, "kind", "") == "series":
                    rate.append(float(step.rate_hz))
            started = time.monotonic()
            result = session.run.execute()
            elapsed = time.monotonic() - started
        finally:
            session.close()
    if len(arrivals) < 3 or not rate:
        print(f"only {len(arrivals)} series sweeps arrived (run {result.status})")
        return 1
    period = 1.0 / rate[0]
    intervals = np.diff(arrivals)
    deviation = np.abs(intervals - period) * 1e3
    print(f"run {result.status} in {elapsed:.1f} s real time; {len(arrivals)} series sweeps "
          f"at {rate[0]:g} Hz (period {period * 1e3:.0f} ms)")
    print(f"interval ms: min {intervals.min() * 1e3:.1f}  p50 {np.median(intervals) * 1e3:.1f}"
          f"  max {intervals.max() * 1e3:.1f}")
    print(f"|interval − period| ms: p50 {np.percentile(deviation, 50):.1f}  "
          f"p95 {np.percentile(deviation, 95):.1f}  max {deviation.max():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
