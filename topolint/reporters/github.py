"""GitHub Actions workflow commands: one annotation per finding.

::

    ::error file=topo.yaml,line=12,col=5,title=TL101 socket-type-mismatch::PUSH cannot ...

``error`` -> ``::error``, ``warning`` -> ``::warning``, ``info`` -> ``::notice``.  Escaping
follows ``@actions/core``: in the message ``%``, ``\\r`` and ``\\n`` become ``%25``, ``%0D``
and ``%0A``; in property values ``:`` and ``,`` also become ``%3A`` and ``%2C``.  Only the start
position is given (GitHub rejects ``col`` with a multi-line ``endLine``); a fix hint
follows the message on a second line.  Text from the input is first made safe with
:func:`topolint.textsafe.clean` (control characters shown as escapes, length bounded), so a
newline in a name can never start a line of its own, let alone a workflow command.
"""

from __future__ import annotations

from topolint.reporters import Report, relative_path
from topolint.textsafe import clean, escape

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """Escape a workflow-command message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, *, color: bool = False) -> str:
    """One ``::error``/``::warning``/``::notice`` line per finding; empty without findings."""
    lines = []
    for f in report.findings:
        path, _ = relative_path(f.file, report.root)
        props: list[tuple[str, str]] = [("file", escape(path))]
        if f.line >= 1:
            props.append(("line", str(f.line)))
            if f.column >= 1:
                props.append(("col", str(f.column)))
        props.append(("title", clean(f"{f.code} {f.rule}")))
        message = clean(f.message) + (f"\nfix: {clean(f.fix)}" if f.fix else "")
        prop_text = ",".join(f"{k}={escape_property(v)}" for k, v in props)
        command = COMMANDS.get(f.severity.value, "warning")
        lines.append(f"::{command} {prop_text}::{escape_data(message)}")
    return "".join(line + "\n" for line in lines)
