"""Text from a topology file made safe to print on a terminal or in a CI log.

Names, messages and source lines come from files anyone can write.  Printed raw, an ESC
or BEL starts a terminal escape sequence (window title, clipboard via OSC 52, screen
clearing) and a newline starts a new log line, where ``::error ...`` is a GitHub Actions
workflow command.  :func:`clean` neutralises both and bounds the length:

- control characters (C0, DEL, C1), bidirectional overrides and isolates, the Unicode
  line and paragraph separators and lone surrogates are shown as escapes (``\\x1b``,
  ``\\n``, ``\\u202e``), never written;
- GitHub Actions workflow commands are defused: the runner executes ``::command::`` at
  the start of a line (after leading spaces) and the legacy ``##[command]`` *anywhere* in
  a line (``##[stop-commands]`` would silence every later annotation), so the second
  ``#`` of ``##[`` is always shown as ``\\x23`` and a leading ``:`` as ``\\x3a``;
- a run of more than :data:`MAX_WORD` characters without a space (a giant name or
  endpoint) keeps its first and last characters around ``...``;
- a text longer than :data:`MAX_TEXT` keeps its start and end around `` ... ``.

The result contains no character that :func:`clean` would change again (it is idempotent)
and is at most about :data:`MAX_TEXT` characters long.  :func:`window` cuts a bounded
piece out of a long source line for a code excerpt.  :func:`defuse_json` and
:func:`defuse_xml` do the same for machine-readable output printed to a log, without
changing what it decodes to.  Stdlib only, cheap to import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "ELLIPSIS",
    "EXCERPT_WIDTH",
    "MAX_TEXT",
    "MAX_WORD",
    "clean",
    "clean_lines",
    "defuse_json",
    "defuse_xml",
    "escape",
    "safe_start",
    "window",
]

#: Longest run of non-space characters shown whole (a name, an endpoint, a path).
MAX_WORD = 200
#: Longest text (a message, a fix, an error line) shown whole.
MAX_TEXT = 4000
#: Widest piece of one source line shown in a code excerpt.
EXCERPT_WIDTH = 200
#: Marks text left out.
ELLIPSIS = "..."

_WORD_HEAD = 120
_WORD_TAIL = 60

#: Characters never written raw: C0 controls, DEL, C1 controls, the Arabic letter mark,
#: LRM/RLM, line and paragraph separators, bidi embeddings/overrides/isolates, surrogates;
#: and the second ``#`` of ``##[`` (a legacy GitHub Actions command anywhere in a line).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
    r"|(?<=#)#(?=\[)"
)
#: A workflow command at the start of a line (the runner strips leading whitespace).
_LEADING_COMMAND = re.compile(r"\A(\s*):(?=:)")
_LEGACY = "##["
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD + 1},}}")


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str, keep: str = "") -> str:
    """``text`` with every unsafe character shown as an escape, except those in ``keep``
    (e.g. ``"\\t"`` for a source line whose tabs align a caret)."""
    if text.isascii() and text.isprintable() and _LEGACY not in text:  # the usual case
        return text
    if not keep:
        return _UNSAFE.sub(_escape_char, text)
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape_char(m), text)


def _shorten_word(match: re.Match[str]) -> str:
    word = match.group()
    return word[:_WORD_HEAD] + ELLIPSIS + word[-_WORD_TAIL:]


def clean(value: object, *, limit: int | None = MAX_TEXT, keep: str = "") -> str:
    """``str(value)`` safe to print: unsafe characters escaped, long words and (with a
    ``limit``) long texts shortened around an ellipsis."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= MAX_WORD and text.isascii() and text.isprintable() and _safe_ends(text):
        return text
    cap = limit if limit is not None else len(text)
    if len(text) > 2 * cap + 2 * MAX_WORD:  # do not escape megabytes that are cut anyway
        text = text[: cap + MAX_WORD] + " " + text[-(cap + MAX_WORD) :]
    text = escape(text, keep)
    if len(text) > MAX_WORD:
        text = _LONG_WORD.sub(_shorten_word, text)
    if limit is not None and len(text) > limit:
        tail = limit // 4
        text = text[: limit - tail - 5] + f" {ELLIPSIS} " + text[-tail:]
    return safe_start(text)


def _safe_ends(text: str) -> bool:
    return _LEGACY not in text and not text.lstrip().startswith("::")


def safe_start(text: str) -> str:
    """``text`` with a leading ``::`` (after spaces) shown as ``\\x3a:``: at the start of
    a line it would be a GitHub Actions workflow command."""
    return _LEADING_COMMAND.sub(r"\1\\x3a", text, count=1)


def clean_lines(lines: Iterable[str]) -> str:
    """Join ``lines`` into one text ending with a newline, each line :func:`clean`: a
    newline inside a line is shown as ``\\n``, never written."""
    return "".join(clean(line, limit=None) + "\n" for line in lines)


def window(line: str, start: int, width: int = EXCERPT_WIDTH) -> tuple[str, int, bool, bool]:
    """A piece of at most ``width`` characters of ``line`` around index ``start``.

    Returns ``(piece, offset, cut_left, cut_right)``: ``start`` is at ``offset`` in
    ``piece``; ``cut_left``/``cut_right`` tell whether text was left out on either side.
    """
    if len(line) <= width:
        return line, start, False, False
    begin = min(max(start - width // 3, 0), len(line) - width)
    return line[begin : begin + width], start - begin, begin > 0, begin + width < len(line)


#: What :func:`defuse_json` / :func:`defuse_xml` encode: what a terminal or the Actions
#: runner acts on and the serializer writes raw (C0 controls are escaped by it already).
_MACHINE_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]|(?<=#)#(?=\\[)"
)
_XML_LEADING_COMMAND = re.compile(r"(?m)^([ \t]*):(?=:)")


def defuse_json(text: str) -> str:
    """A JSON document safe to print, decoding to the same data: C1 controls, bidi
    controls, line separators, lone surrogates and the second ``#`` of ``##[`` (which only
    occur inside strings) written as ``\\uXXXX`` escapes."""
    return _MACHINE_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def defuse_xml(text: str) -> str:
    """An XML document safe to print, decoding to the same data: the characters of
    :func:`defuse_json` as character references, and a line of text that starts with
    ``::`` (a workflow command) with its first ``:`` as ``&#58;``."""
    text = _MACHINE_UNSAFE.sub(lambda m: f"&#{ord(m.group())};", text)
    return _XML_LEADING_COMMAND.sub(r"\1&#58;", text)
