"""Full or reduced trial counts, and the figures each reliability part reports.

`EDXBENCH_FULL=1` (the `make reliability` target) runs the counts the issue asks for; the
default is the reduced form that CI runs. Figures are printed at the end of the session by
`conftest.py`, so they also show in CI's log without `-s`.
"""

from __future__ import annotations

import os
from collections import defaultdict

FULL = os.environ.get("EDXBENCH_FULL", "") not in ("", "0")
FIGURES: dict[str, list[str]] = defaultdict(list)


def count(reduced: int, full: int) -> int:
    """The number of trials for this mode."""
    return full if FULL else reduced


def report(part: str, line: str) -> None:
    """Keep one figure line for the end-of-session summary (and print it for -s)."""
    FIGURES[part].append(line)
    print(f"\n[{part}] {line}")
