"""Done-when of issue 3: every study type, run on the sim bench and measured by rustcore,
recovers the subject's configured values within the tolerances of instruments/ACCURACY.md."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from instruments.bench import Bench
from instruments.clock import FastClock
from tests.instruments.needle_measures import needle_rows
from tests.instruments.study_measures import ALL, Row, sim_bench

STUDIES: tuple[Callable[[Bench, FastClock], list[Row]], ...] = (*ALL, needle_rows)


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
