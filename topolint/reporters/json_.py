"""Machine-readable JSON: topolint's own format and GitLab code quality.

``json`` (SPEC §4)::

    {"version": 1, "tool": {"name": "topolint", "version": "..."},
     "findings": [{"rule", "code", "severity", "message", "file", "line", "column", ...}],
     "input_errors": [{"file", "line", "column", "message"}],   # files not checked
     "summary": {"files": n, "errors": n, "warnings": n, "infos": n, "input_errors": n,
                 ...extra}}

``gitlab``: a GitLab code-quality report (a JSON array of Code Climate issues).
"""

from __future__ import annotations

import json
from typing import Any

from topolint.lint.findings import unique_fingerprints
from topolint.reporters import Report, relative_path
from topolint.textsafe import defuse_json

FORMAT_VERSION = 1

#: topolint severity -> GitLab code-quality severity (info, minor, major, critical, blocker).
GITLAB_SEVERITY = {"info": "info", "warning": "minor", "error": "major"}


def _dump(data: Any) -> str:
    # printed to CI logs too: no raw C1/bidi controls, no ``##[`` (same data once decoded)
    return defuse_json(json.dumps(data, indent=2, ensure_ascii=False, default=str)) + "\n"


def render(report: Report, *, color: bool = False) -> str:
    """The ``--format json`` document."""
    counts = report.counts()
    summary: dict[str, Any] = {
        "files": len(report.files),
        "findings": len(report.findings),
        "errors": counts["error"],
        "warnings": counts["warning"],
        "infos": counts["info"],
    }
    # input errors (files that could not be checked) are not finding counts: their own key
    input_errors = list(report.extra.get("errors") or [])
    for key, value in report.extra.items():
        if key != "errors":
            summary.setdefault(key, value)
    summary["input_errors"] = len(input_errors)
    doc = {
        "version": FORMAT_VERSION,
        "tool": {"name": "topolint", "version": report.tool_version},
        "findings": [f.to_dict() for f in report.findings],
        "input_errors": input_errors,
        "summary": summary,
    }
    return _dump(doc)


def render_gitlab(report: Report, *, color: bool = False) -> str:
    """A GitLab code-quality report (``artifacts:reports:codequality``)."""
    issues = []
    for f, fingerprint in zip(report.findings, unique_fingerprints(report.findings), strict=True):
        path, _ = relative_path(f.file, report.root)
        issues.append(
            {
                "type": "issue",
                "description": f"{f.code} ({f.rule}) {f.message}",
                "check_name": f.code,
                "fingerprint": fingerprint,
                "severity": GITLAB_SEVERITY.get(f.severity.value, "minor"),
                "location": {"path": path, "lines": {"begin": max(f.line, 1)}},
            }
        )
    return _dump(issues)
