"""Presenting symptoms → composite studies: the data file, its validation and the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import (
    UnknownSymptom,
    find_symptom,
    list_protocols,
    load_symptoms,
    suggest,
)
from engine.protocol import load_protocol
from engine.yamlsource import SourceError
from tests.conftest import ROOT

SYMPTOMS_FILE = ROOT / "data" / "symptoms.yaml"
# the presenting symptoms the product brief names (issue 5)
BRIEF_SYMPTOMS = ("limb pain", "neck pain", "back pain", "numb feet", "numb or tingling limbs",
                  "weakness", "clumsy hands", "gait trouble")


@pytest.fixture(scope="module")
def library() -> dict[str, Path]:
    return {info.id: info.path for info in list_protocols()}


def test_every_symptom_of_the_brief_suggests_shipped_composites(library) -> None:
    symptoms = load_symptoms(known_protocols=set(library))
    assert {s.label.lower() for s in symptoms} == set(BRIEF_SYMPTOMS)
    for symptom in symptoms:
        assert symptom.suggestions, symptom.id
        for suggestion in symptom.suggestions:
            protocol = load_protocol(library[suggestion.protocol])
            studies = {step.id.split("-")[0] for step in protocol.steps if "-" in step.id}
            assert "{include:" in protocol.text and len(studies) >= 2, (
                f"{symptom.id} suggests {suggestion.protocol}, which is not a composite")
            assert suggestion.why and "edx.md" in suggestion.citation


def test_suggestions_rank_composites_that_answer_more_symptoms_first(library) -> None:
    symptoms = load_symptoms(known_protocols=set(library))
    ranked = suggest(["numb feet", "gait-trouble", "WEAKNESS"], symptoms)
    ids = [protocol for protocol, _ in ranked]
    assert ids[0] == "polyneuropathy-screen"
    assert [s.id for s, _ in ranked[0][1]] == ["numb-feet", "gait-trouble", "weakness"]
    assert len(ids) == len(set(ids))
    assert find_symptom("Numb-or-tingling limbs", symptoms).id == "numb-or-tingling-limbs"
    with pytest.raises(UnknownSymptom, match="known: limb-pain"):
        find_symptom("tummy ache", symptoms)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("protocol: nmj-workup", "protocol: nmj-workout", "'nmj-workout', which is not in the "
                                                      "protocol library"),
    ("source: nmj\n", "source: nmjx\n", "unknown source 'nmjx'"),
    ("  - id: back-pain", "  - id: neck-pain", "'id' is listed twice"),
    ("    label: Weakness\n", "", "missing required field 'label'"),
    ("    grade: primary\n  myopathy:", "    grade: tertiary\n  myopathy:", "must be one of"),
    ("  - id: weakness\n", "  - id: weakness\n    colour: red\n", "unknown field 'colour'"),
])
def test_mistakes_are_reported_at_their_line(tmp_path: Path, library, old: str, new: str,
                                             message: str) -> None:
    text = SYMPTOMS_FILE.read_text(encoding="utf-8")
    assert old in text
    broken = text.replace(old, new, 1)
    path = tmp_path / "symptoms.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_symptoms(path, known_protocols=set(library))
    assert message in str(caught.value)
    line = caught.value.mark.line
    assert str(caught.value).startswith(f"{path}:{line}:")
    changed = next(i for i, (a, b) in enumerate(zip(text.splitlines(), broken.splitlines(),
                                                    strict=False), start=1) if a != b)
    assert abs(line - changed) <= 3, (line, changed)


def test_the_command_suggests_and_refuses_unknown_symptoms(cli) -> None:
    result = cli("protocols", "suggest", "back pain", "numb-feet")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("lumbosacral-radiculopathy-workup")
    assert any(line.startswith("polyneuropathy-screen") for line in lines)
    assert "Dillingham 2000" in result.stdout and "Sources:" in result.stdout
    bad = cli("protocols", "suggest", "tummy ache")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "unknown symptom 'tummy ache'" in bad.stderr
    assert "Traceback" not in bad.stderr
