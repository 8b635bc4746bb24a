"""`python -m instruments.sim`: serve the simulated bench until stdin closes or a signal.

Prints one JSON line mapping role → VISA resource, which `open_bench` reads.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from instruments.sim.bench import SimBench

if TYPE_CHECKING:
    from instruments.bench_config import BenchProfile


def _profile(config: Path | None, profile: str) -> BenchProfile:
    from instruments.bench_config import load_bench_config

    profiles = load_bench_config(config)
    if profile not in profiles:
        raise SystemExit(f"no bench profile {profile!r}; available: {', '.join(profiles)}")
    return profiles[profile]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instruments.sim", description=__doc__)
    parser.add_argument("--port", type=int, default=0,
                        help="first port (generator; scope and subject follow); 0 = ephemeral")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subjects", type=Path, default=None, help="subject directory")
    parser.add_argument("--config", type=Path, default=None, help="bench TOML file")
    parser.add_argument("--profile", default="sim", help="bench profile with sim settings")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="play pulse trains this many times faster than real time (tests)")
    args = parser.parse_args(argv)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read1(4096):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    profile = _profile(args.config, args.profile)
    bench = SimBench(args.seed, args.subjects, profile.sim_settings(), args.port,
                     time_scale=args.time_scale, protocol=profile.sim_protocol,
                     scope_model=profile.scope_driver)
    with bench:
        print(json.dumps(bench.resources), flush=True)
        threading.Thread(target=watch_stdin, daemon=True).start()
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
