"""The dry run describes every step's instrument actions in words, for every protocol."""

from __future__ import annotations

import re

import pytest

from engine.dryrun import describe
from engine.protocol import load_protocol
from tests.conftest import ROOT

PROTOCOLS = sorted((ROOT / "protocols").rglob("*.yaml"))


@pytest.mark.parametrize("path", PROTOCOLS, ids=lambda p: p.stem)
def test_every_step_says_what_it_does(path) -> None:
    protocol = load_protocol(path)
    lines = describe(protocol)
    text = "\n".join(lines)
    for step in protocol.steps:
        assert f"({step.id})" in text
        if step.kind in ("series", "needle", "stimulate", "compute", "safety_checklist"):
            block = text.split(f"({step.id})", 1)[1].split("\n  ", 2)
            assert "confirm done" not in block[0] + (block[1] if len(block) > 1 else ""), \
                (path.name, step.id)
    # no operand left blank ("onset  −", ":  /")
    assert not re.search(r"onset\s+[−)]|:\s+/", text), text
