"""Output reporters of ``topolint check``: text, json, sarif, github, junit, gitlab."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from topolint.lint.findings import Fact, Finding, Severity
from topolint.lint.rule import SECTIONS, RuleInfo
from topolint.reporters import REPORTERS, TEXT_STYLES, Report, names, render, validate
from topolint.reporters.github import escape_data, escape_property

from .conftest import SHARED

REPO = pathlib.Path(__file__).resolve().parents[1]
SARIF_SCHEMA = SHARED / "external" / "sarif" / "sarif-schema-2.1.0.json"

SOURCE = """\
topolint: 1
processes:
  camera:
    sockets:
      out: {type: PUSH, bind: "tcp://*:5555"}
  viewer:
    sockets:
      in: {type: SUB, connect: camera.out}
"""


def _check(ctx: Any) -> Iterator[Fact]:
    return iter(())


def make_rule(name: str, code: str, severity: str, family: str = "") -> RuleInfo:
    sections = {title: f"{title} of {name}: `code` & <b>." for title in SECTIONS}
    return RuleInfo(
        name=name,
        code=code,
        severity=Severity(severity),
        summary=f"Summary of {name}.",
        sections=sections,
        check=_check,
        family=family,
    )


RULES = [
    make_rule("socket-type-mismatch", "TL101", "error", family="sockets"),
    make_rule("unbounded-queue", "TL201", "warning"),
    make_rule("unused-process", "TL301", "info"),
    make_rule("never-fires", "TL401", "warning"),
]


def make_findings() -> list[Finding]:
    return [
        Finding(
            rule="socket-type-mismatch",
            code="TL101",
            severity=Severity.ERROR,
            message="PUSH cannot connect to SUB",
            file="topo.yaml",
            line=8,
            column=18,
            end_line=8,
            end_column=21,
            path=("processes", "viewer", "sockets", "in", "type"),
            subject=("camera.out", "viewer.in"),
            related=({"file": "topo.yaml", "line": 5, "column": 18, "message": "peer"},),
            fix="use PULL",
        ),
        Finding(
            rule="unbounded-queue",
            code="TL201",
            severity=Severity.WARNING,
            message="queue of camera.out has no high-water mark",
            file="topo.yaml",
            line=5,
            column=7,
            path=("processes", "camera", "sockets", "out"),
            subject=("camera.out",),
        ),
        Finding(
            rule="unused-process",
            code="TL301",
            severity=Severity.INFO,
            message="process idle",
            file="sub dir/other.yaml",
            line=1,
            column=1,
            path=("processes", "idle"),
        ),
    ]


def make_report(findings: list[Finding] | None = None, **kw: Any) -> Report:
    args: dict[str, Any] = {
        "findings": make_findings() if findings is None else findings,
        "rules": RULES,
        "files": ["topo.yaml", "sub dir/other.yaml", "clean.yaml"],
        "sources": {"topo.yaml": SOURCE},
        "root": REPO,
        "tool_version": "0.1.0",
    }
    args.update(kw)
    return Report(**args)


# --- registry --------------------------------------------------------------------------


def test_names_and_unknown_format() -> None:
    assert names() == ["text", "full", "concise", "json", "sarif", "github", "junit", "gitlab"]
    assert set(REPORTERS) == set(names())
    assert set(TEXT_STYLES) <= set(names())
    with pytest.raises(ValueError, match="unknown output format 'yaml'"):
        render("yaml", make_report())
    with pytest.raises(ValueError, match="did you mean 'sarif'"):
        validate("sarf")
    assert validate("JSON") == "json"
    assert render("full", make_report()) == render("text", make_report())


@pytest.mark.parametrize(
    "name", ["text", "full", "concise", "json", "sarif", "github", "junit", "gitlab"]
)
def test_every_format_is_deterministic(name: str) -> None:
    assert render(name, make_report()) == render(name, make_report())


def _imported_after(code: str) -> set[str]:
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_import_is_lazy() -> None:
    mods = _imported_after("import topolint.reporters")
    heavy = {m for m in mods if m.split(".")[0] in {"xml", "jsonschema", "json", "referencing"}}
    assert heavy == set()
    assert not {m for m in mods if m.startswith("topolint.reporters.")}


def test_render_imports_only_the_asked_for_reporter() -> None:
    code = (
        "import pathlib\n"
        "from topolint.reporters import Report, render\n"
        "render('github', Report([], [], [], {}, pathlib.Path('.'), '0'))"
    )
    mods = _imported_after(code)
    assert "topolint.reporters.github" in mods
    assert not {"topolint.reporters.sarif", "topolint.reporters.junit"} & mods
    assert not {m for m in mods if m.startswith(("xml", "jsonschema"))}


# --- text ------------------------------------------------------------------------------


def test_text_header_excerpt_caret_and_fix() -> None:
    out = render("text", make_report())
    lines = out.splitlines()
    head = "topo.yaml:8:18: TL101 [error] socket-type-mismatch PUSH cannot connect to SUB"
    i = lines.index(head)
    source_line = SOURCE.splitlines()[7]
    assert lines[i + 2] == f"8 | {source_line}"
    caret_line = lines[i + 3]
    assert caret_line.startswith("  | ")
    # the caret sits under column 18 and spans to end_column 21 (exclusive)
    col = caret_line.index("^") - len("  | ")
    assert col == 17
    assert caret_line[len("  | ") :].strip() == "^^^"
    assert source_line[17:20] == "SUB"
    assert "  = see: topo.yaml:5:18: peer" in lines
    assert "  = fix: use PULL" in lines
    assert "\x1b" not in out


def test_text_single_caret_without_end_and_no_excerpt_without_source() -> None:
    out = render("text", make_report())
    lines = out.splitlines()
    i = lines.index(
        "topo.yaml:5:7: TL201 [warning] unbounded-queue queue of camera.out has no high-water mark"
    )
    assert lines[i + 2] == f"5 | {SOURCE.splitlines()[4]}"
    assert lines[i + 3] == "  |       ^"
    # no source for sub dir/other.yaml: the header stands alone
    j = lines.index("sub dir/other.yaml:1:1: TL301 [info] unused-process process idle")
    assert lines[j + 1] == ""


def test_text_caret_under_tab_and_wide_characters() -> None:
    src = "a:\n\tname: 名前 x\n"
    f = Finding("r", "TL1", Severity.WARNING, "m", "f.yaml", 2, 11)
    out = render("text", make_report([f], sources={"f.yaml": src}))
    lines = out.splitlines()
    assert lines[2] == "2 | \tname: 名前 x"
    # tab kept as a tab, each wide character padded by two columns
    assert lines[3] == "  | \t" + " " * 6 + " " * 4 + " " + "^"


def test_text_summary() -> None:
    out = render("text", make_report())
    assert out.endswith("Found 3 problems (1 error, 1 warning, 1 info).\nChecked 3 files.\n")
    two = [*make_findings()[:2], dataclasses.replace(make_findings()[1], line=6)]
    out = render("text", make_report(two))
    assert out.endswith("Found 3 problems (1 error, 2 warnings).\nChecked 3 files.\n")
    assert render("text", make_report([])) == "All checks passed.\nChecked 3 files.\n"
    skipped = make_report([], extra={"skipped": ["k8s.yaml"]})
    assert render("text", skipped).endswith("Checked 3 files (1 skipped: not topologies).\n")
    assert render("text", make_report([], files=[])) == "All checks passed.\n"


def test_text_shows_down_to_the_threshold_and_counts_the_rest() -> None:
    out = render("text", make_report(show="warning"))
    assert "TL301" not in out  # the info is not listed...
    assert out.endswith(  # ...but counted, with how to see it
        "Found 3 problems (1 error, 1 warning, 1 info not shown: --show info lists them).\n"
        "Checked 3 files.\n"
    )
    out = render("text", make_report(show="error"))
    assert "TL101" in out and "TL201" not in out
    assert "(1 error, 1 warning, 1 info not shown: --show info lists them)" in out
    assert (
        render("concise", make_report(show="error"))
        .splitlines()[0]
        .startswith("topo.yaml:8:18: TL101")
    )


def test_text_groups_by_file_most_severe_first() -> None:
    f = make_findings()
    info_first = dataclasses.replace(f[2], file="topo.yaml", line=1)  # an info on line 1
    late_error = dataclasses.replace(f[0], line=30)
    findings = sorted([f[1], f[2], info_first, late_error, f[0]], key=Finding.sort_key)
    out = render("concise", make_report(findings, quiet=True))
    heads = [line.split(" [")[0] for line in out.splitlines()]
    assert heads == [
        "sub dir/other.yaml:1:1: TL301",
        "topo.yaml:8:18: TL101",
        "topo.yaml:30:18: TL101",
        "topo.yaml:5:7: TL201",
        "topo.yaml:1:1: TL301",
    ]


def test_concise_is_one_line_per_finding() -> None:
    out = render("concise", make_report())
    assert out.splitlines() == [  # files in the order the (sorted) findings name them
        "topo.yaml:8:18: TL101 [error] PUSH cannot connect to SUB",
        "topo.yaml:5:7: TL201 [warning] queue of camera.out has no high-water mark",
        "sub dir/other.yaml:1:1: TL301 [info] process idle",
        "",
        "Found 3 problems (1 error, 1 warning, 1 info).",
        "Checked 3 files.",
    ]
    assert render("concise", make_report([], quiet=True)) == ""


def test_quiet_leaves_out_the_summary() -> None:
    out = render("text", make_report(quiet=True))
    assert "Found" not in out and "Checked" not in out
    assert out.startswith("topo.yaml:8:18: TL101") and out.endswith("\n")
    assert not out.endswith("\n\n")


def test_statistics_count_per_rule() -> None:
    from topolint.reporters.text import render_statistics

    f = make_findings()
    report = make_report([f[0], dataclasses.replace(f[0], line=9), f[1], f[2]], show="error")
    assert report.statistics()[0] == {
        "code": "TL101",
        "rule": "socket-type-mismatch",
        "severity": "error",
        "count": 2,
    }
    lines = render_statistics(report).splitlines()
    assert lines[0].split() == ["2", "TL101", "socket-type-mismatch", "[error]"]
    assert [line.split()[1] for line in lines[:3]] == ["TL101", "TL201", "TL301"]
    assert lines[-2].startswith("Found 4 problems")


def test_text_extra_suppressed() -> None:
    extra = {
        "suppressed": 2,
        "unused_suppressions": [{"file": "a.yaml", "line": 3, "codes": ["TL1"]}],
    }
    out = render("text", make_report([], extra=extra))
    assert out.splitlines() == [
        "All checks passed.",
        "2 findings suppressed.",
        "1 unused suppression:",
        "  a.yaml:3: TL1",
        "Checked 3 files.",
    ]


def test_text_color() -> None:
    out = render("text", make_report(), color=True)
    assert "\x1b[31m" in out  # error in red
    assert "\x1b[33m" in out  # warning in yellow
    assert "\x1b[0m" in out
    plain = render("text", make_report(), color=False)
    assert "\x1b" not in plain


def test_text_neutralises_escape_sequences_from_the_file() -> None:
    src = "x: \x1b[2Jboom\n"
    f = Finding("r", "TL1", Severity.ERROR, "bad \x1b[31m", "f.yaml", 1, 4)
    out = render("text", make_report([f], sources={"f.yaml": src}))
    assert "\x1b" not in out
    assert "bad \\x1b[31m" in out  # shown as an escape, not executed
    assert "1 | x: \\x1b[2Jboom" in out


# --- json ------------------------------------------------------------------------------


def test_json_shape() -> None:
    doc = json.loads(render("json", make_report(extra={"suppressed": 4})))
    assert doc["version"] == 1
    assert doc["tool"] == {"name": "topolint", "version": "0.1.0"}
    first = doc["findings"][0]
    for key in ("rule", "code", "severity", "message", "file", "line", "column"):
        assert key in first
    assert first["rule"] == "socket-type-mismatch"
    assert first["severity"] == "error"
    assert (first["line"], first["column"]) == (8, 18)
    s = doc["summary"]
    assert (s["files"], s["errors"], s["warnings"], s["infos"]) == (3, 1, 1, 1)
    assert s["suppressed"] == 4


def test_json_empty() -> None:
    doc = json.loads(render("json", make_report([])))
    assert doc["findings"] == []
    assert doc["summary"]["errors"] == 0


# --- sarif -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator() -> Draft4Validator:
    if not SARIF_SCHEMA.exists():  # a clone without the shared folder
        pytest.skip("the SARIF 2.1.0 schema is not next to this checkout")
    schema = json.loads(SARIF_SCHEMA.read_text())
    resource = Resource.from_contents(schema, default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource(schema["id"], resource)
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


def _sarif(report: Report) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render("sarif", report))
    return doc


def test_sarif_validates_against_the_schema(sarif_validator: Draft4Validator) -> None:
    doc = _sarif(make_report(extra={"suppressed": 1, "baseline": {"file": "b.json"}}))
    errors = sorted(sarif_validator.iter_errors(doc), key=str)
    assert errors == []
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-schema-2.1.0.json")
    assert len(doc["runs"]) == 1


def test_sarif_empty_has_results_and_validates(sarif_validator: Draft4Validator) -> None:
    doc = _sarif(make_report([]))
    assert list(sarif_validator.iter_errors(doc)) == []
    run = doc["runs"][0]
    assert run["results"] == []
    assert len(run["tool"]["driver"]["rules"]) == len(RULES)
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_sarif_rules() -> None:
    driver = _sarif(make_report())["runs"][0]["tool"]["driver"]
    assert driver["name"] == "topolint"
    assert driver["version"] == "0.1.0"
    assert urlsplit(driver["informationUri"]).scheme == "https"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(r.code for r in RULES)
    rule = driver["rules"][0]
    assert rule["name"] == "SocketTypeMismatch"
    assert rule["shortDescription"]["text"] == "Summary of socket-type-mismatch."
    assert rule["fullDescription"]["text"].startswith("What it finds of socket-type-mismatch")
    assert rule["help"]["markdown"] == RULES[0].docs
    assert rule["help"]["text"]
    assert rule["helpUri"] == RULES[0].help_uri
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in driver["rules"]}
    assert levels == {"TL101": "error", "TL201": "warning", "TL301": "note", "TL401": "warning"}
    assert rule["properties"]["topolintName"] == "socket-type-mismatch"


def test_sarif_results() -> None:
    run = _sarif(make_report())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["partialFingerprints"]["topolint/v1"]
    first = results[0]
    assert first["message"]["text"] == "PUSH cannot connect to SUB"
    loc = first["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "topo.yaml"
    assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert loc["region"] == {"startLine": 8, "startColumn": 18, "endLine": 8, "endColumn": 21}
    logical = first["locations"][0]["logicalLocations"][0]
    assert logical["fullyQualifiedName"] == "processes.viewer.sockets.in.type"
    rel = first["relatedLocations"][0]
    assert rel["physicalLocation"]["region"] == {"startLine": 5, "startColumn": 18}
    assert rel["message"]["text"] == "peer"
    # a space in a path is percent-encoded; the base is the repository root
    third = results[2]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert third["uri"] == "sub%20dir/other.yaml"
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == REPO.as_uri() + "/"
    assert [a["location"]["uri"] for a in run["artifacts"]] == [
        "topo.yaml",
        "sub%20dir/other.yaml",
        "clean.yaml",
    ]
    assert third["index"] == 1


def test_sarif_absolute_paths_become_relative(tmp_path: pathlib.Path) -> None:
    inside = tmp_path / "deep" / "t.yaml"
    outside = tmp_path.parent / "elsewhere.yaml"
    f1 = dataclasses.replace(make_findings()[0], file=str(inside))
    f2 = dataclasses.replace(make_findings()[1], file=str(outside))
    run = _sarif(make_report([f1, f2], root=tmp_path, files=[]))["runs"][0]
    a1 = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    a2 = run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert (a1["uri"], a1["uriBaseId"]) == ("deep/t.yaml", "%SRCROOT%")
    assert a2["uri"] == outside.resolve().as_uri()
    assert "uriBaseId" not in a2
    win = dataclasses.replace(make_findings()[0], file="sub\\x.yaml")
    a3 = _sarif(make_report([win]))["runs"][0]["results"][0]["locations"][0]
    assert a3["physicalLocation"]["artifactLocation"]["uri"] == "sub/x.yaml"


def test_sarif_fingerprint_stable_when_line_moves() -> None:
    before = make_findings()
    after = [dataclasses.replace(f, line=f.line + 7) for f in before]

    def fps(findings: list[Finding]) -> list[str]:
        return [
            r["partialFingerprints"]["topolint/v1"]
            for r in _sarif(make_report(findings))["runs"][0]["results"]
        ]

    assert fps(before) == fps(after)
    assert len(set(fps(before))) == len(before)
    # a different element is a different alert
    moved = [dataclasses.replace(before[0], path=("processes", "other"))]
    assert fps(moved) != fps(before[:1])


def test_sarif_duplicate_fingerprints_are_told_apart(sarif_validator: Draft4Validator) -> None:
    f = make_findings()[0]
    twins = [f, dataclasses.replace(f, message="another problem", line=9)]
    doc = _sarif(make_report(twins))
    fps = [r["partialFingerprints"]["topolint/v1"] for r in doc["runs"][0]["results"]]
    assert fps[0] == f.fingerprint
    assert len(set(fps)) == 2
    assert list(sarif_validator.iter_errors(doc)) == []


def test_sarif_input_errors_are_notifications(sarif_validator: Draft4Validator) -> None:
    errors = [{"file": "bad.yaml", "line": 3, "column": 1, "message": "expected a mapping"}]
    doc = _sarif(make_report([], extra={"errors": errors}))
    assert list(sarif_validator.iter_errors(doc)) == []
    (inv,) = doc["runs"][0]["invocations"]
    assert inv["executionSuccessful"] is False
    (note,) = inv["toolExecutionNotifications"]
    assert note["message"]["text"] == "expected a mapping"
    loc = note["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "bad.yaml"
    assert loc["region"] == {"startLine": 3, "startColumn": 1}


def test_sarif_code_missing_from_catalogue(sarif_validator: Draft4Validator) -> None:
    f = Finding("parse-error", "TL001", Severity.ERROR, "bad", "x.yaml", 0, 0)
    doc = _sarif(make_report([f]))
    assert list(sarif_validator.iter_errors(doc)) == []
    run = doc["runs"][0]
    r = run["results"][0]
    assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == "TL001"
    assert "region" not in r["locations"][0]["physicalLocation"]


# --- github ----------------------------------------------------------------------------


def test_github_annotations() -> None:
    out = render("github", make_report())
    assert out.splitlines() == [
        "::error file=topo.yaml,line=8,col=18,title=TL101 socket-type-mismatch"
        "::PUSH cannot connect to SUB%0Afix: use PULL",
        "::warning file=topo.yaml,line=5,col=7,title=TL201 unbounded-queue"
        "::queue of camera.out has no high-water mark",
        "::notice file=sub dir/other.yaml,line=1,col=1,title=TL301 unused-process::process idle",
    ]
    assert render("github", make_report([])) == ""


def test_github_escaping() -> None:
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    f = Finding("r-x", "TL9", Severity.WARNING, "50% of a:b\nsecond", "d,ir/a:b.yaml", 3, 2)
    # a newline inside a message comes from the input: shown as \\n, never a new line
    assert render("github", make_report([f])) == (
        "::warning file=d%2Cir/a%3Ab.yaml,line=3,col=2,title=TL9 r-x::50%25 of a:b\\nsecond\n"
    )


# --- junit -----------------------------------------------------------------------------


def test_junit_counts_and_structure() -> None:
    out = render("junit", make_report())
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(out.encode())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "3", "0")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["topo.yaml", "sub dir/other.yaml", "clean.yaml"]
    topo = suites["topo.yaml"]
    assert (topo.get("tests"), topo.get("failures")) == ("2", "2")
    cases = topo.findall("testcase")
    assert cases[0].get("name") == "TL101 socket-type-mismatch (8:18)"
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("type") == "error"
    assert failure.get("message") == "PUSH cannot connect to SUB"
    assert "fix: use PULL" in (failure.text or "")
    clean = suites["clean.yaml"]
    assert (clean.get("tests"), clean.get("failures")) == ("1", "0")
    (passing,) = clean.findall("testcase")
    assert passing.find("failure") is None


def test_junit_special_characters_survive() -> None:
    message = "a < b && c > \"d\" 'e'\nsecond line \u00e9\u6f22"
    f = Finding("r", "TL9", Severity.ERROR, message + "\x01", "we<ird>&.yaml", 1, 1)
    root = ET.fromstring(render("junit", make_report([f], files=[])).encode())
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == "we<ird>&.yaml"
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == message + "\\x01"  # shown, as in the text output
    assert message in (failure.text or "")


def test_junit_empty() -> None:
    root = ET.fromstring(render("junit", make_report([], files=[])).encode())
    assert (root.get("tests"), root.get("failures")) == ("0", "0")
    root = ET.fromstring(render("junit", make_report([])).encode())
    assert (root.get("tests"), root.get("failures")) == ("3", "0")


# --- gitlab ----------------------------------------------------------------------------


def test_gitlab_code_quality() -> None:
    issues = json.loads(render("gitlab", make_report()))
    assert [i["severity"] for i in issues] == ["major", "minor", "info"]
    first = issues[0]
    assert first["description"].startswith("TL101 ")
    assert first["check_name"] == "TL101"
    assert first["location"] == {"path": "topo.yaml", "lines": {"begin": 8}}
    assert first["fingerprint"] == make_findings()[0].fingerprint
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert json.loads(render("gitlab", make_report([]))) == []


def test_json_lists_the_files_that_could_not_be_checked(cli, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("topolint: 1\nname: x\nprocesses: {a: {sockets: {s: {type: pushh}}}}\n")
    r = cli("check", "--format", "json", str(bad), "fixtures/talk/pipeline.yaml")
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    (err,) = doc["input_errors"]
    assert (err["line"], err["column"]) == (3, 37) and "did you mean 'push'" in err["message"]
    assert doc["summary"]["input_errors"] == 1 and doc["summary"]["files"] == 2


def test_junit_marks_a_file_that_could_not_be_checked_as_an_error(
    cli, tmp_path: pathlib.Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("topolint: 1\nname: x\nprocesses: {a: {sockets: {s: {type: pushh}}}}\n")
    r = cli("check", "--format", "junit", str(bad))
    assert r.returncode == 2
    root = ET.fromstring(r.stdout)
    assert root.get("errors") == "1"
    (error,) = root.iter("error")
    assert "pushh" in (error.get("message") or "") and ":3:37:" in (error.text or "")
