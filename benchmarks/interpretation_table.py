"""Every shipped virtual subject through its matching composite study, headless on the
simulated bench in fast time, and the interpretation compared with what its presets
should give (data/subjects/expected-findings.yaml).

    .venv/bin/python benchmarks/interpretation_table.py [--seed 11] [--only SUBJECT ...]

Prints one row per subject: expected and reported localisation and nature, whether they
agree, and the criteria that fired. Exit status 1 if any subject disagrees.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.yamlsource import load_yaml_file  # noqa: E402
from storage.database import open_database  # noqa: E402
from storage.queries import get_interpretation, list_runs  # noqa: E402


def expected() -> dict[str, dict[str, str]]:
    doc = load_yaml_file(ROOT / "data" / "subjects" / "expected-findings.yaml")
    return {k: {f: "|".join(v[f]) if isinstance(v.get(f), list) else str(v.get(f, ""))
                for f in ("protocol", "level", "site", "nature")}
            for k, v in dict(doc["subjects"]).items()}


def run_subject(subject: str, protocol: str, db: Path, seed: int) -> dict[str, Any]:
    """One headless run through the command line; the stored interpretation back."""
    command = [sys.executable, "-m", "edxbench", "run", protocol, "--subject", subject,
               "--headless", "--fast", "--db", str(db)]
    env = {**os.environ, "EDXBENCH_SIM_SEED": str(seed)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=600, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    database = open_database(db)
    run = list_runs(database, subject_id=subject, limit=1)[0]
    return get_interpretation(database, run["id"]) or {"error": ["no interpretation stored"]}


def agrees(want: dict[str, str], got: dict[str, Any]) -> bool:
    where = got.get("localisation") or {}
    return (where.get("level") == want["level"] and str(where.get("site", "")) == want["site"]
            and got.get("nature") in want["nature"].split("|"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--db", type=Path, default=None, help="keep the runs in this file")
    args = parser.parse_args(argv)
    table = expected()
    subjects = [s for s in table if not args.only or s in args.only]
    failures = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for subject in subjects:
            want = table[subject]
            started = time.perf_counter()
            db = args.db or Path(tmp) / "runs.sqlite"
            got = run_subject(subject, want["protocol"], db, args.seed)
            seconds = time.perf_counter() - started
            ok = "error" not in got and agrees(want, got)
            failures += not ok
            where = got.get("localisation") or {}
            reported = (f"{where.get('level', '?')}: {where.get('site', '')}".rstrip(": ")
                        if "error" not in got else "ERROR " + " ".join(got["error"]))
            fired = [f["rule"] + ("[U]" if f.get("unconfirmed") else "")
                     + ("[LU]" if f.get("limits_unconfirmed") else "")
                     for f in got.get("fired", []) if not f.get("muscle")]
            rows.append((subject, want["protocol"],
                         f"{want['level']}: {want['site']}".rstrip(": ") + f" / {want['nature']}",
                         f"{reported} / {got.get('nature', '?')}" + (
                             " +block" if got.get("block") else ""),
                         "yes" if ok else "NO", f"{seconds:.0f}s", ", ".join(fired)))
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    heads = ("subject", "composite", "expected (localisation / nature)",
             "reported (localisation / nature)", "match", "time", "criteria fired")
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n{len(rows) - failures}/{len(rows)} subjects match "
          "([U] rule unconfirmed, [LU] fired on a limit marked unconfirmed)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
