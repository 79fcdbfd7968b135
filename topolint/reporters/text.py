"""Human-readable output, in the style of ruff's full format.

::

    topo.yaml:12:5: TL101 [error] socket-type-mismatch PUSH cannot connect to SUB
       |
    12 |     type: PUSH
       |     ^^^^
       |
       = fix: use PULL on the receiving side

    Found 1 problem (1 error).

ANSI colour only when asked for (``color=True``).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from topolint.reporters import Report, split_lines

if TYPE_CHECKING:
    from topolint.findings import Finding

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[31m"
YELLOW = "\x1b[33m"
BLUE = "\x1b[34m"
CYAN = "\x1b[36m"
GREEN = "\x1b[32m"

SEVERITY_COLOR = {"error": RED, "warning": YELLOW, "info": CYAN}


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *codes: str) -> str:
        if not self.color or not codes or not text:
            return text
        return "".join(codes) + text + RESET


def _clean(text: str, keep: str = "\t\n") -> str:
    """Replace control characters (e.g. ESC from a hostile file) with U+FFFD."""
    if text.isascii() and text.isprintable():  # the usual case, without a per-character walk
        return text
    return "".join(
        "\ufffd" if unicodedata.category(ch) == "Cc" and ch not in keep else ch for ch in text
    )


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _pad(prefix: str) -> str:
    """Blank space as wide as ``prefix`` on screen (tabs kept as tabs)."""
    if prefix.isascii():
        return "".join("\t" if ch == "\t" else " " for ch in prefix)
    return "".join("\t" if ch == "\t" else " " * _width(ch) for ch in prefix)


def _caret_width(line: str, f: Finding) -> int:
    start = max(f.column, 1) - 1
    if f.end_line is not None and f.end_line == f.line and f.end_column is not None:
        span = line[start : max(f.end_column - 1, start)]
    elif f.end_line is not None and f.end_line > f.line:
        span = line[start:].rstrip()
    else:
        span = ""
    return max(sum(_width(ch) for ch in span), 1)


def _excerpt(f: Finding, text: str | None, style: _Style) -> list[str]:
    """Gutter, the offending line and a caret under the column; [] without a source."""
    if text is None or f.line < 1:
        return []
    lines = split_lines(text)
    if f.line > len(lines):
        return []
    line = _clean(lines[f.line - 1], keep="\t")
    number = str(f.line)
    gutter = " " * len(number)
    bar = style("|", BLUE, BOLD)
    start = min(max(f.column, 1) - 1, len(line))
    carets = "^" * _caret_width(line, f)
    sev = SEVERITY_COLOR.get(f.severity.value, "")
    return [
        f"{gutter} {bar}",
        f"{style(number, BLUE, BOLD)} {bar} {line}".rstrip(),
        f"{gutter} {bar} {_pad(line[:start])}{style(carets, sev, BOLD)}",
        f"{gutter} {bar}",
    ]


def _related_line(rel: dict[str, Any], f: Finding) -> str | None:
    file = rel.get("file") or f.file
    line = rel.get("line")
    where = str(file)
    if isinstance(line, int) and line > 0:
        where += f":{line}"
        column = rel.get("column")
        if isinstance(column, int) and column > 0:
            where += f":{column}"
    what = rel.get("message") or rel.get("element") or ""
    if not line and not what:
        return None
    return f"{where}: {what}" if what else where


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _finding(f: Finding, report: Report, style: _Style) -> list[str]:
    sev = SEVERITY_COLOR.get(f.severity.value, "")
    head = (
        f"{style(_clean(f'{f.file}:{f.line}:{f.column}:'), BOLD)} "
        f"{style(f.code, sev, BOLD)} {style(f'[{f.severity.value}]', sev)} "
        f"{style(f.rule, DIM)} {_clean(f.message).replace(chr(10), chr(10) + '  ')}"
    )
    out = [head]
    excerpt = _excerpt(f, report.sources.get(f.file), style)
    out += excerpt
    indent = " " * (len(str(f.line)) + 1) if excerpt else "  "
    for rel in f.related:
        if isinstance(rel, dict):
            text = _related_line(rel, f)
            if text:
                out.append(f"{indent}= {style('see:', BOLD)} {_clean(text, keep='')}")
    if f.fix:
        fix_lines = _clean(f.fix).splitlines() or [""]
        out.append(f"{indent}= {style('fix:', GREEN, BOLD)} {fix_lines[0]}")
        out += [f"{indent}       {rest}" for rest in fix_lines[1:]]
    return out


def _summary(report: Report, style: _Style) -> list[str]:
    counts = report.counts()
    total = len(report.findings)
    errors = report.extra.get("errors")
    broken = len(errors) if isinstance(errors, list) else 0
    if total == 0 and broken:  # an input error is not a pass
        out = [style(f"{_plural(broken, 'file')} could not be checked.", RED, BOLD)]
    elif total == 0:
        out = [style("All checks passed.", GREEN, BOLD)]
    else:
        shown = [_plural(n, sev) for sev, n in counts.items() if n]
        out = [style(f"Found {_plural(total, 'problem')} ({', '.join(shown)}).", BOLD)]
        if broken:
            out.append(style(f"{_plural(broken, 'file')} could not be checked.", RED, BOLD))
    suppressed = report.extra.get("suppressed")
    if isinstance(suppressed, int) and suppressed > 0:
        out.append(f"{_plural(suppressed, 'finding')} suppressed.")
    unused = report.extra.get("unused_suppressions")
    if isinstance(unused, list | tuple) and unused:
        out.append(f"{_plural(len(unused), 'unused suppression')}:")
        for item in unused:
            out.append(f"  {_clean(_describe(item), keep='')}")
    return out


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        where = str(item.get("file", ""))
        if item.get("line"):
            where += f":{item['line']}"
        codes = item.get("codes") or item.get("code") or item.get("rules") or item.get("rule")
        if isinstance(codes, list | tuple):
            codes = ", ".join(str(c) for c in codes)
        return f"{where}: {codes}" if codes else where
    return str(item)


def render(report: Report, *, color: bool = False) -> str:
    """The text report: one block per finding, then a summary line."""
    style = _Style(color)
    out: list[str] = []
    for f in report.findings:
        out += _finding(f, report, style)
        out.append("")
    out += _summary(report, style)
    return "\n".join(out) + "\n"
