"""Configuration end to end: ``[tool.topolint]`` in ``pyproject.toml`` and ``.topolint.yaml``,
through the real command line (``python -m topolint check`` in a temporary project)."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import SMALL_TOPOLOGY, run_cli

#: Two warnings: dead-output (camera.preview, line 12) and hardcoded-endpoint (line 16).
TOPOLOGY = SMALL_TOPOLOGY


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _check(cwd: Path, *args: str) -> tuple[int, list[tuple[str, str, str]], str]:
    """Exit code, (file, rule, severity) per finding, stderr."""
    r = run_cli("check", "--format", "json", *args, cwd=cwd)
    if r.returncode == 2:
        return 2, [], r.stderr
    data = json.loads(r.stdout)
    found = [(f["file"], f["rule"], f["severity"]) for f in data["findings"]]
    return r.returncode, found, r.stderr


def test_without_configuration_every_rule_runs(tmp_path: Path) -> None:
    _project(tmp_path, {"t.yaml": TOPOLOGY})
    code, found, _ = _check(tmp_path, "t.yaml")
    assert code == 1
    assert found == [
        ("t.yaml", "dead-output", "warning"),
        ("t.yaml", "hardcoded-endpoint", "warning"),
    ]


def test_pyproject_ignore_severity_and_fail_on(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "t.yaml": TOPOLOGY,
            "pyproject.toml": """\
[project]
name = "demo"

[tool.topolint]
ignore = ["TL5"]                       # a code prefix: the endpoint family
severity = { dead-output = "info" }
""",
        },
    )
    code, found, _ = _check(tmp_path, "t.yaml")
    assert (code, found) == (0, [("t.yaml", "dead-output", "info")])  # info does not fail
    # fail-on from the configuration; --fail-on on the command line wins over it
    text = (tmp_path / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(text + 'fail-on = "info"\n')
    assert _check(tmp_path, "t.yaml")[0] == 1
    assert _check(tmp_path, "t.yaml", "--fail-on", "error")[0] == 0


def test_select_and_command_line_precedence(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "t.yaml": TOPOLOGY,
            ".topolint.yaml": "select: [TL104]\nseverity: {TL1: info, TL104: error}\n",
        },
    )
    code, found, _ = _check(tmp_path, "t.yaml")
    # a code beats a prefix in severity overrides
    assert (code, found) == (1, [("t.yaml", "dead-output", "error")])
    code, found, _ = _check(tmp_path, "t.yaml", "--select", "hardcoded-endpoint")
    assert found == [("t.yaml", "hardcoded-endpoint", "warning")]
    code, found, _ = _check(tmp_path, "t.yaml", "--ignore", "dead-output")
    assert (code, found) == (0, [])


def test_rule_options(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "t.yaml": TOPOLOGY,
            "pyproject.toml": """\
[tool.topolint.rules.hardcoded-endpoint]
allow-hosts = ["build-*"]
""",
        },
    )
    _, found, _ = _check(tmp_path, "t.yaml")
    assert found == [("t.yaml", "dead-output", "warning")]


def test_nearest_configuration_wins_per_file(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "t.yaml": TOPOLOGY,
            "pyproject.toml": '[tool.topolint]\nignore = ["dead-output"]\nfail-on = "error"\n',
            "team/t.yaml": TOPOLOGY,
            "team/.topolint.yaml": "ignore: [hardcoded-endpoint]\n",
            "other/t.yaml": TOPOLOGY,
            "other/pyproject.toml": '[project]\nname = "no-topolint-table"\n',
        },
    )
    code, found, _ = _check(tmp_path, "t.yaml", "team", "other/t.yaml")
    assert sorted(found) == [
        ("other/t.yaml", "hardcoded-endpoint", "warning"),  # a pyproject without the table
        ("t.yaml", "hardcoded-endpoint", "warning"),  # does not count: the root one does
        ("team/t.yaml", "dead-output", "warning"),  # no merging with the root configuration
    ]
    assert code == 1  # team/ fails on warnings (its own default), although the root says error
    code, found, _ = _check(tmp_path, "t.yaml")
    assert code == 0 and found  # the root's warning does not fail there


def test_per_file_ignores_are_relative_to_the_configuration(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "legacy/old.yaml": TOPOLOGY,
            "new/t.yaml": TOPOLOGY,
            "pyproject.toml": """\
[tool.topolint.per-file-ignores]
"legacy/*.yaml" = ["hardcoded-endpoint", "TL1"]
""",
        },
    )
    # from a subfolder: patterns still match paths relative to the pyproject.toml's folder
    code, found, _ = _check(tmp_path / "new", ".", "../legacy")
    assert sorted(found) == [
        ("t.yaml", "dead-output", "warning"),
        ("t.yaml", "hardcoded-endpoint", "warning"),
    ]
    code, found, _ = _check(tmp_path, "legacy/old.yaml")
    assert (code, found) == (0, [])


def test_explicit_config_and_format(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "t.yaml": TOPOLOGY,
            "pyproject.toml": '[tool.topolint]\nignore = ["dead-output"]\n',
            "ci/strict.yaml": "format: json\nselect: [dead-output]\n",
        },
    )
    r = run_cli("check", "--config", "ci/strict.yaml", "t.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert [f["rule"] for f in json.loads(r.stdout)["findings"]] == ["dead-output"]


def test_empty_configuration_file_is_an_empty_configuration(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "pyproject.toml": '[tool.topolint]\nignore = ["ALL"]\n',
            "team/.topolint.yaml": "",
            "team/t.yaml": TOPOLOGY,
        },
    )
    code, found, err = _check(tmp_path, "team/t.yaml")
    assert code == 1 and len(found) == 2, err


def test_configuration_mistakes_are_located_input_errors(tmp_path: Path) -> None:
    cases = {
        # unknown key in pyproject.toml: the line of the key, and a suggestion
        "pyproject.toml": (
            '[project]\nname = "x"\n\n[tool.topolint]\nignore = []\nselct = ["TL1"]\n',
            "pyproject.toml:6: configuration: unknown configuration key 'selct'; "
            "did you mean 'select'?",
        ),
        # .topolint.yaml: line and column
        ".topolint.yaml": (
            "select: [ALL]\nfail_on: error\n",
            ".topolint.yaml:2:1: configuration: unknown configuration key 'fail_on'; "
            "did you mean 'fail-on'?",
        ),
    }
    for name, (text, expected) in cases.items():
        folder = tmp_path / name.strip(".").replace(".", "-")
        _project(folder, {name: text, "t.yaml": TOPOLOGY})
        code, _, err = _check(folder, "t.yaml")
        assert code == 2
        assert expected in err, err
        assert "Traceback" not in err


def test_unknown_rules_and_bad_options_name_the_configuration(tmp_path: Path) -> None:
    _project(
        tmp_path,
        {
            "t.yaml": TOPOLOGY,
            "a/t.yaml": TOPOLOGY,
            "a/.topolint.yaml": "ignore: [dead-outptu]\n",
            "b/t.yaml": TOPOLOGY,
            "b/.topolint.yaml": "rules:\n  hardcoded-endpoint: {allow-hostz: [x]}\n",
            "c/t.yaml": TOPOLOGY,
            "c/.topolint.yaml": "rules:\n  hardcoded-endpoint:\n    allow-hosts: build-01\n",
            "d/t.yaml": TOPOLOGY,
            "d/pyproject.toml": '[tool.topolint]\nfail-on = "never"\n',
        },
    )
    expected = {
        "a": "a/.topolint.yaml:1:1: configuration ignore: unknown rule or code 'dead-outptu'",
        "b": "b/.topolint.yaml:2:24: configuration rules.hardcoded-endpoint.allow-hostz: "
        "unknown option 'allow-hostz' for rule hardcoded-endpoint; it has: allow-hosts, "
        "allow-loopback",
        "c": "c/.topolint.yaml:3:5: configuration rules.hardcoded-endpoint.allow-hosts: option "
        "'allow-hosts' of hardcoded-endpoint expects a list of strings",
        "d": "d/pyproject.toml:2: configuration fail-on: 'never' is not one of",
    }
    for folder, message in expected.items():
        code, _, err = _check(tmp_path, f"{folder}/t.yaml")
        assert code == 2, err
        assert message in err, err
    # a command-line mistake is a usage error, not blamed on a file
    code, _, err = _check(tmp_path, "t.yaml", "--select", "nope")
    assert code == 2 and "topolint: unknown rule or code 'nope'" in err
