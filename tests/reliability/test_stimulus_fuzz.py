"""Stimulus safety under fuzz: random requests against the stimulator driver, random limits.

One connection to the simulated generator, many requests: currents, pulse widths, rates
and train lengths drawn around (and far beyond) limits that change every few requests.
The driver either refuses a request before writing anything or delivers it. Afterwards
the generator's own record of every program message it received is replayed: each pulse
the generator was triggered to give, and each level it was ever set to, is checked
against the limits in force at that moment. Nothing beyond them may have reached it.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass, replace

from instruments.bench_config import load_bench_config
from instruments.clock import FastClock
from instruments.errors import InstrumentProtocolError, StimulusLimitError
from instruments.generator_33500 import Generator33500
from instruments.sim import SimBench
from instruments.stimulator import ConstantCurrentStimulator, StimulusLimits
from instruments.transport import Transport
from tests.reliability.figures import count, report

SETTER = re.compile(r"^SOUR1:(FUNC:PULS:WIDT|VOLT:HIGH|FUNC:PULS:PER|BURS:NCYC) (\S+)$")
REL = 1e-9  # formatting slack when reading numbers back from the command text


@dataclass(frozen=True)
class Epoch:
    """Limits in force from generator message `start` on."""

    start: int
    limits: StimulusLimits


def random_limits(rng: random.Random, hard: StimulusLimits) -> StimulusLimits:
    """Limits a lab might set: at or below the profile's hard limits."""
    return StimulusLimits(
        max_current_mA=rng.uniform(1.0, hard.max_current_mA),
        max_pulse_width_ms=rng.uniform(0.05, hard.max_pulse_width_ms),
        max_rate_hz=rng.uniform(0.5, hard.max_rate_hz),
        max_energy_mJ=rng.uniform(0.1, hard.max_energy_mJ),
        load_ohm=hard.load_ohm,
    )


def around(rng: random.Random, limit: float) -> float:
    """Mostly near the limit (both sides), sometimes absurd."""
    pick = rng.random()
    if pick < 0.7:
        return limit * rng.uniform(0.5, 1.5)
    if pick < 0.8:
        return limit * (1 + rng.choice((-1, 1)) * rng.uniform(0, 1e-6))
    if pick < 0.9:
        return rng.choice((0.0, -limit, math.inf, -math.inf, math.nan, 1e300, 5e-324))
    return rng.uniform(0, limit * 3)


def replay(received: list[str], epochs: list[Epoch],
           mA_per_volt: float) -> tuple[int, list[str]]:
    """(pulses, violations) from the generator's received messages under the epochs."""
    width_s = high_v = 0.0
    period_s, cycles = 0.01, 1
    pulses = 0
    violations: list[str] = []
    epoch_i = 0
    for i, line in enumerate(received):
        while epoch_i + 1 < len(epochs) and epochs[epoch_i + 1].start <= i:
            epoch_i += 1
        lim = epochs[epoch_i].limits
        match = SETTER.match(line)
        if match:
            value = float(match.group(2))
            name = match.group(1)
            if name == "FUNC:PULS:WIDT":
                width_s = value
                if width_s * 1e3 > lim.max_pulse_width_ms * (1 + REL):
                    violations.append(f"{i}: {line} under {lim}")
            elif name == "VOLT:HIGH":
                high_v = value
                if high_v * mA_per_volt > lim.max_current_mA * (1 + REL):
                    violations.append(f"{i}: {line} under {lim}")
            elif name == "FUNC:PULS:PER":
                period_s = value
            else:
                cycles = int(value)
        elif line == "*TRG":
            pulses += cycles
            current = high_v * mA_per_volt
            energy = lim.energy_mJ(current, width_s * 1e3)
            bad = (current > lim.max_current_mA * (1 + REL)
                   or width_s * 1e3 > lim.max_pulse_width_ms * (1 + REL)
                   or energy > lim.max_energy_mJ * (1 + REL)
                   or (cycles > 1 and 1.0 / period_s > lim.max_rate_hz * (1 + REL)))
            if bad:
                violations.append(f"{i}: *TRG of {cycles} at {current:g} mA, {width_s:g} s, "
                                  f"period {period_s:g} s under {lim}")
    return pulses, violations


def test_random_stimulus_requests_never_exceed_the_limits() -> None:
    requests = count(6_000, 100_000)
    profile = replace(load_bench_config()["sim"], timeout_ms=5000)
    hard = profile.limits
    rng = random.Random(31337)
    clock = FastClock()
    tally: Counter[str] = Counter()
    with SimBench(seed=1, settings=profile.sim_settings(), time_scale=1000.0) as sim:
        transport = Transport(sim.resources["generator"], "generator", timeout_ms=5000)
        generator = Generator33500(transport)
        stimulator = ConstantCurrentStimulator(generator, hard, profile.mA_per_volt, clock)
        epochs = [Epoch(0, hard)]
        try:
            for n in range(requests):
                if n % 50 == 0:
                    stimulator.limits = random_limits(rng, hard)
                    epochs.append(Epoch(len(sim.received("generator")), stimulator.limits))
                lim = stimulator.limits
                before = stimulator.last_stimulus_at
                written = len(sim.generator.received)
                clock.advance(rng.choice((0.0, 0.01, 0.1, 1.0, 3.0)) * rng.random())
                current = around(rng, lim.max_current_mA)
                width = around(rng, lim.max_pulse_width_ms)
                try:
                    if rng.random() < 0.1:
                        rate = around(rng, lim.max_rate_hz)
                        pulses = rng.choice((0, 1, 2, 3, 10, 499, 500, 501, 10**6))
                        stimulator.check_train(current, width, rate, pulses)
                        if pulses > 3:  # the refusal path is what matters; keep it fast
                            tally["train checked"] += 1
                            continue
                        stimulator.deliver_train(current, width, rate, pulses,
                                                 lambda p=pulses, r=rate: clock.advance(p / r))
                        tally["trains sent"] += 1
                    else:
                        stimulator.deliver(current, width)
                    tally["sent"] += 1
                    if before is not None:  # single pulses and trains, on the bench clock
                        gap = stimulator.last_stimulus_at - before
                        tally["rate violations"] += gap < (1 / lim.max_rate_hz) * (1 - REL)
                except StimulusLimitError:
                    tally["refused"] += 1
                    tally["bytes after a refusal"] += len(sim.generator.received) != written
                except InstrumentProtocolError as exc:  # e.g. a width of 5e-324 ms: the
                    assert "read-back" in str(exc)      # generator refuses, output stays off
                    tally["refused at read-back"] += 1
        finally:
            stimulator.close()
            generator.close()
        received = sim.received("generator")
        delivered = list(sim.stimulator.delivered)
    pulses, violations = replay(received, epochs, profile.mA_per_volt)
    # and what the constant-current stimulator model actually put out, against the hard limits
    beyond_hard = sum(s.current_mA > hard.max_current_mA or s.pulse_width_ms >
                      hard.max_pulse_width_ms for s in delivered)
    report("3 stimulus fuzz", f"{requests} random requests ({len(epochs) - 1} random limit "
           f"sets): {tally['refused']} refused ({tally['bytes after a refusal']} of them wrote "
           f"anything), {tally['refused at read-back']} "
           f"refused by the read-back before output on, {tally['sent']} sent "
           f"({tally['trains sent']} trains), {tally['train checked']} long trains checked "
           f"and allowed but not played; generator received {len(received)} messages, "
           f"{pulses} pulses triggered; violations of the limits in force: {len(violations)} "
           f"(level, width, energy, train rate), {tally['rate violations']} (interval); "
           f"pulses beyond the hard limits at the stimulator: {beyond_hard}")
    assert not violations and tally["rate violations"] == 0, violations[:5]
    assert tally["bytes after a refusal"] == 0
    assert beyond_hard == 0
    assert tally["refused"] > requests // 10 and tally["sent"] > requests // 20
    assert pulses >= tally["sent"]
