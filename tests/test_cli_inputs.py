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
    # one root cause, one finding: the dead output it causes is folded into it
    assert set(by_rule) == {"unresolved-endpoint"}
    f = by_rule["unresolved-endpoint"]
    assert [r["rule"] for r in f["related"]] == ["dead-output"]
    assert {"rule", "code", "severity", "message", "file", "line", "column"} <= set(f)
    assert (f["code"], f["severity"], f["line"], f["column"]) == ("TL102", "error", 10, 33)


# --- what is shown, the forms and switches ------------------------------------------------

NOISY = GOOD.replace("camera.out", "camra.out")  # an error, a warning and some infos


def test_text_lists_errors_and_warnings_and_counts_infos(cli, tmp_path: Path) -> None:
    f = tmp_path / "topo.yaml"
    f.write_text(NOISY)
    every = cli("check", str(f), "--format", "json")
    counts = {"error": 0, "warning": 0, "info": 0}
    for x in __import__("json").loads(every.stdout)["findings"]:  # json keeps every finding
        counts[x["severity"]] += 1
    assert counts["info"] and counts["error"]
    r = cli("check", str(f))
    assert "[info]" not in r.stdout and "[error]" in r.stdout
    last = r.stdout.splitlines()[-2:]
    assert f"{counts['info']} info" in last[0] and "--show info lists them" in last[0]
    assert last[1] == "Checked 1 file."
    shown = cli("check", str(f), "--show", "info")
    assert "[info]" in shown.stdout and "not shown" not in shown.stdout
    assert shown.returncode == r.returncode == 1  # what is shown does not change what fails
    (tmp_path / ".topolint.yaml").write_text("show: info\n")
    assert "[info]" in cli("check", str(f)).stdout  # the configuration key


def test_concise_statistics_quiet_exit_zero(cli, tmp_path: Path) -> None:
    f = tmp_path / "topo.yaml"
    f.write_text(NOISY)
    r = cli("check", str(f), "--output-format", "concise", "--show", "info", "--quiet")
    lines = r.stdout.splitlines()
    assert lines and all(" TL" in line and "] " in line for line in lines), r.stdout
    assert lines[0].endswith(":10:33: TL102 [error] " + lines[0].split("[error] ")[1])
    assert "Found" not in r.stdout and r.returncode == 1
    assert (
        cli("check", str(f), "-f", "CONCISE", "-q").stdout
        == cli("check", str(f), "--format", "concise", "--quiet").stdout
    )  # --format is --output-format, names in any case
    stats = cli("check", str(f), "--statistics")
    assert any(
        line.split()[1:3] == ["TL102", "unresolved-endpoint"] for line in stats.stdout.splitlines()
    )
    assert "did you mean" not in stats.stdout  # counts, not messages
    data = __import__("json").loads(cli("check", str(f), "--statistics", "-f", "json").stdout)
    assert {"code", "rule", "severity", "count"} == set(data[0])
    assert cli("check", str(f), "--statistics", "-f", "sarif").returncode == 2
    zero = cli("check", str(f), "--exit-zero")
    assert zero.returncode == 0 and "[error]" in zero.stdout
    assert cli("check", str(f), "nope.yaml", "--exit-zero").returncode == 2  # not input errors


def test_no_false_green(cli, tmp_path: Path) -> None:
    empty = tmp_path / "docs"
    empty.mkdir()
    (empty / "k8s.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    r = cli("check", str(empty))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{empty}: no topology found (1 YAML/JSON/XML file looked at" in r.stderr
    assert "--skip-non-topologies" in r.stderr and "All checks passed" not in r.stdout
    assert cli("check", str(empty), "--skip-non-topologies").returncode == 0
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    both = cli("check", str(good), str(empty), "--select", "TL1")
    assert both.returncode == 2 and "no topology found" in both.stderr


def test_a_missing_file_does_not_stop_the_others(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(NOISY)
    r = cli("check", str(tmp_path / "gone.yaml"), str(bad), "--select", "TL1")
    assert r.returncode == 2
    assert "gone.yaml: no such file or directory" in r.stderr
    assert "bad.yaml:10:33: TL102" in r.stdout  # still checked
    assert "1 input error" in r.stdout


def test_rule_codes_in_any_case_and_did_you_mean(cli, tmp_path: Path) -> None:
    assert "slow-joiner" in cli("explain", "tl201").stdout
    assert cli("explain", "Slow-Joiner").returncode == 0
    r = cli("explain", "slow-joiners")
    assert r.returncode == 2 and "did you mean 'slow-joiner'?" in r.stderr
    f = tmp_path / "topo.yaml"
    f.write_text(NOISY)
    assert cli("check", str(f), "--select", "tl102").returncode == 1
    r = cli("check", str(f), "--select", "unresolved-endpoints")
    assert r.returncode == 2 and "did you mean 'unresolved-endpoint'?" in r.stderr
    r = cli("check", str(f), "--ignore", "dead-outptu")
    assert r.returncode == 2 and "did you mean 'dead-output'?" in r.stderr


@pytest.mark.parametrize("value", ["", " ", ","])
def test_empty_selection_is_refused(cli, tmp_path: Path, value: str) -> None:
    f = tmp_path / "topo.yaml"
    f.write_text(GOOD)
    r = cli("check", str(f), "--select", value)
    assert r.returncode == 2 and "empty selection" in r.stderr
    (tmp_path / ".topolint.yaml").write_text("select: []\n")
    r = cli("check", str(f))
    assert r.returncode == 2 and "select" in r.stderr


def test_help_reads_well(cli) -> None:
    r = cli("check", "-h")
    assert r.returncode == 0
    assert "Usage: topolint check [OPTIONS] PATH..." in r.stdout
    assert "FORMAT" in r.stdout and "concise" in r.stdout and "sarif" in r.stdout
    assert "<" not in r.stdout and "{paths}" not in r.stdout
    assert "[default: 30.0]" in cli("run", "--help").stdout
    top = cli("-h").stdout
    for command in ("check", "analyze", "render", "run", "diff", "rules", "explain", "schema"):
        assert f"  {command} " in top
    listing = top.split("Commands:")[1]
    assert "..." not in listing  # no summary cut short
    assert cli("rules", "--format", "xml").returncode == 2
    assert cli("check", "x.yaml", "--format", "xml").returncode == 2
    assert cli("check", "x.yaml", "--output-file", "xml:out").returncode == 2


def test_shell_completion(cli) -> None:
    r = cli("completion", "bash")
    assert r.returncode == 0 and "_TOPOLINT_COMPLETE" in r.stdout
    r = cli(
        env={
            "_TOPOLINT_COMPLETE": "bash_complete",
            "COMP_WORDS": "topolint explain slow-",
            "COMP_CWORD": "2",
        }
    )
    assert "slow-joiner" in r.stdout
