"""Simulated-bench accuracy: every study type run on the sim bench (loopback SCPI, fast
time, seed 21), measured by rustcore, against the virtual subjects' configured values.

Prints the tolerance table; with --write replaces the table in instruments/ACCURACY.md
(between its `<!-- table -->` markers). tests/instruments/test_study_accuracy.py asserts
the same rows and checks that the document lists each row with the tolerance the test uses.

    .venv/bin/python benchmarks/sim_accuracy.py [--write] [--seed 21]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.instruments.needle_measures import needle_rows  # noqa: E402
from tests.instruments.study_measures import ALL, Row, sim_bench  # noqa: E402

DOC = ROOT / "instruments" / "ACCURACY.md"
START, END = "<!-- table -->", "<!-- /table -->"
HEADER = ("| study | quantity | configured | recovered | error | tolerance | ok |\n"
          "|---|---|---|---|---|---|---|")


def markdown(rows: list[Row]) -> str:
    lines = [HEADER]
    for r in rows:
        lines.append(f"| {r.study} | {r.quantity} | {r.configured:.3g} | {r.recovered:.3g} | "
                     f"{r.error:+.3g} | {r.tolerance} | {'yes' if r.ok else 'NO'} |")
    return "\n".join(lines)


def measure(seed: int) -> list[Row]:
    with sim_bench(seed) as (bench, clock, _):
        return [row for study in (*ALL, needle_rows) for row in study(bench, clock)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--write", action="store_true", help="update instruments/ACCURACY.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = measure(args.seed)
    table = markdown(rows)
    print(table)
    print(f"\n{len(rows)} rows, {sum(not r.ok for r in rows)} outside tolerance, "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.write:
        text = DOC.read_text(encoding="utf-8")
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
