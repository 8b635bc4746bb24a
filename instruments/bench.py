"""The bench the engine talks to: open a profile, stimulate, record one sweep.

`open_bench("sim")` starts the simulated bench as a child process and connects to it
over loopback exactly as to real instruments; a "visa" profile connects to the
resources it names. Either way the engine sees the same `Bench`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from instruments.bench_config import BenchConfigError, BenchProfile, load_bench_config
from instruments.clock import Clock, RealClock
from instruments.errors import InstrumentConnectionError, StimulusLimitError
from instruments.generator_33500 import Generator33500
from instruments.scope_ds1000z import RigolDS1000ZScope, RigolPreamble
from instruments.scope_infiniivision import Acquisition, InfiniiVisionScope, Preamble
from instruments.sim.subject_spec import available_subjects as _available_subjects
from instruments.stimulator import ConstantCurrentStimulator, StimulusLimits
from instruments.subject_link import SubjectLink
from instruments.sweep import StimulusInfo, Sweep
from instruments.transport import Transport

__all__ = [
    "Bench", "BenchConfigError", "BenchProfile", "StimulusLimits", "SweepSettings",
    "available_subjects", "load_bench_config", "open_bench",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
SIM_START_TIMEOUT_S = 15.0
MAX_CONTINUOUS_MS = 60_000.0
MAX_CONTINUOUS_POINTS = 4_000_000  # InfiniiVision raw memory
SCOPE_DRIVERS: dict[str, type[InfiniiVisionScope] | type[RigolDS1000ZScope]] = {
    "infiniivision": InfiniiVisionScope, "ds1000z": RigolDS1000ZScope}


@dataclass(frozen=True)
class SweepSettings:
    """Display-side settings: window and pre-trigger in ms, sensitivity at the electrodes."""

    window_ms: float
    pretrigger_ms: float
    sensitivity_mV_per_div: float
    points: int = 2000


def available_subjects(subject_dir: Path | str | None = None) -> list[str]:
    """Ids of the virtual subjects (file names in `data/subjects/` by default)."""
    return _available_subjects(Path(subject_dir) if subject_dir else None)


class Bench:
    def __init__(
        self,
        profile: BenchProfile,
        generator: Generator33500,
        scope: InfiniiVisionScope | RigolDS1000ZScope,
        subject_link: SubjectLink | None = None,
        clock: Clock | None = None,
        sim_seed: int | None = None,
    ) -> None:
        self.profile = profile
        self.generator = generator
        self.scope = scope
        self.subject_link = subject_link
        self.clock = clock or RealClock()
        self.sim_seed = sim_seed
        self.subject_id: str | None = None
        self.subject_dir: Path | None = None
        self.electrodes: dict[str, str] | None = None
        self.needle: dict[str, str | None] | None = None
        self.effort = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        self.stimulator = ConstantCurrentStimulator(
            generator, profile.limits, profile.mA_per_volt, self.clock,
            profile.generator_channel,
        )

    @classmethod
    def connect(
        cls,
        profile: BenchProfile,
        resources: dict[str, str],
        clock: Clock | None = None,
        sim_seed: int | None = None,
    ) -> Bench:
        """Open drivers on `resources` (role → VISA resource); closes them all on failure."""
        opened: list[Transport] = []

        def transport(role: str) -> Transport:
            if role not in resources:
                raise BenchConfigError(f"{profile.path}: profiles.{profile.name}.resources."
                                       f"{role}: missing")
            t = Transport(resources[role], role, timeout_ms=profile.timeout_ms)
            opened.append(t)
            return t

        try:
            generator = Generator33500(transport("generator"))
            scope_class = SCOPE_DRIVERS[profile.scope_driver]
            scope = scope_class(transport("scope"))
            link = SubjectLink(transport("subject")) if "subject" in resources else None
            if link is not None and sim_seed is not None:
                link.seed(sim_seed)
            return cls(profile, generator, scope, link, clock, sim_seed)
        except BaseException:
            for t in opened:
                t.close()
            raise

    # --- identity and provenance ---------------------------------------------------
    def identities(self) -> dict[str, str]:
        out = {"generator": self.generator.idn, "scope": self.scope.idn}
        if self.subject_link is not None:
            out["subject"] = self.subject_link.idn
        return out

    def settings_snapshot(self) -> dict[str, Any]:
        """JSON-able record of how the bench was set (stored with each run)."""
        acq = self.scope.acquisition
        pulse = self.stimulator.last_settings
        return {
            "profile": self.profile.name,
            "kind": self.profile.kind,
            "resources": {"generator": self.generator.resource, "scope": self.scope.resource},
            "identities": self.identities(),
            "stimulator": {
                "model": self.profile.stimulator_model,
                "mA_per_volt": self.profile.mA_per_volt,
                "generator_channel": self.profile.generator_channel,
                "limits": self.profile.limits.as_dict(),
                "last_pulse": pulse.as_dict() if pulse else None,
            },
            "amplifier_gain": self.profile.amplifier_gain,
            "scope": asdict(acq) if acq else None,
            "sim_seed": self.sim_seed,
            "subject": self.subject_id,
            "electrodes": self.electrodes,
            "needle": self.needle,
            "effort": self.effort,
        }

    # --- the (virtual) patient --------------------------------------------------------
    def connect_subject(self, subject_id: str) -> None:
        """Sim: load the virtual subject (unknown id → SubjectError listing the known ones)."""
        if self.subject_link is not None:
            self.subject_link.load(subject_id)
        self.subject_id = subject_id

    def subject_header(self) -> dict[str, Any] | None:
        """Sim: the virtual subject's demographics and history (safety checklist defaults).
        Real bench: None — the operator enters them."""
        if self.subject_link is None or self.subject_id is None:
            return None
        return self.subject_link.header()

    def place_electrodes(self, nerve: str, stimulation_site: str, recording: str) -> None:
        """Recording is a muscle (motor: "APB") or a place (sensory: "D2", "snuffbox")."""
        if self.subject_link is not None:
            self.subject_link.place("recording", nerve, recording)
            self.subject_link.place("stimulus", nerve, stimulation_site)
        self.electrodes = {"nerve": nerve, "stimulation_site": stimulation_site,
                           "recording": recording}

    def place_needle(self, muscle: str, side: str | None = None) -> None:
        """Sim: insert the needle (an insertional burst opens the next recording).
        Real bench: no-op — the operator places it."""
        if self.subject_link is not None:
            self.subject_link.place_needle(muscle, side)
        self.needle = {"muscle": muscle, "side": side}

    def set_effort(self, level: float) -> None:
        """0 = rest … 1 = maximal. Sim: the virtual patient contracts. Real: no-op (the
        operator asks the patient)."""
        if not 0.0 <= level <= 1.0:
            raise ValueError(f"effort {level!r} must lie in 0..1")
        if self.subject_link is not None:
            self.subject_link.set_effort(level)
        self.effort = level

    def exercise(self, seconds: float) -> None:
        """Sim: the patient has just contracted maximally for `seconds` (post-exercise
        facilitation/exhaustion then follow the bench clock). Real: no-op."""
        if self.subject_link is not None:
            self.subject_link.set_clock(self.clock.now())
            self.subject_link.exercise(seconds)

    def measure_distance(self, nerve: str, from_site: str, to_site: str) -> float | None:
        """Sim: the tape measure (mm). Real bench: None — the operator measures."""
        if self.subject_link is None:
            return None
        return self.subject_link.distance_mm(nerve, from_site, to_site)

    # --- stimulate and record ---------------------------------------------------------
    def _acquisition(self, sweep: SweepSettings, segments: int = 1) -> Acquisition:
        p = self.profile
        return Acquisition(
            channel=p.scope_channel,
            volts_per_div=sweep.sensitivity_mV_per_div * 1e-3 * p.amplifier_gain,
            offset_v=0.0,
            window_s=sweep.window_ms * 1e-3,
            pretrigger_s=sweep.pretrigger_ms * 1e-3,
            points=sweep.points,
            trigger_level_v=p.trigger_level_v,
            segments=segments,
        )

    def _sweep(self, codes: np.ndarray, pre: Preamble | RigolPreamble,
               stimulus: StimulusInfo) -> Sweep:
        """Codes → Sweep with the scope family's own preamble scaling."""
        gain = self.profile.amplifier_gain
        scale, offset = pre.volts_per_code()
        sample_rate, t0 = pre.timebase()
        return Sweep(codes=codes, scale=scale / gain, offset=offset / gain,
                     sample_rate=sample_rate, t0=t0, stimulus=stimulus)

    def stimulate_and_record(
        self, current_mA: float, pulse_width_ms: float, sweep: SweepSettings
    ) -> Sweep:
        self.stimulator.check(current_mA, pulse_width_ms)  # before any byte to anyone
        acq = self._acquisition(sweep)
        try:
            self._tell_clock()
            self.scope.configure(acq)
            self.scope.arm()
            self.stimulator.deliver(current_mA, pulse_width_ms)
            self.scope.wait_triggered(self.profile.timeout_ms * 1e-3 + acq.window_s)
            codes, pre = self.scope.read_waveform()
        except BaseException:
            self.all_outputs_off()
            raise
        return self._sweep(codes, pre, StimulusInfo(current_mA, pulse_width_ms))

    def stimulate_train(
        self, current_mA: float, pulse_width_ms: float, rate_hz: float, count: int,
        sweep: SweepSettings,
    ) -> list[Sweep]:
        """RNS: `count` pulses at `rate_hz`, one sweep per pulse (scope segmented memory).

        The train occupies the bench clock for its duration, so fast-time callers see the
        same spacing to the next stimulus as real time."""
        self.stimulator.check_train(current_mA, pulse_width_ms, rate_hz, count)
        if sweep.window_ms * 1e-3 >= 1.0 / rate_hz:
            raise StimulusLimitError(
                "stimulator", self.generator.resource,
                f"sweep window {sweep.window_ms:g} ms must be shorter than the "
                f"{1000.0 / rate_hz:g} ms between pulses")
        if count < 2:
            return [self.stimulate_and_record(current_mA, pulse_width_ms, sweep)]
        acq = self._acquisition(sweep, segments=count)
        duration = (count - 1) / rate_hz
        started = self.clock.now()
        try:
            self._tell_clock()
            self.scope.configure(acq)
            self.scope.arm()
            timeout = self.profile.timeout_ms * 1e-3 + duration + acq.window_s
            self.stimulator.deliver_train(current_mA, pulse_width_ms, rate_hz, count,
                                          lambda: self.scope.wait_triggered(timeout))
            sweeps = [self._sweep(*self.scope.read_segment(k),
                                  StimulusInfo(current_mA, pulse_width_ms, k - 1, rate_hz))
                      for k in range(1, count + 1)]
        except BaseException:
            self.all_outputs_off()
            raise
        self.clock.sleep(duration - (self.clock.now() - started))
        return sweeps

    def record_continuous(
        self, duration_ms: float, sample_rate_hz: float, sensitivity_mV_per_div: float
    ) -> Sweep:
        """Needle EMG: `duration_ms` of free-running signal at `sample_rate_hz` (auto sweep,
        long memory), no stimulus. t0 = 0 is the start of the capture."""
        if not (0 < duration_ms <= MAX_CONTINUOUS_MS and 1e3 <= sample_rate_hz <= 1e6):
            raise ValueError(f"continuous capture of {duration_ms:g} ms at {sample_rate_hz:g} Hz"
                             f" outside (0, {MAX_CONTINUOUS_MS:g}] ms and 1 kHz–1 MHz")
        points = round(duration_ms * 1e-3 * sample_rate_hz)
        if points > MAX_CONTINUOUS_POINTS:
            raise ValueError(f"{points} points exceed the {MAX_CONTINUOUS_POINTS} the scope holds")
        window = points / sample_rate_hz
        acq = replace(self._acquisition(SweepSettings(window * 1e3, 0.0, sensitivity_mV_per_div,
                                                      points)), free_running=True)
        try:
            self.all_outputs_off()
            self.scope.configure(acq)
            self.scope.digitize()
            codes, pre = self.scope.read_waveform()
        except BaseException:
            self.all_outputs_off()
            raise
        return self._sweep(codes, pre, StimulusInfo(0.0, 0.0))

    def _tell_clock(self) -> None:
        if self.subject_link is not None:
            self.subject_link.set_clock(self.clock.now())

    def all_outputs_off(self) -> None:
        self.stimulator.force_off()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.stimulator.close()
        finally:
            for driver in (self.generator, self.scope, self.subject_link):
                if driver is not None:
                    driver.close()
            if self._process is not None:
                _stop_process(self._process)

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_bench(
    profile: str = "sim",
    config_path: Path | str | None = None,
    clock: Clock | None = None,
    subject_dir: Path | str | None = None,
    seed: int | None = None,
    sim_time_scale: float = 1.0,
) -> Bench:
    """Open the named profile; for kind "sim" start the simulated bench process first.

    `sim_time_scale` > 1 plays stimulus trains faster than real time (tests)."""
    profiles = load_bench_config(config_path)
    if profile not in profiles:
        path = profiles[next(iter(profiles))].path
        raise BenchConfigError(
            f"{path}: no profile {profile!r}; available: {', '.join(profiles)}"
        )
    prof = profiles[profile]
    if prof.kind == "visa":
        return Bench.connect(prof, prof.resources, clock)
    if seed is None:
        env = os.environ.get("EDXBENCH_SIM_SEED")
        seed = int(env) if env else secrets.randbelow(2**31)
    process, resources = _start_sim(prof, seed, subject_dir, sim_time_scale)
    try:
        bench = Bench.connect(prof, resources, clock, sim_seed=seed)
    except BaseException:
        _stop_process(process)
        raise
    bench._process = process
    bench.subject_dir = Path(subject_dir) if subject_dir else None
    return bench


def _start_sim(
    profile: BenchProfile, seed: int, subject_dir: Path | str | None, time_scale: float = 1.0
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    cmd = [sys.executable, "-m", "instruments.sim", "--port", "0", "--seed", str(seed),
           "--config", str(profile.path), "--profile", profile.name,
           "--time-scale", repr(time_scale)]
    if subject_dir:
        cmd += ["--subjects", str(subject_dir)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=stderr, env=env)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], SIM_START_TIMEOUT_S)
        line = process.stdout.readline() if ready else b""
        try:
            resources = json.loads(line)
            if not isinstance(resources, dict):
                raise ValueError(line)
        except ValueError:
            _stop_process(process)
            stderr.seek(0)
            detail = stderr.read().decode(errors="replace").strip().splitlines()[-3:]
            raise InstrumentConnectionError(
                "sim", " ".join(cmd[1:4]),
                "simulated bench did not start: " + (" | ".join(detail) or "no output"),
            ) from None
    return process, {str(k): str(v) for k, v in resources.items()}


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout:
        process.stdout.close()

