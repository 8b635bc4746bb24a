"""Done-when of issue 3: every study type, run on the sim bench and measured by rustcore,
recovers the subject's configured values within the tolerances of instruments/ACCURACY.md,
and that document's table (written by benchmarks/sim_accuracy.py) lists each of these
rows with the tolerance applied here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from instruments.bench import Bench
from instruments.clock import FastClock
from tests.instruments.needle_measures import needle_rows
from tests.instruments.study_measures import ALL, Row, sim_bench

STUDIES: tuple[Callable[[Bench, FastClock], list[Row]], ...] = (*ALL, needle_rows)


DOC = Path(__file__).resolve().parents[2] / "instruments" / "ACCURACY.md"


def _documented() -> set[tuple[str, str, str]]:
    rows = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0] not in ("study", "---"):
            rows.add((cells[0], cells[1], cells[5]))
    return rows


@pytest.fixture(scope="module")
def rig() -> Iterator[tuple[Bench, FastClock]]:
    with sim_bench() as (bench, clock, _):
        yield bench, clock


@pytest.mark.parametrize("study", STUDIES, ids=lambda f: f.__name__)
def test_study_recovers_configured_values(
    rig: tuple[Bench, FastClock], study: Callable[[Bench, FastClock], list[Row]]
) -> None:
    bench, clock = rig
    rows = study(bench, clock)
    failed = [f"{r.study}: {r.quantity} configured {r.configured:.4g}, recovered "
              f"{r.recovered:.4g} (tolerance {r.tolerance})" for r in rows if not r.ok]
    assert not failed, "\n".join(failed)
    documented = _documented()
    missing = [f"{r.study} / {r.quantity} / {r.tolerance}" for r in rows
               if (r.study, r.quantity, r.tolerance) not in documented]
    assert not missing, "ACCURACY.md is stale (benchmarks/sim_accuracy.py --write): " + (
        "; ".join(missing))

