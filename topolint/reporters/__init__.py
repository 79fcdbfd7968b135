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
    from topolint.findings import Finding
    from topolint.rule import RuleInfo

__all__ = [
    "REPORTERS",
    "Report",
    "names",
    "render",
]

#: Format name -> ``"module:function"`` (imported lazily by :func:`render`).
REPORTERS: dict[str, str] = {
    "text": "topolint.reporters.text:render",
    "json": "topolint.reporters.json_:render",
    "sarif": "topolint.reporters.sarif:render",
    "github": "topolint.reporters.github:render",
    "junit": "topolint.reporters.junit:render",
    "gitlab": "topolint.reporters.json_:render_gitlab",
}

Reporter = Callable[..., str]


@dataclass
class Report:
    """Everything a reporter may need.

    ``findings`` are already filtered and sorted by the engine.  ``rules`` is the
    catalogue of rules that ran (SARIF lists them all).  ``files`` are the files checked,
    as display paths (relative to ``root`` where possible); ``sources`` maps a display
    path to the file's text, for excerpts, and may lack entries.  ``extra`` carries
    engine facts that some formats show, e.g. ``{"suppressed": 2}``.
    """

    findings: list[Finding]
    rules: list[RuleInfo]
    files: list[str]
    sources: dict[str, str]
    root: pathlib.Path
    tool_version: str
    extra: dict[str, Any] = field(default_factory=dict)

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


def get(name: str) -> Reporter:
    """The reporter function for ``name`` (imports its module on first use)."""
    try:
        target = REPORTERS[name]
    except KeyError:
        raise ValueError(
            f"unknown output format {name!r}; expected one of: {', '.join(names())}"
        ) from None
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
