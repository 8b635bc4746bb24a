"""Fixtures for the instrument tests: the in-process sim bench and transcript servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from instruments.bench import Bench
from instruments.bench_config import BenchProfile, load_bench_config
from instruments.clock import FastClock
from instruments.sim import SimBench
from instruments.sim.transcript import Step, TranscriptServer


@pytest.fixture
def transcript() -> Iterator[Callable[[list[Step]], TranscriptServer]]:
    servers: list[TranscriptServer] = []

    def make(steps: list[Step]) -> TranscriptServer:
        server = TranscriptServer(steps)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def profile() -> BenchProfile:
    return load_bench_config()["sim"]


@pytest.fixture
def sim(profile: BenchProfile) -> Iterator[SimBench]:
    with SimBench(seed=7, settings=profile.sim_settings()) as bench:
        yield bench


@pytest.fixture
def clock() -> FastClock:
    return FastClock()


@pytest.fixture
def bench(sim: SimBench, profile: BenchProfile, clock: FastClock) -> Iterator[Bench]:
    b = Bench.connect(profile, sim.resources, clock, sim_seed=7)
    yield b
    b.close()
