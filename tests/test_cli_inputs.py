"""Input problems: one clear message with file:line:col, exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

GOOD = """\
topolint: 1
name: t
runs: continuous
processes:
  camera:
    sockets:
      out: {type: push, bind: "tcp://*:7000"}
  worker:
    sockets:
      in: {type: pull, connect: camera.out}
"""

CASES = {
    "malformed": ("topolint: 1\nname: [unclosed\n", "invalid YAML", 3),
    "typo-key": (
        GOOD.replace("    sockets:\n      out", "    sokets:\n      out", 1),
        "did you mean 'sockets'",
        6,
    ),
    "bad-unit": (
        GOOD.replace("  worker:\n", "  worker:\n    service_time: 3 fortnights\n"),
        "invalid duration",
        9,
    ),
    "unknown-variable": (
        GOOD.replace("camera.out}", '"tcp://${CAMERA_HOST}:7000"}'),
        "unresolved variable ${CAMERA_HOST}",
        10,
    ),
    "bad-enum": (GOOD.replace("type: pull", "type: pul"), "did you mean 'pull'", 10),
    "missing-version": (GOOD.replace("topolint: 1\n", ""), "'topolint' is required", 1),
    "tag": (GOOD + "x-evil: !!python/object/apply:os.system ['true']\n", "unsupported tag", 11),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_input_error_exit_2_with_location(cli, tmp_path: Path, case: str) -> None:
    text, message, line = CASES[case]
    f = tmp_path / "topo.yaml"
    f.write_text(text)
    r = cli("check", str(f))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert message in r.stderr
    assert f"topo.yaml:{line}:" in r.stderr


def test_unreadable_and_missing_files(cli, tmp_path: Path) -> None:
    r = cli("check", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2 and "no such file" in r.stderr
    b = tmp_path / "bin.yaml"
    b.write_bytes(b"\x00\x01\x02garbage")
    r = cli("check", str(b))
    assert r.returncode == 2 and "binary" in r.stderr and "Traceback" not in r.stderr


def test_variable_from_command_line_resolves(cli, tmp_path: Path) -> None:
    f = tmp_path / "topo.yaml"
    f.write_text(CASES["unknown-variable"][0])
    r = cli("check", str(f), "--var", "CAMERA_HOST=localhost", "--select", "unresolved-endpoint")
    assert r.returncode == 0, r.stdout + r.stderr


def test_unknown_rule_is_a_usage_error(cli, tmp_path: Path) -> None:
    f = tmp_path / "topo.yaml"
    f.write_text(GOOD)
    r = cli("check", str(f), "--select", "no-such-rule")
    assert r.returncode == 2 and "unknown rule" in r.stderr


def test_clean_file_exits_0_and_findings_exit_1(cli, tmp_path: Path) -> None:
    f = tmp_path / "topo.yaml"
    f.write_text(GOOD)
    assert cli("check", str(f), "--select", "TL1").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("camera.out", "camra.out"))
    r = cli("check", str(bad), "--select", "TL1")
    assert r.returncode == 1
    assert "bad.yaml:10:" in r.stdout and "did you mean 'camera'" in r.stdout


def test_fail_on_error_lets_warnings_pass(cli, tmp_path: Path) -> None:
    f = tmp_path / "topo.yaml"
    f.write_text(GOOD + '  spare:\n    sockets:\n      out: {type: push, bind: "tcp://*:7001"}\n')
    assert cli("check", str(f), "--select", "dead-output").returncode == 1
    assert cli("check", str(f), "--select", "dead-output", "--fail-on", "error").returncode == 0


def test_json_output_has_spec_keys(cli, tmp_path: Path) -> None:
    import json

    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("camera.out", "camra.out"))
    r = cli("check", str(bad), "--select", "TL1", "--format", "json")
    data = json.loads(r.stdout)
    by_rule = {f["rule"]: f for f in data["findings"]}
    assert set(by_rule) == {"unresolved-endpoint", "dead-output"}
    f = by_rule["unresolved-endpoint"]
    assert {"rule", "code", "severity", "message", "file", "line", "column"} <= set(f)
    assert (f["code"], f["severity"], f["line"], f["column"]) == ("TL102", "error", 10, 33)
