"""SARIF 2.1.0, as GitHub code scanning accepts it.

One run; ``tool.driver.rules`` lists every rule that ran (and any code a finding carries
that the catalogue lacks); ``results`` is present even when empty.  Locations are
repo-relative URIs against ``%SRCROOT%`` (declared in ``originalUriBaseIds``).  Each result
carries ``partialFingerprints["topolint/v1"]`` from :attr:`Finding.fingerprint`, which does
not depend on the line, so an alert survives lines moving above it.

Rule ``name`` is the PascalCase form of the kebab-case rule name (``socket-type-mismatch``
-> ``SocketTypeMismatch``), as the SARIF validator's guideline SARIF2012 asks; the kebab
name is kept in ``properties.topolintName`` (and heads ``help``, the rule's documentation).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from topolint.lint.findings import unique_fingerprints
from topolint.lint.rule import HELP_URI
from topolint.reporters import Report, relative_path
from topolint.textsafe import defuse_json

if TYPE_CHECKING:
    from topolint.lint.findings import Finding
    from topolint.lint.rule import RuleInfo

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "topolint/v1"

#: topolint severity -> SARIF level.
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _information_uri() -> str:
    parts = urlsplit(HELP_URI)
    return f"{parts.scheme}://{parts.netloc}/"


def pascal_case(name: str) -> str:
    """``socket-type-mismatch`` -> ``SocketTypeMismatch``."""
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^0-9A-Za-z]+", name) if w)


def _uri(file: str, report: Report) -> dict[str, Any]:
    """An artifactLocation for ``file``: relative to %SRCROOT% where possible."""
    path, relative = relative_path(file, report.root)
    if relative:
        return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}
    if re.match(r"^[A-Za-z]:/", path):  # a Windows drive path
        return {"uri": "file:///" + quote(path, safe="/:")}
    return {"uri": "file://" + quote(path, safe="/")}


def _root_uri(report: Report) -> str:
    uri = report.root.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _region(line: Any, column: Any, end_line: Any = None, end_column: Any = None) -> dict[str, int]:
    region: dict[str, int] = {}
    if isinstance(line, int) and line >= 1:
        region["startLine"] = line
        if isinstance(column, int) and column >= 1:
            region["startColumn"] = column
        if isinstance(end_line, int) and end_line >= line:
            region["endLine"] = end_line
            later = end_line > line or (
                isinstance(end_column, int) and end_column > region.get("startColumn", 1)
            )
            if isinstance(end_column, int) and end_column >= 1 and later:
                region["endColumn"] = end_column
    return region


def _rule_descriptor(rule: RuleInfo) -> dict[str, Any]:
    finds = rule.sections.get("What it finds", "").strip() or rule.summary
    tags = ["topolint"] + ([rule.family] if rule.family else [])
    return {
        "id": rule.code,
        "name": pascal_case(rule.name),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": finds, "markdown": finds},
        "help": {"text": rule.docs, "markdown": rule.docs},
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": LEVELS[rule.severity.value]},
        "properties": {"tags": tags, "topolintName": rule.name},
    }


def _stub_descriptor(f: Finding) -> dict[str, Any]:
    """A descriptor for a code not in the catalogue (e.g. an engine-made finding)."""
    text = f"{f.rule} ({f.code})"
    return {
        "id": f.code,
        "name": pascal_case(f.rule) or f.code,
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "help": {"text": text},
        "defaultConfiguration": {"level": LEVELS[f.severity.value]},
        "properties": {"tags": ["topolint"], "topolintName": f.rule},
    }


def _location(
    file: str,
    region: dict[str, int],
    report: Report,
    artifacts: dict[str, int],
    element: str = "",
) -> dict[str, Any]:
    artifact = _uri(file, report)
    if file in artifacts:
        artifact["index"] = artifacts[file]
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if region:
        physical["region"] = region
    loc: dict[str, Any] = {"physicalLocation": physical}
    if element:
        loc["logicalLocations"] = [{"fullyQualifiedName": element, "kind": "element"}]
    return loc


def _related(f: Finding, report: Report, artifacts: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for i, rel in enumerate(f.related):
        if not isinstance(rel, dict):
            continue
        file = str(rel.get("file") or f.file)
        region = _region(
            rel.get("line"), rel.get("column"), rel.get("end_line"), rel.get("end_column")
        )
        element = rel.get("element")
        if not element and isinstance(rel.get("path"), list | tuple):
            element = ".".join(str(p) for p in rel["path"])
        loc = _location(file, region, report, artifacts, str(element or ""))
        loc["id"] = i
        text = rel.get("message") or element
        if text:
            loc["message"] = {"text": str(text)}
        out.append(loc)
    return out


def _invocation(report: Report, artifacts: dict[str, int]) -> dict[str, Any]:
    """``executionSuccessful``, false with input errors (``extra["errors"]``), listed as
    tool execution notifications."""
    errors = report.extra.get("errors")
    notes = []
    for e in errors if isinstance(errors, list) else []:
        if not isinstance(e, dict):
            e = {"message": str(e)}
        note: dict[str, Any] = {"level": "error", "message": {"text": str(e.get("message", ""))}}
        if e.get("file"):
            region = _region(e.get("line"), e.get("column"))
            note["locations"] = [_location(str(e["file"]), region, report, artifacts)]
        notes.append(note)
    invocation: dict[str, Any] = {"executionSuccessful": not notes}
    if notes:
        invocation["toolExecutionNotifications"] = notes
    return invocation


def build(report: Report) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    descriptors: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rule in sorted(report.rules, key=lambda r: r.code):
        if rule.code not in index:
            index[rule.code] = len(descriptors)
            descriptors.append(_rule_descriptor(rule))
    for f in report.findings:
        if f.code not in index:
            index[f.code] = len(descriptors)
            descriptors.append(_stub_descriptor(f))

    files = report.all_files()
    artifacts = {file: i for i, file in enumerate(files)}

    results = []
    for f, fingerprint in zip(report.findings, unique_fingerprints(report.findings), strict=True):
        region = _region(f.line, f.column, f.end_line, f.end_column)
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": LEVELS[f.severity.value],
            "message": {"text": f.message},
            "locations": [_location(f.file, region, report, artifacts, f.element)],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        }
        related = _related(f, report, artifacts)
        if related:
            result["relatedLocations"] = related
        props: dict[str, Any] = {"rule": f.rule}
        if f.fix:
            props["fix"] = f.fix
        if f.subject:
            props["subject"] = list(f.subject)
        result["properties"] = props
        results.append(result)

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "topolint",
                "version": report.tool_version,
                "informationUri": _information_uri(),
                "rules": descriptors,
            }
        },
        "invocations": [_invocation(report, artifacts)],
        "originalUriBaseIds": {SRCROOT: {"uri": _root_uri(report)}},
        "artifacts": [{"location": _uri(file, report)} for file in files],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if report.extra:
        run["properties"] = json.loads(json.dumps(report.extra, default=str))
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def render(report: Report, *, color: bool = False) -> str:
    """The SARIF log as JSON text."""
    # printed to CI logs too: no raw C1/bidi controls, no ``##[`` (same data once decoded)
    return defuse_json(json.dumps(build(report), indent=2, ensure_ascii=False)) + "\n"
