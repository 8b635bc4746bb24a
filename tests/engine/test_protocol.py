"""Protocol validation: valid library files load; every mistake is located precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import list_protocols, resolve_protocol
from engine.protocol import ComputeStep, ProtocolError, StimulateStep, load_protocol

ROOT = Path(__file__).resolve().parents[2]
MEDIAN = ROOT / "protocols" / "median_motor.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_median_motor_loads_with_its_steps() -> None:
    protocol = load_protocol(MEDIAN)
    assert protocol.id == "median-motor"
    kinds = {s.id: s.kind for s in protocol.steps}
    assert kinds["wrist"] == "stimulate" and kinds["forearm_velocity"] == "compute"
    wrist = protocol.step("wrist")
    assert isinstance(wrist, StimulateStep)
    assert wrist.distance_mm == 70 and wrist.recording == "APB"
    assert wrist.supramaximal is not None and wrist.supramaximal.margin_pct == 10
    velocity = protocol.step("forearm_velocity")
    assert isinstance(velocity, ComputeStep) and velocity.distance == "forearm_distance"
    assert [s.group for s in protocol.steps][-1] == "cleanup"
    assert len(protocol.sha256) == 64


def test_every_library_protocol_is_valid() -> None:
    infos = list_protocols()
    files = sorted((ROOT / "protocols").glob("*.yaml"))
    assert len(infos) == len(files) >= 1


def test_resolve_by_id_and_unknown_name() -> None:
    assert resolve_protocol("median-motor") == MEDIAN
    with pytest.raises(ProtocolError, match="unknown protocol"):
        resolve_protocol("no-such-study")


BROKEN = [
    # (replace this, with that, text on the line the error must point at, message fragment)
    ("      pulse_width_ms: 0.2\n      rate_hz: 1\n      supramaximal: {start_mA: 5",
     "      pulse_width_ms: 7\n      rate_hz: 1\n      supramaximal: {start_mA: 5",
     "pulse_width_ms: 7", "'pulse_width_ms' is 7 ms; the maximum is 1 ms"),
    ("      site: wrist\n", "      site: wrist\n      sites: [wrist]\n", "sites: [wrist]",
     "unknown field 'sites'"),
    ("    - id: elbow\n", "    - id: wrist\n", "- id: wrist\n      kind: stimulate\n      title: "
     "Stimulate at the antecubital", "step id 'wrist' is used twice"),
    ("      distal: wrist\n", "      distal: nowhere\n", "distal: nowhere",
     "distal 'nowhere' must name an earlier stimulate step"),
    ("schema: 1\n", "schema: 9\n", "schema: 9", "this edxbench reads schema 1"),
    ("      kind: compare\n", "      kind: comparre\n", "kind: comparre", "'kind' must be one of"),
    ("      min: 100\n", "      min: [1, 2]\n", "min: [1, 2]", "'min' must be a number"),
]


@pytest.mark.parametrize(("old", "new", "needle", "fragment"), BROKEN)
def test_mistakes_name_file_line_and_column(tmp_path: Path, old: str, new: str, needle: str,
                                            fragment: str) -> None:
    text = MEDIAN.read_text(encoding="utf-8").replace(old, new, 1)
    assert new in text
    path = write(tmp_path, text)
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{info.value.mark.line}:{info.value.mark.column}: ")
    assert fragment in message
    expected_line = text[:text.index(needle)].count("\n") + 1
    assert info.value.mark.line == expected_line, message


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "schema: 1\nid: x\nsteps: [\n  - a\n")
    with pytest.raises(ProtocolError, match=r"p\.yaml:\d+:\d+: YAML syntax"):
        load_protocol(path)


def test_alias_bomb_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    with pytest.raises(ProtocolError, match="YAML nodes"):
        load_protocol(write(tmp_path, bomb))
    deep = "x: " + "[" * 100 + "]" * 100 + "\n"
    with pytest.raises(ProtocolError, match="nested"):
        load_protocol(write(tmp_path, deep))


def test_python_tags_never_execute(tmp_path: Path) -> None:
    path = write(tmp_path, "schema: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ProtocolError):
        load_protocol(path)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="No such file"):
        load_protocol(tmp_path / "absent.yaml")
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProtocolError, match="not UTF-8"):
        load_protocol(path)
