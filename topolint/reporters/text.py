"""Human-readable output, in the style of ruff's full format.

::

    topo.yaml:12:5: TL101 [error] socket-type-mismatch PUSH cannot connect to SUB
       |
    12 |     type: PUSH
       |     ^^^^
       |
       = fix: use PULL on the receiving side

    Found 1 problem (1 error).
    Checked 1 file.

``render_concise`` writes one line per finding (``file:line:col: CODE [severity]
message``).  Both list the findings at or above :attr:`Report.show` (by default errors and
warnings), grouped by file and the most severe first within a file; the summary at the end
counts every finding per severity, says how to see the ones not listed and how many files
were checked.  ``render_statistics`` is ``--statistics``: one line per rule with its count.

ANSI colour only when asked for (``color=True``).  Everything taken from the input
(file names, messages, source lines) goes through :mod:`topolint.textsafe`: control
characters are shown as escapes, long names and messages are shortened, and an excerpt
shows at most ``EXCERPT_WIDTH`` characters of its line.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from topolint.reporters import Report, split_lines
from topolint.textsafe import ELLIPSIS, clean, escape, safe_start, window

if TYPE_CHECKING:
    from topolint.lint.findings import Finding

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


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _pad(prefix: str) -> str:
    """Blank space as wide as ``prefix`` on screen (tabs kept as tabs)."""
    if prefix.isascii():
        return "".join("\t" if ch == "\t" else " " for ch in prefix)
    return "".join("\t" if ch == "\t" else " " * _width(ch) for ch in prefix)


def _caret_width(line: str, start: int, f: Finding) -> int:
    """Screen width of the finding's span in ``line`` (a window of the source line in
    which the finding's column is at index ``start``)."""
    if f.end_line is not None and f.end_line == f.line and f.end_column is not None:
        span = line[start : max(start + f.end_column - max(f.column, 1), start)]
    elif f.end_line is not None and f.end_line > f.line:
        span = line[start:].rstrip()
    else:
        span = ""
    return max(sum(_width(ch) for ch in escape(span, keep="\t")), 1)


def _excerpt(f: Finding, text: str | None, style: _Style) -> list[str]:
    """Gutter, the offending line and a caret under the column; [] without a source.

    A long line is cut to a window of at most ``textsafe.EXCERPT_WIDTH`` characters around
    the column, marked with an ellipsis on the side where text was left out.
    """
    if text is None or f.line < 1:
        return []
    lines = split_lines(text)
    if f.line > len(lines):
        return []
    whole = lines[f.line - 1]
    column = min(max(f.column, 1) - 1, len(whole))
    piece, start, cut_left, cut_right = window(whole, column)
    before = (ELLIPSIS if cut_left else "") + escape(piece[:start], keep="\t")
    after = escape(piece[start:], keep="\t")
    if "##[" in before[-2:] + after[:2]:  # a workflow command across the caret: defuse it
        after = f"\\x{ord(after[0]):02x}" + after[1:]  # '#' or '[' as \x23 / \x5b
    line = before + after + (ELLIPSIS if cut_right else "")
    number = str(f.line)
    gutter = " " * len(number)
    bar = style("|", BLUE, BOLD)
    carets = "^" * _caret_width(piece, start, f)
    sev = SEVERITY_COLOR.get(f.severity.value, "")
    return [
        f"{gutter} {bar}",
        f"{style(number, BLUE, BOLD)} {bar} {line}".rstrip(),
        f"{gutter} {bar} {_pad(before)}{style(carets, sev, BOLD)}",
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
    out = [_head(f, style, rule=True)]
    excerpt = _excerpt(f, report.sources.get(f.file), style)
    out += excerpt
    indent = " " * (len(str(f.line)) + 1) if excerpt else "  "
    for rel in f.related:
        if isinstance(rel, dict):
            text = _related_line(rel, f)
            if text:
                out.append(f"{indent}= {style('see:', BOLD)} {clean(text)}")
    if f.fix:
        out.append(f"{indent}= {style('fix:', GREEN, BOLD)} {clean(f.fix)}")
    return out


def _summary(report: Report, style: _Style) -> list[str]:
    counts = report.counts()
    total = len(report.findings)
    errors = report.extra.get("errors")
    broken = len(errors) if isinstance(errors, list) else 0
    listed = {f.severity.value for f in report.shown()}
    hidden = [sev for sev, n in counts.items() if n and sev not in listed]
    if total == 0 and broken:  # an input error is not a pass
        out = [style(f"{_plural(broken, 'input error')}: not every file was checked.", RED, BOLD)]
    elif total == 0:
        out = [style("All checks passed.", GREEN, BOLD)]
    else:
        parts = [_plural(n, sev) for sev, n in counts.items() if n and sev not in hidden]
        if hidden:
            what = ", ".join(_plural(counts[sev], sev) for sev in hidden)
            parts.append(f"{what} not shown: --show {hidden[-1]} lists them")
        out = [style(f"Found {_plural(total, 'problem')} ({', '.join(parts)}).", BOLD)]
        if broken:
            out.append(
                style(f"{_plural(broken, 'input error')}: not every file was checked.", RED, BOLD)
            )
    suppressed = report.extra.get("suppressed")
    if isinstance(suppressed, int) and suppressed > 0:
        out.append(f"{_plural(suppressed, 'finding')} suppressed.")
    unused = report.extra.get("unused_suppressions")
    if isinstance(unused, list | tuple) and unused:
        out.append(f"{_plural(len(unused), 'unused suppression')}:")
        for item in unused:
            out.append(f"  {clean(_describe(item))}")
    if report.files:
        checked = f"Checked {_plural(len(report.files), 'file')}"
        skipped = report.extra.get("skipped")
        if isinstance(skipped, list) and skipped:
            checked += f" ({len(skipped)} skipped: not topologies)"
        out.append(checked + ".")
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
    """The full text report: one block per finding listed, then the summary."""
    style = _Style(color)
    out: list[str] = []
    for f in report.shown():
        out += _finding(f, report, style)
        out.append("")
    if report.quiet:
        return "\n".join(out[:-1]) + "\n" if out else ""
    out += _summary(report, style)
    return "\n".join(out) + "\n"


def _head(f: Finding, style: _Style, *, rule: bool) -> str:
    sev = SEVERITY_COLOR.get(f.severity.value, "")
    name = f"{style(f.rule, DIM)} " if rule else ""
    return (
        f"{style(f'{safe_start(escape(f.file))}:{f.line}:{f.column}:', BOLD)} "
        f"{style(f.code, sev, BOLD)} {style(f'[{f.severity.value}]', sev)} "
        f"{name}{clean(f.message)}"
    )


def render_concise(report: Report, *, color: bool = False) -> str:
    """One line per finding listed (``file:line:col: CODE [severity] message``), then the
    summary after a blank line."""
    style = _Style(color)
    out = [_head(f, style, rule=False) for f in report.shown()]
    if not report.quiet:
        out += ([""] if out else []) + _summary(report, style)
    return "\n".join(out) + "\n" if out else ""


def render_statistics(report: Report, *, color: bool = False) -> str:
    """``--statistics``: per rule, how many findings (every severity), the most first,
    then the summary (unless quiet)."""
    style = _Style(color)
    rows = report.statistics()
    width = max((len(str(r["count"])) for r in rows), default=1)
    out = [
        f"{r['count']:>{width}}  {style(r['code'], SEVERITY_COLOR.get(r['severity'], ''), BOLD)}"
        f"  {r['rule']:<28} [{r['severity']}]".rstrip()
        for r in rows
    ]
    if not report.quiet:
        out += ([""] if out else []) + _summary(report, style)
    return "\n".join(out) + "\n" if out else ""
