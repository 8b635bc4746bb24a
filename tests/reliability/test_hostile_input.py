"""Hostile input: mutated protocol, bench and subject files and garbage prompt answers.

Every generated file goes through the real loader and the `edxbench` entry point in
process (`protocols check`); a sample also through the command as a subprocess. Nothing
may raise anything but the loader's own error, and every error names the file and line
(protocols) or the file and field (bench configurations, subjects). Tags that would run
code must not: a file they would create never appears.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from edxbench.cli import main as cli_main
from engine.prompts import AnswerError, Prompt
from engine.protocol import ProtocolError, load_protocol
from engine.yamlsource import SourceError
from instruments.bench_config import BenchConfigError, load_bench_config
from instruments.sim.subject_spec import SubjectFormatError, load_subject
from tests.conftest import ROOT
from tests.reliability.figures import count, report
from tests.reliability.mutator import PWNED, Mutator

LIBRARY = sorted((ROOT / "protocols").glob("*.yaml"))
SUBJECTS = sorted((ROOT / "data" / "subjects").glob("*.yaml"))
LOCATED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): \S")


def error_kind(message: str) -> str:
    """A coarse name for what an error message says is wrong (for the distribution)."""
    text = message.lower()
    for kind, words in (
        ("yaml syntax", ("yaml syntax", "yaml:")),
        ("tag refused (no code runs)", ("constructor for the tag",)),
        ("size/depth/alias budget", ("nested deeper", "yaml nodes", "bytes; the limit",
                                     "nested too deeply")),
        ("not utf-8 / empty", ("utf-8", "file is empty")),
        ("missing field", ("missing",)),
        ("unknown field", ("unknown field", "unknown key", "not a field", "accepted:")),
        ("unknown kind", ("kind",)),
        ("duplicate", ("duplicate", "used twice")),
        ("wrong type", ("must be", "expected")),
        ("out of range", ("above", "below", "between", "at least", "at most", "limit",
                          "minimum", "maximum", "schema")),
        ("no value", ("has no value",)),
        ("unresolved reference", ("before any", "refers", "no protocol file", "unknown")),
    ):
        if any(w in text for w in words):
            return kind
    return "other: " + text.split(":")[-1].strip()[:40]


def write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def cli_in_process(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(list(argv))
    return code, err.getvalue()


def test_mutated_protocol_files(tmp_path: Path) -> None:
    files = count(300, 10_000)
    work = tmp_path / "protocols"
    work.mkdir()
    for source in LIBRARY:  # includes resolve beside the file
        shutil.copy(source, work / source.name)
    texts = {p.name: p.read_text(encoding="utf-8") for p in LIBRARY}
    mutator = Mutator(seed=10_000)
    mutations: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    accepted = 0
    problems: list[str] = []
    cwd = os.getcwd()
    os.chdir(tmp_path)  # a code-executing tag would drop its file here
    try:
        for n in range(files):
            base = mutator.rng.choice(sorted(texts))
            mutation, content = mutator.mutate(texts[base])
            mutations[mutation] += 1
            path = work / f"m{n:05d}.yaml"
            write(path, content)
            try:
                load_protocol(path)
                accepted += 1
            except ProtocolError as exc:
                located = LOCATED.match(str(exc))
                # the edited file, or a library file it includes (the error is there)
                if not (located and Path(located["path"]).parent == work):
                    problems.append(f"{mutation}: not located: {exc}")
                kinds[error_kind(exc.message)] += 1
            except Exception as exc:  # anything else would be a traceback for a person
                problems.append(f"{mutation}: {type(exc).__name__}: {exc}"[:300])
            if n % 5 == 0:  # the command, in process: one line, exit 0 or 2
                code, err = cli_in_process("protocols", "check", str(path))
                lines = err.strip().splitlines()
                if code not in (0, 2) or "Traceback" in err or len(lines) > 1 or (
                        code == 2 and not lines[0].startswith(f"{work}/")):
                    problems.append(f"{mutation}: cli exit {code}: {err[:300]}")
            path.unlink()
    finally:
        os.chdir(cwd)
    assert not (tmp_path / PWNED).exists(), "a YAML tag executed code"
    report("2 hostile input", f"{files} mutated protocol files: {accepted} still valid, "
           f"{files - accepted - len(problems)} refused with file:line:column, "
           f"{len(problems)} tracebacks or unlocated errors")
    report("2 hostile input", "mutations: " + ", ".join(f"{k} {v}"
                                                         for k, v in sorted(mutations.items())))
    report("2 hostile input", "error kinds: " + ", ".join(f"{k} {v}"
                                                          for k, v in kinds.most_common()))
    assert not problems, problems[:10]


def test_mutated_protocols_through_the_command(tmp_path: Path) -> None:
    """A sample as a person would meet them: `edxbench run FILE --dry-run` in a shell."""
    samples = count(6, 40)
    mutator = Mutator(seed=4242)
    codes: Counter[int] = Counter()
    text = (ROOT / "protocols" / "median_motor.yaml").read_text(encoding="utf-8")
    for n in range(samples):
        _, content = mutator.mutate(text)
        path = tmp_path / f"s{n}.yaml"
        write(path, content)
        done = subprocess.run([sys.executable, "-m", "edxbench", "run", str(path), "--dry-run"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path,
                              env={**os.environ, "EDXBENCH_LOG": str(tmp_path / "log")})
        codes[done.returncode] += 1
        assert done.returncode in (0, 2), done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        if done.returncode == 2:
            assert done.stderr.startswith(f"edxbench: error: {path}:"), done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / PWNED).exists()
    report("2 hostile input", f"{samples} mutated protocols run as `edxbench run FILE "
           f"--dry-run` subprocesses: exit codes {dict(codes)}, no traceback")


def toml_value(rng: random.Random) -> str:
    return rng.choice(('"text"', "-1", "0", "1e400", "nan", "inf", "true", "[1, 2]",
                       "{a = 1}", '""', "1.5", '"100 mA"', "2000"))


def mutate_toml(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    settings = [i for i, line in enumerate(lines) if re.match(r"^\w[\w.-]*\s*=", line)]
    tables = [i for i, line in enumerate(lines) if line.startswith("[")]
    op = rng.randrange(6)
    if op == 0:  # a value of the wrong type or out of range
        i = rng.choice(settings)
        lines[i] = lines[i].split("=")[0] + "= " + toml_value(rng)
    elif op == 1:  # a deleted setting
        del lines[rng.choice(settings)]
    elif op == 2:  # a deleted table header (its keys join the table before)
        del lines[rng.choice(tables)]
    elif op == 3:  # an unknown setting
        lines.insert(rng.choice(settings), f"bogus_{rng.randrange(9)} = 1")
    elif op == 4:  # broken syntax
        i = rng.randrange(len(lines))
        lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)] + rng.choice(("[", "=", '"', "]]"))
    else:  # random bytes
        return "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(200)))
    return "\n".join(lines) + "\n"


def test_malformed_bench_configurations(tmp_path: Path) -> None:
    files = count(200, 2_000)
    rng = random.Random(77)
    text = (ROOT / "data" / "bench.toml").read_text(encoding="utf-8")
    refused = accepted = 0
    problems: list[str] = []
    for n in range(files):
        path = tmp_path / f"b{n}.toml"
        path.write_text(mutate_toml(rng, text), encoding="utf-8")
        try:
            load_bench_config(path)
            accepted += 1
        except BenchConfigError as exc:
            refused += 1
            message = str(exc)
            if not message.startswith(f"{path}: ") or "\n" in message.strip():
                problems.append(message[:200])
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}"[:200])
    # the command names the file too, for one broken and one missing configuration
    path = tmp_path / "broken.toml"
    path.write_text("[profiles.sim\n", encoding="utf-8")
    for config in (path, tmp_path / "missing.toml"):
        done = subprocess.run(
            [sys.executable, "-m", "edxbench", "run", "median-motor", "--headless", "--fast",
             "--subject", "normal-adult", "--bench-config", str(config),
             "--db", str(tmp_path / "x.sqlite")],
            capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert done.returncode == 2 and f"{config}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    report("2 hostile input", f"{files} malformed bench configurations: {refused} refused "
           f"naming the file and field, {accepted} still valid, {len(problems)} problems")
    assert not problems, problems[:10]


def test_malformed_subject_files(tmp_path: Path) -> None:
    files = count(80, 2_000)
    mutator = Mutator(seed=5150)
    texts = {p.name: p.read_text(encoding="utf-8") for p in SUBJECTS}
    lab = tmp_path / "subjects"  # `base:` subjects and presets resolve beside the file
    shutil.copytree(ROOT / "data" / "subjects", lab)
    refused = accepted = 0
    problems: list[str] = []
    mutations: Counter[str] = Counter()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for _ in range(files):
            name = mutator.rng.choice(sorted(texts))
            mutation, content = mutator.mutate(texts[name])
            mutations[mutation] += 1
            path = lab / name  # the id must match the file name
            write(path, content)
            try:
                load_subject(path)
                accepted += 1
            except (SubjectFormatError, SourceError) as exc:
                refused += 1
                # the edited file, or the base or preset it applies (the error is there)
                if not str(exc).startswith(f"{lab}/"):
                    problems.append(f"{mutation}: {exc}"[:200])
            except Exception as exc:
                problems.append(f"{mutation}: {type(exc).__name__}: {exc}"[:300])
            path.write_text(texts[name], encoding="utf-8")
    finally:
        os.chdir(cwd)
    assert not (tmp_path / PWNED).exists(), "a YAML tag executed code"
    report("2 hostile input", f"{sum(mutations.values())} malformed subject files: {refused} "
           f"refused naming the file and field, {accepted} still valid, {len(problems)} "
           "tracebacks or unnamed errors")
    assert not problems, problems[:10]


GARBAGE: tuple[Any, ...] = (
    None, "", " ", "\x00", "\n", "yes please", "NaN", "nan", "inf", "-inf", "1e999", "1,5",
    "5 mA", "5mA", "０", "٣", "½", "0x10", "1_000", "--1", "+", "-", ".", "e5", "1e-400",
    "true", "OVERRIDE", "abort;", "retry\n", "a" * 5000, "∞", "🙂", [], {}, [1], {"a": 1},
    b"bytes", 1e308, -1e308, float("nan"), float("inf"), True, False, 10**400, object(),
)
PROMPTS = (
    Prompt("n", "number", "Distance", unit="mm", minimum=50, maximum=500, default=200),
    Prompt("t", "number", "Temperature", unit="°C", minimum=20, maximum=42),
    Prompt("c", "confirm", "Ready?", default=True),
    Prompt("f", "choice", "Fault: retry, skip or abort?", choices=("retry", "skip", "abort")),
    Prompt("r", "review", "Accept this sweep?", choices=("accept", "repeat")),
    Prompt("x", "text", "Note"),
)


@pytest.mark.parametrize("prompt", PROMPTS, ids=lambda p: p.kind + "-" + p.id)
def test_garbage_answers_to_every_prompt_kind(prompt: Prompt) -> None:
    rng = random.Random(hash(prompt.id) & 0xFFFF)
    answers = list(GARBAGE) + ["".join(chr(rng.randrange(1, 0x3000)) for _ in
                                       range(rng.randrange(1, 40)))
                               for _ in range(count(200, 2_000))]
    refused = accepted = 0
    for value in answers:
        try:
            got = prompt.validate(value)
        except AnswerError as exc:
            refused += 1
            assert "\n" not in str(exc).replace(repr(value), "") and prompt.text in str(exc)
            continue
        accepted += 1
        if prompt.kind == "number":
            assert isinstance(got, float) and prompt.minimum <= got <= prompt.maximum  # type: ignore[operator]
        elif prompt.kind == "confirm":
            assert isinstance(got, bool)
        elif prompt.kind in ("choice", "review"):
            assert got in prompt.choices
        else:
            assert isinstance(got, str) and len(got) <= 2000
    report("2 hostile input", f"{prompt.kind} prompt '{prompt.text}': {len(answers)} garbage "
           f"answers, {refused} refused with a one-line reason, {accepted} accepted as valid")


def test_garbage_answers_file_through_the_command(tmp_path: Path) -> None:
    """A headless run whose answers file holds garbage stops with one line, not a trace."""
    answers = tmp_path / "answers.yaml"
    answers.write_text("wrist.placed: maybe\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "edxbench", "run", "median-motor", "--headless", "--fast",
         "--subject", "normal-adult", "--answers", str(answers), "--db",
         str(tmp_path / "a.sqlite")], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "answer yes or no, got 'maybe'" in done.stdout + done.stderr
    answers.write_text("!!python/object/apply:os.system ['true']\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "edxbench", "run", "median-motor", "--headless", "--fast",
         "--subject", "normal-adult", "--answers", str(answers), "--db",
         str(tmp_path / "a.sqlite")], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stderr.startswith(f"edxbench: error: {answers}:1:"), \
        done.stderr
