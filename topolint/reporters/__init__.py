"""Output reporters for ``topolint check``.

A reporter turns a :class:`Report` into text.  Reporters are picked by name from
:data:`REPORTERS`, which maps a format name to ``"module:function"``; only the module of
the asked-for format is imported, so ``import topolint.reporters`` stays cheap (no
``json``, ``xml`` or ``jsonschema`` until a reporter needs them)::

    from topolint.reporters import Report, render
    print(render("sarif", report), end="")

Every reporter function has the signature ``(report: Report, *, color: bool) -> str`` and
returns the whole output, ending with a newline unless it is empty.  Output is
deterministic: the same report renders to the same text.
"""

from __future__ import annotations

import functools
import importlib
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from topolint.lint.findings import Finding
    from topolint.lint.rule import RuleInfo

__all__ = [
    "REPORTERS",
    "TEXT_STYLES",
    "Report",
    "names",
    "render",
    "validate",
]

#: Format name -> ``"module:function"`` (imported lazily by :func:`render`).  This is the
#: one list of output formats: the command line's choices, ``--output-file FORMAT:FILE``
#: and the configuration's ``format`` key all come from it (:func:`names`,
#: :func:`validate`).  ``text`` is ``full`` (ruff's name for the same style).
REPORTERS: dict[str, str] = {
    "text": "topolint.reporters.text:render",
    "full": "topolint.reporters.text:render",
    "concise": "topolint.reporters.text:render_concise",
    "json": "topolint.reporters.json_:render",
    "sarif": "topolint.reporters.sarif:render",
    "github": "topolint.reporters.github:render",
    "junit": "topolint.reporters.junit:render",
    "gitlab": "topolint.reporters.json_:render_gitlab",
}

#: The formats for people: they list findings down to :attr:`Report.show` and end with a
#: summary; every other format is for machines and keeps every finding.
TEXT_STYLES = ("text", "full", "concise")

#: Severities from the most to the least severe (the order of ``--show`` and ``--fail-on``).
SEVERITIES = ("error", "warning", "info")

Reporter = Callable[..., str]


@dataclass
class Report:
    """Everything a reporter may need.

    ``findings`` are already filtered and sorted by the engine.  ``rules`` is the
    catalogue of rules that ran (SARIF lists them all).  ``files`` are the files checked,
    as display paths (relative to ``root`` where possible); ``sources`` maps a display
    path to the file's text, for excerpts, and may lack entries.  ``extra`` carries
    engine facts that some formats show, e.g. ``{"suppressed": 2}``.

    ``show`` is the least severity the text formats list (the others are counted in the
    summary); ``quiet`` leaves the summary out.  Machine formats ignore both.
    """

    findings: list[Finding]
    rules: list[RuleInfo]
    files: list[str]
    sources: dict[str, str]
    root: pathlib.Path
    tool_version: str
    extra: dict[str, Any] = field(default_factory=dict)
    show: str = "info"
    quiet: bool = False

    def shown(self) -> list[Finding]:
        """The findings at or above :attr:`show`, grouped by file (in the order files come
        first), the most severe first within a file, then by position."""
        least = SEVERITIES.index(self.show) if self.show in SEVERITIES else len(SEVERITIES)
        keep = [f for f in self.findings if SEVERITIES.index(f.severity.value) <= least]
        order: dict[str, int] = {}
        for f in self.findings:
            order.setdefault(f.file, len(order))
        return sorted(
            keep,
            key=lambda f: (order[f.file], -f.severity.rank, f.line, f.column, f.code, f.message),
        )

    def statistics(self) -> list[dict[str, Any]]:
        """Findings per rule, the most frequent first: ``{"code", "rule", "severity",
        "count"}`` (severity as reported; a rule reported at two severities counts twice)."""
        counts: dict[tuple[str, str, str], int] = {}
        for f in self.findings:
            key = (f.code, f.rule, f.severity.value)
            counts[key] = counts.get(key, 0) + 1
        rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [
            {"code": code, "rule": rule, "severity": sev, "count": n}
            for (code, rule, sev), n in rows
        ]

    def counts(self) -> dict[str, int]:
        """Number of findings per severity value: ``{"error": n, "warning": n, "info": n}``."""
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            out[f.severity.value] = out.get(f.severity.value, 0) + 1
        return out

    def all_files(self) -> list[str]:
        """``files`` followed by any other file a finding names (sorted), without repeats."""
        seen = dict.fromkeys(self.files)
        extra = sorted({f.file for f in self.findings if f.file not in seen})
        return list(seen) + extra


def names() -> list[str]:
    """The format names :func:`render` accepts."""
    return list(REPORTERS)


def validate(name: str) -> str:
    """``name`` as a known format name (case-insensitive), or a ``ValueError`` that lists
    the formats and suggests the closest one.  The one check of a format name."""
    key = name.strip().lower()
    if key in REPORTERS:
        return key
    import difflib

    close = difflib.get_close_matches(key, names(), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown output format {name!r}{hint} (expected one of: {', '.join(names())})"
    )


def get(name: str) -> Reporter:
    """The reporter function for ``name`` (imports its module on first use)."""
    target = REPORTERS[validate(name)]
    module_name, _, attr = target.partition(":")
    fn: Reporter = getattr(importlib.import_module(module_name), attr)
    return fn


def render(name: str, report: Report, *, color: bool = False) -> str:
    """Render ``report`` in format ``name``; ``color`` only affects ``text``."""
    return get(name)(report, color=color)


# --- helpers shared by the reporters (stdlib only, no heavy imports) -------------------


def relative_path(file: str, root: pathlib.Path) -> tuple[str, bool]:
    """``file`` as a forward-slash path relative to ``root`` where possible.

    Returns ``(path, relative)``: ``relative`` is False when ``file`` is absolute and lies
    outside ``root`` (the path is then absolute, with forward slashes).  A relative
    ``file`` is taken to be relative to ``root`` already.
    """
    text = file.replace("\\", "/")
    p = pathlib.PurePosixPath(text)
    if not p.is_absolute() and not pathlib.PureWindowsPath(file).is_absolute():
        parts = [part for part in p.parts if part != "."]
        return "/".join(parts) or ".", True
    try:
        rel = pathlib.Path(file).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return text, False
    return rel.as_posix(), True


@functools.lru_cache(maxsize=8)  # one split per source file, not one per finding
def split_lines(text: str) -> list[str]:
    """Split like a YAML/JSON parser counts lines (``\\r\\n``, ``\\r`` or ``\\n``).

    The result is cached and shared: do not modify it.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
