"""Bad input gets one clear line naming the file, field or instrument; never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("edxbench: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_unknown_protocol(cli, db_path: Path) -> None:
    result = cli("run", "no-such-study", "--subject", "normal-adult", "--headless",
                 "--db", str(db_path))
    assert_one_line_error(result, "no-such-study", "unknown protocol", "median-motor")


def test_malformed_protocol_names_file_and_line(cli, db_path: Path, tmp_path: Path) -> None:
    text = (ROOT / "protocols" / "median_motor.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("      rate_hz: 1\n", "      rate_hz: fast\n", 1),
                      encoding="utf-8")
    line = text.index("      rate_hz: 1\n")
    expected_line = text[:line].count("\n") + 1
    result = cli("run", str(broken), "--subject", "normal-adult", "--headless",
                 "--db", str(db_path))
    assert_one_line_error(result, f"{broken}:{expected_line}:", "'rate_hz' must be a number")


def test_protocols_check_reports_each_file(cli, tmp_path: Path) -> None:
    good = ROOT / "protocols" / "median_motor.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: 1\nid: Bad Id\n", encoding="utf-8")
    result = cli("protocols", "check", str(good), str(bad))
    assert result.returncode == 2
    assert f"{good}: ok" in result.stdout
    assert f"{bad}:2:5:" in result.stderr and "lower-case identifier" in result.stderr


def test_database_path_that_is_a_directory(cli, tmp_path: Path) -> None:
    result = cli("run", "median-motor", "--subject", "normal-adult", "--headless",
                 "--db", str(tmp_path))
    assert_one_line_error(result, f"database {tmp_path}")


def test_subject_id_must_be_pseudonymous(cli, db_path: Path) -> None:
    result = cli("run", "median-motor", "--subject", "Jane Doe 1970-01-01", "--headless",
                 "--db", str(db_path))
    assert_one_line_error(result, "pseudonymous")


def test_bad_answers_file(cli, db_path: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("- just\n- a list\n", encoding="utf-8")
    result = cli("run", "median-motor", "--subject", "normal-adult", "--headless",
                 "--db", str(db_path), "--answers", str(answers))
    assert_one_line_error(result, f"{answers}:1:1", "answers file")


def test_dry_run_prints_every_step_without_a_bench(cli, tmp_path: Path) -> None:
    # a bench config that cannot even be read proves no bench is touched
    result = cli("run", "median-motor", "--dry-run", "--bench-config", str(tmp_path / "none"))
    assert result.returncode == 0, result.stderr
    for fragment in ("[stimulate] Stimulate at the wrist", "supramaximal search: 5 mA",
                     "cleanup:", "forearm_distance / (onset elbow − onset wrist)"):
        assert fragment in result.stdout


def test_run_without_subject_is_refused(cli, db_path: Path) -> None:
    result = cli("run", "median-motor", "--headless", "--db", str(db_path))
    assert_one_line_error(result, "--subject")
