"""Bench profiles (`data/bench.toml`): which instruments, their limits, the sim's settings.

Validation errors name the file and the dotted field, e.g.
``data/bench.toml: profiles.lab.limits.max_current_mA: must be a positive number``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from instruments.sim.signal_chain import SimSettings
from instruments.stimulator import StimulusLimits

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "data" / "bench.toml"
KINDS = ("sim", "visa")
SIM_PROTOCOLS = ("socket", "hislip")  # how the sim serves its instruments on loopback
SCOPE_DRIVERS = ("infiniivision", "ds1000z")  # scope families with a driver


class BenchConfigError(ValueError):
    """A bench profile is malformed."""


@dataclass(frozen=True)
class BenchProfile:
    name: str
    kind: str  # "sim" starts the simulated bench; "visa" opens the resources given
    description: str
    resources: dict[str, str]  # role -> VISA resource (visa profiles)
    limits: StimulusLimits
    stimulator_model: str
    mA_per_volt: float
    generator_channel: int
    scope_channel: int
    amplifier_gain: float
    trigger_level_v: float
    timeout_ms: int
    simulation: dict[str, float]
    path: Path
    sim_protocol: str = "socket"  # kind "sim": raw SCPI sockets or HiSLIP
    scope_driver: str = "infiniivision"  # which scope family (and, for "sim", which model)

    def sim_settings(self) -> SimSettings:
        """Sim bench settings: the profile's calibration and gain plus its [simulation]."""
        return SimSettings(
            amplifier_gain=self.amplifier_gain,
            stimulator_mA_per_volt=self.mA_per_volt,
            **self.simulation,  # type: ignore[arg-type]
        )


class _Fields:
    def __init__(self, path: Path, where: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise BenchConfigError(f"{path}: {where}: must be a table")
        self.path, self.where, self.data = path, where, data

    def fail(self, key: str, message: str) -> BenchConfigError:
        return BenchConfigError(f"{self.path}: {self.where}.{key}: {message}")

    def table(self, key: str, required: bool = True) -> _Fields:
        if key not in self.data and not required:
            return _Fields(self.path, f"{self.where}.{key}", {})
        if key not in self.data:
            raise self.fail(key, "missing table")
        return _Fields(self.path, f"{self.where}.{key}", self.data[key])

    def number(self, key: str, default: float | None = None) -> float:
        value = self.data.get(key, default)
        if value is None:
            raise self.fail(key, "missing")
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value > 0
        ):
            raise self.fail(key, f"must be a positive number, got {value!r}")
        return float(value)

    def word(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.text(key, default).lower()
        if value not in options:
            raise self.fail(key, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, "missing" if value is None else f"must be a string, got {value!r}")
        return value


def _profile(path: Path, name: str, data: Any) -> BenchProfile:
    p = _Fields(path, f"profiles.{name}", data)
    kind = p.text("kind", "sim" if name == "sim" else None)
    if kind not in KINDS:
        raise p.fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    res = p.table("resources", required=kind == "visa")
    resources = {role: res.text(role) for role in res.data}
    if kind == "visa":
        for role in ("generator", "scope"):
            res.text(role)
    lim = p.table("limits")
    limits = StimulusLimits(
        max_current_mA=lim.number("max_current_mA"),
        max_pulse_width_ms=lim.number("max_pulse_width_ms"),
        max_rate_hz=lim.number("max_rate_hz"),
        max_energy_mJ=lim.number("max_energy_mJ"),
        load_ohm=lim.number("load_ohm"),
    )
    stim = p.table("stimulator")
    amp = p.table("amplifier")
    scope = p.table("scope", required=False)
    sim = p.table("simulation", required=False)
    allowed = {f.name for f in fields(SimSettings)} - {"amplifier_gain", "stimulator_mA_per_volt"}
    simulation = {}
    for key in sim.data:
        if key not in allowed:
            raise sim.fail(key, f"unknown setting; known: {', '.join(sorted(allowed))}")
        simulation[key] = sim.number(key) if sim.data[key] != 0 else 0.0
    return BenchProfile(
        name=name,
        kind=kind,
        description=str(p.data.get("description", "")),
        resources=resources,
        limits=limits,
        stimulator_model=stim.text("model", "DS5"),
        mA_per_volt=stim.number("mA_per_volt"),
        generator_channel=int(stim.number("generator_channel", 1)),
        scope_channel=int(scope.number("channel", 1)),
        amplifier_gain=amp.number("gain"),
        trigger_level_v=scope.number("trigger_level_V", 1.0),
        timeout_ms=int(p.number("timeout_ms", 2000)),
        simulation=simulation,
        path=path,
        sim_protocol=p.word("sim_protocol", SIM_PROTOCOLS, "socket"),
        scope_driver=scope.word("driver", SCOPE_DRIVERS, "infiniivision"),
    )


def load_bench_config(path: Path | str | None = None) -> dict[str, BenchProfile]:
    """All profiles in the TOML file (default `data/bench.toml`), validated."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchConfigError(f"{path}: bench configuration not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchConfigError(f"{path}: not valid TOML: {exc}") from exc
    profiles = data.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        raise BenchConfigError(f"{path}: profiles: at least one [profiles.<name>] table needed")
    return {name: _profile(path, name, body) for name, body in profiles.items()}
