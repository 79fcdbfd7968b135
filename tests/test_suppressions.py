"""Inline suppressions (YAML comments, ``x-topolint-ignore`` in JSON) and the
``unused-suppression`` meta rule (TL001)."""

from __future__ import annotations

import json
from pathlib import Path

from topolint.lint.engine import Settings, loads, run_rules
from topolint.lint.findings import Finding

from .conftest import SMALL_TOPOLOGY, run_cli

#: Two warnings when every rule runs: dead-output on line 12 (camera.preview) and
#: hardcoded-endpoint on line 16 (worker.in's endpoint).
TOPOLOGY = SMALL_TOPOLOGY
PREVIEW = '      preview: {type: pub, bind: "tcp://127.0.0.1:7001", sends: frame}'
WORKER_IN = '      in: {type: pull, connect: "tcp://build-01:7000", receives: frame}'


def _with(line: str, comment: str, text: str = TOPOLOGY) -> str:
    assert line in text
    return text.replace(line, f"{line}  {comment}")


def _run(text: str, file: str = "t.yaml", **settings: object) -> list[Finding]:
    return run_rules(loads(text, file), Settings(use_environ=False, **settings))  # type: ignore[arg-type]


def _rules(findings: list[Finding]) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in findings]


def test_baseline_of_the_topology() -> None:
    assert _rules(_run(TOPOLOGY)) == [("dead-output", 12), ("hardcoded-endpoint", 16)]


def test_a_comment_silences_its_rule_on_its_line() -> None:
    for selector in ("dead-output", "TL104", "TL1", "wiring", "dead-output, hardcoded-endpoint"):
        text = _with(PREVIEW, f"# topolint: ignore[{selector}] debugging tap, reviewed")
        found = _run(text)
        if "," in selector:  # a name that silences nothing is reported, the other is not
            assert _rules(found) == [("unused-suppression", 12), ("hardcoded-endpoint", 16)]
            assert "no hardcoded-endpoint finding on this line" in found[0].message
            assert found[0].fix and "remove hardcoded-endpoint from the list" in found[0].fix
        else:
            assert _rules(found) == [("hardcoded-endpoint", 16)], selector
    # another rule's name leaves the finding and is itself stale
    found = _run(_with(PREVIEW, "# topolint: ignore[hardcoded-endpoint]"))
    assert _rules(found) == [
        ("dead-output", 12),
        ("unused-suppression", 12),
        ("hardcoded-endpoint", 16),
    ]


def test_blanket_comment_and_file_level_forms() -> None:
    assert _rules(_run(_with(WORKER_IN, "# topolint: ignore"))) == [("dead-output", 12)]
    text = "# topolint: ignore-file[hardcoded-endpoint] build farm hosts are fixed\n" + TOPOLOGY
    assert _rules(_run(text)) == [("dead-output", 13)]
    text = "# topolint: ignore-file\n" + TOPOLOGY
    assert _run(text) == []


def test_an_element_spanning_lines_is_suppressed_on_its_first_line() -> None:
    block = TOPOLOGY.replace(
        PREVIEW,
        "      preview:\n"
        "        type: pub\n"
        '        bind: "tcp://127.0.0.1:7001"\n'
        "        sends: frame",
    )
    assert ("dead-output", 12) in _rules(_run(block))
    ok = block.replace("      preview:\n", "      preview:  # topolint: ignore[dead-output]\n")
    assert ("dead-output", 12) not in _rules(_run(ok))
    late = block.replace(
        "        type: pub\n", "        type: pub  # topolint: ignore[dead-output]\n"
    )
    assert _rules(_run(late))[:2] == [("dead-output", 12), ("unused-suppression", 13)]


def test_a_comment_above_the_element_is_reported_not_applied() -> None:
    text = TOPOLOGY.replace(PREVIEW, f"      # topolint: ignore[dead-output]\n{PREVIEW}")
    found = _run(text)
    assert _rules(found) == [
        ("unused-suppression", 12),
        ("dead-output", 13),
        ("hardcoded-endpoint", 17),
    ]
    meta = found[0]
    assert (meta.code, meta.severity.value, meta.column) == ("TL001", "warning", 7)
    assert "line without an element" in meta.message


def test_unused_suppressions_are_reported_at_the_comment() -> None:
    text = _with(
        WORKER_IN.replace("build-01", "127.0.0.1"),
        "# topolint: ignore[hardcoded-endpoint] old",
        TOPOLOGY.replace("tcp://build-01:7000", "tcp://127.0.0.1:7000"),
    )
    found = _run(text)
    assert _rules(found) == [("dead-output", 12), ("unused-suppression", 16)]
    meta = found[1]
    line = text.splitlines()[15]
    assert meta.column == line.index("#") + 1  # where the comment starts
    assert meta.message == "unused suppression comment: no hardcoded-endpoint finding on this line"
    assert meta.element == "processes.worker.sockets.in"  # fingerprints survive line moves
    # a blanket comment cannot hide the report that it silences nothing
    found = _run(_with("  camera:", "# topolint: ignore"))
    assert ("unused-suppression", 8) in _rules(found)
    assert "no finding on this line" in found[0].message
    # ignore-file for a rule that reports nothing in the file
    found = _run("# topolint: ignore-file[blocking-cycle]\n" + TOPOLOGY)
    assert found[0].rule == "unused-suppression" and found[0].line == 1
    assert "no blocking-cycle finding in this file" in found[0].message


def test_only_rules_that_ran_judge_a_suppression() -> None:
    stale = _with(
        WORKER_IN.replace("build-01", "127.0.0.1"),
        "# topolint: ignore[hardcoded-endpoint]",
        TOPOLOGY.replace("tcp://build-01:7000", "tcp://127.0.0.1:7000"),
    )
    assert "unused-suppression" in {f.rule for f in _run(stale)}
    # the rule was not selected, or is ignored for this file: the comment may still be needed
    assert _rules(_run(stale, select=["TL1", "TL001"])) == [("dead-output", 12)]
    assert "unused-suppression" not in {f.rule for f in _run(stale, ignore=["TL5"])}
    assert "unused-suppression" not in {
        f.rule for f in _run(stale, per_file_ignores={"t.yaml": ["hardcoded-endpoint"]})
    }
    # with only the meta rule, a suppression is neither used nor stale: nothing is said
    used = _with(PREVIEW, "# topolint: ignore[dead-output]")
    assert _run(used, select=["unused-suppression"]) == []
    # a blanket comment is judged only when every rule ran
    blanket = _with("  camera:", "# topolint: ignore")
    assert _rules(_run(blanket, select=["TL1", "TL0"])) == [("dead-output", 12)]
    # the meta rule can be switched off like any other
    assert "unused-suppression" not in {f.rule for f in _run(stale, ignore=["TL0"])}


def test_unknown_rule_names_are_reported_whatever_ran() -> None:
    text = _with(PREVIEW, "# topolint: ignore[dead-ouptut]")
    found = _run(text, select=["unused-suppression"])
    assert _rules(found) == [("unused-suppression", 12)]
    assert found[0].message == (
        "suppression comment names an unknown rule 'dead-ouptut'; did you mean 'dead-output'?"
    )
    # and the misspelled comment silences nothing
    assert ("dead-output", 12) in _rules(_run(text))


def test_meta_findings_can_be_suppressed_by_name() -> None:
    text = _with(PREVIEW, "# topolint: ignore[dead-output, blocking-cycle, unused-suppression]")
    assert _rules(_run(text)) == [("hardcoded-endpoint", 16)]
    text = "# topolint: ignore-file[unused-suppression]\n" + _with(
        PREVIEW, "# topolint: ignore[blocking-cycle]"
    )
    assert _rules(_run(text)) == [("dead-output", 13), ("hardcoded-endpoint", 17)]


def _json(ignore_socket: object = None, ignore_process: object = None) -> str:
    worker: dict[str, object] = {
        "host": "build-01",
        "sockets": {"in": {"type": "pull", "connect": "tcp://build-01:7000", "receives": "frame"}},
    }
    if ignore_socket is not None:
        worker["sockets"]["in"]["x-topolint-ignore"] = ignore_socket  # type: ignore[index]
    if ignore_process is not None:
        worker["x-topolint-ignore"] = ignore_process
    doc = {
        "topolint": 1,
        "name": "sup",
        "runs": "continuous",
        "defaults": {"sndbuf": "64kB", "rcvbuf": "64kB", "linger": 0},
        "messages": {"frame": {"max_size": "1kB"}},
        "processes": {
            "camera": {
                "host": "build-01",
                "sockets": {
                    "out": {"type": "push", "bind": "tcp://127.0.0.1:7000", "sends": "frame"},
                    "preview": {
                        "type": "pub",
                        "bind": "tcp://127.0.0.1:7001",
                        "sends": "frame",
                        "x-description": "# topolint: ignore[dead-output] is not a comment in JSON",
                    },
                },
            },
            "worker": worker,
        },
    }
    return json.dumps(doc, indent=2)


def test_json_x_topolint_ignore() -> None:
    rules = lambda text: sorted(f.rule for f in _run(text, "t.json"))  # noqa: E731
    assert rules(_json()) == ["dead-output", "hardcoded-endpoint"]
    assert rules(_json(ignore_socket="hardcoded-endpoint")) == ["dead-output"]
    assert rules(_json(ignore_socket=["TL501", "TL104"])) == ["dead-output", "unused-suppression"]
    assert rules(_json(ignore_process="TL5")) == ["dead-output"]  # on an ancestor
    assert rules(_json(ignore_process=[])) == ["dead-output"]  # an empty list: every rule
    found = _run(_json(ignore_socket=["hardcoded-endpoint", "sub-without-subscripton"]), "t.json")
    meta = [f for f in found if f.rule == "unused-suppression"]
    assert len(meta) == 1 and "did you mean 'sub-without-subscription'" in meta[0].message
    assert meta[0].element == "processes.worker.sockets.in.x-topolint-ignore"
    text = _json(ignore_socket="hardcoded-endpoint")
    key_line = next(i for i, line in enumerate(text.splitlines(), 1) if "x-topolint-ignore" in line)
    assert meta[0].line == key_line


def test_suppressions_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        _with(PREVIEW, "# topolint: ignore[dead-output] tap for the debugger").replace(
            WORKER_IN, f"{WORKER_IN}  # topolint: ignore[hardcoded-endpoint]"
        )
    )
    r = run_cli("check", "t.yaml", cwd=tmp_path)
    assert (r.returncode, r.stdout.strip()) == (0, "All checks passed.\nChecked 1 file."), (
        r.stdout + r.stderr
    )
    (tmp_path / "t.yaml").write_text(_with(PREVIEW, "# topolint: ignore[dead-output, dead-outptu]"))
    r = run_cli("check", "t.yaml", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    found = [(f["rule"], f["code"], f["line"]) for f in json.loads(r.stdout)["findings"]]
    assert found == [("unused-suppression", "TL001", 12), ("hardcoded-endpoint", "TL501", 16)]
    r = run_cli(
        "check", "t.yaml", "--ignore", "unused-suppression,hardcoded-endpoint", cwd=tmp_path
    )
    assert r.returncode == 0, r.stdout
