"""The bench-check fixture seen from the drivers: wire it (sim) and read the test load.

On the simulated bench the subject link wires the fixture (`instruments/sim/fixture.py`)
as it places electrodes on a virtual subject. On a real bench the engineer wires it as the
protocol's instructions say, and `connect_fixture` does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from instruments.bench import Bench
from instruments.errors import SubjectError


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _send(bench: Bench, message: str, what: str) -> None:
    link = bench.subject_link
    if link is None:
        return
    link.t.write(message)
    found = link.errors()
    if found:
        raise SubjectError(link.t.role, link.t.resource, f"{what}: {found[0]}")


def connect_fixture(bench: Bench, mode: str, *params: float) -> None:
    """Sim: put the fixture in `mode` (load, delay, calibrator, shorted, dummy) with its
    nominal properties in the order instruments/sim/fixture.py lists them."""
    args = "".join(f",{value:.9g}" for value in params)
    _send(bench, f"FIXT:CONN {_quote(mode)}{args}", f"cannot connect the {mode} fixture")


def disconnect_fixture(bench: Bench) -> None:
    _send(bench, "FIXT:DISC", "cannot disconnect the fixture")


def miscalibrate(bench: Bench, name: str, value: float) -> None:
    """Sim only (tests): put one part of the simulated bench out of calibration."""
    _send(bench, f"FIXT:MISC {_quote(name)},{value:.9g}", f"cannot miscalibrate {name}")


@contextmanager
def probe_channel(bench: Bench, channel: int) -> Iterator[None]:
    """Capture from a scope probe on `channel` instead of the amplifier output.

    The test load is read directly (no amplifier gain to divide out), through the same
    stimulate-and-record path as any sweep."""
    saved = bench.profile
    bench.profile = replace(saved, scope_channel=channel, amplifier_gain=1.0)
    try:
        yield
    finally:
        bench.profile = saved
