"""JUnit XML, for CI test-report views (GitLab, Jenkins, Azure, ...).

One ``<testsuite>`` per file checked (``name`` = the file).  Each finding is its own
``<testcase>`` with a ``<failure>`` (``type`` = the severity, ``message`` = the message), so
every finding shows as one line in the CI's test list; its ``name`` is
``CODE rule-name (line:column)``, its ``classname`` the file.  A file without findings gets
one passing ``<testcase name="topolint">``; a file that could not be checked (an input
error) gets a ``<testcase name="topolint">`` with an ``<error>``, never a pass.  Control characters other than newlines and
tabs are shown as escapes (:func:`topolint.textsafe.escape`, as in the text output; XML 1.0
cannot carry most of them), what XML still cannot carry is replaced by U+FFFD, everything
else is escaped by ElementTree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import TYPE_CHECKING

from topolint.reporters import Report
from topolint.textsafe import defuse_xml, escape

if TYPE_CHECKING:
    from topolint.lint.findings import Finding

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: object) -> str:
    return _INVALID_XML.sub("\ufffd", escape(str(text), keep="\n\t"))


def _body(f: Finding) -> str:
    lines = [f"{f.file}:{f.line}:{f.column}: {f.code} [{f.severity.value}] {f.rule} {f.message}"]
    if f.element:
        lines.append(f"element: {f.element}")
    if f.fix:
        lines.append(f"fix: {f.fix}")
    return _x("\n".join(lines))


def build(report: Report) -> ET.Element:
    """The ``<testsuites>`` element."""
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_file[f.file].append(f)
    errors: dict[str, list[dict[str, object]]] = defaultdict(list)
    for e in report.extra.get("errors") or []:
        errors[str(e.get("file") or "")].append(e)
    files = list(dict.fromkeys([*report.all_files(), *errors]))

    root = ET.Element("testsuites")
    root.set("name", "topolint")
    total_tests = 0
    for file in files:
        findings = by_file.get(file, [])
        suite = ET.SubElement(root, "testsuite")
        tests = max(len(findings), 1)
        total_tests += tests
        suite.set("name", _x(file))
        suite.set("tests", str(tests))
        suite.set("failures", str(len(findings)))
        suite.set("errors", str(int(bool(errors.get(file)))))
        suite.set("skipped", "0")
        if not findings:
            case = ET.SubElement(suite, "testcase")
            case.set("name", "topolint")
            case.set("classname", _x(file))
            case.set("file", _x(file))
            if errors.get(file):
                _input_error(case, file, errors[file])
            continue
        for f in findings:
            case = ET.SubElement(suite, "testcase")
            case.set("name", _x(f"{f.code} {f.rule} ({f.line}:{f.column})"))
            case.set("classname", _x(file))
            case.set("file", _x(file))
            case.set("line", str(f.line))
            failure = ET.SubElement(case, "failure")
            failure.set("message", _x(f.message))
            failure.set("type", f.severity.value)
            failure.text = _body(f)
    root.set("tests", str(total_tests))
    root.set("failures", str(len(report.findings)))
    root.set("errors", str(sum(1 for f in files if errors.get(f))))
    return root


def _input_error(case: ET.Element, file: str, errors: list[dict[str, object]]) -> None:
    """Mark ``case`` as an error: the file could not be checked."""
    first = errors[0]
    error = ET.SubElement(case, "error")
    error.set("message", _x(first.get("message", "")))
    error.set("type", "input-error")
    error.text = _x(
        "\n".join(
            f"{file}:{e.get('line') or 1}:{e.get('column') or 1}: {e.get('message', '')}"
            for e in errors
        )
    )


def render(report: Report, *, color: bool = False) -> str:
    """The JUnit XML document, UTF-8 declared."""
    root = build(report)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    # printed to CI logs too: no ``::`` line, no ``##[`` (same data once parsed)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + defuse_xml(body) + "\n"
