"""Bench profiles and subject files: defaults load, mistakes name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.bench import available_subjects, load_bench_config
from instruments.bench_config import DEFAULT_CONFIG, BenchConfigError
from instruments.sim.subject_spec import (
    DEFAULT_SUBJECT_DIR,
    SubjectFormatError,
    find_subject,
    load_subject,
)


def test_default_profiles() -> None:
    profiles = load_bench_config()
    sim = profiles["sim"]
    assert sim.kind == "sim" and sim.amplifier_gain == 1000.0
    assert sim.limits.max_current_mA == 100.0
    assert sim.sim_settings().stimulator_mA_per_volt == 10.0
    assert (sim.sim_protocol, sim.scope_driver) == ("socket", "infiniivision")
    assert profiles["sim-hislip"].sim_protocol == "hislip"
    assert profiles["sim-rigol"].scope_driver == "ds1000z"
    lab = profiles["lab-example"]
    assert lab.kind == "visa" and lab.resources["scope"].endswith("::5025::SOCKET")


def _edit(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CONFIG.read_text()
    assert old in text
    path = tmp_path / "bench.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("max_current_mA = 100.0", "max_current_mA = -1",
         "profiles.sim.limits.max_current_mA: must be a positive number"),
        ('[profiles.lab-example]\nkind = "visa"', '[profiles.lab-example]\nkind = "usb"',
         "profiles.lab-example.kind: must be one of"),
        ('scope = "TCPIP0::192.168.0.21::5025::SOCKET"', "",
         "profiles.lab-example.resources.scope: missing"),
        ("hum_uV = 8.0", "hum_uv = 8.0", "profiles.sim.simulation.hum_uv: unknown setting"),
        ("gain = 1000.0 ", "gane = 1000.0 ", "profiles.sim.amplifier.gain: missing"),
        ('sim_protocol = "hislip"', 'sim_protocol = "vxi11"',
         "profiles.sim-hislip.sim_protocol: must be one of socket, hislip"),
        ('driver = "ds1000z"', 'driver = "tds2000"',
         "profiles.sim-rigol.scope.driver: must be one of infiniivision, ds1000z"),
    ],
)
def test_config_errors_name_file_and_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = _edit(tmp_path, old, new)
    with pytest.raises(BenchConfigError) as info:
        load_bench_config(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def test_subjects_available_and_valid() -> None:
    names = available_subjects()
    assert {"normal-adult", "cts-moderate"} <= set(names)
    for name in names:
        subject = find_subject(name)
        assert subject.id == name
        assert subject.recording("median", "APB").sites[0].name == "wrist"


def test_subject_errors_name_file_and_field(tmp_path: Path) -> None:
    text = (DEFAULT_SUBJECT_DIR / "normal-adult.yaml").read_text()
    path = tmp_path / "normal-adult.yaml"
    path.write_text(text.replace("velocity_m_s: 57.0", "velocity_m_s: fast"))
    with pytest.raises(SubjectFormatError) as info:
        load_subject(path)
    assert str(info.value) == (
        f"{path}: nerves.median.recordings.APB.sites[1].segment.velocity_m_s: "
        "must be a number, got 'fast'"
    )
    other = tmp_path / "someone.yaml"
    other.write_text(text)
    with pytest.raises(SubjectFormatError, match="id: must equal the file name 'someone'"):
        load_subject(other)


def test_unknown_subject_lists_known(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match=r"available: .*cts-moderate, .*normal-adult"):
        find_subject("nobody")
